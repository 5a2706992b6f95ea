"""The typed confirmation of emptying or deleting a bucket."""

from __future__ import annotations

from django import forms


class ConfirmBucketForm(forms.Form):
    confirm = forms.CharField(label="Type the bucket name to confirm", max_length=63, strip=True)

    def __init__(self, *args, bucket: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.bucket = bucket
        self.fields["confirm"].label = f"Type “{bucket}” to confirm"
        self.fields["confirm"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "data-confirm-value": bucket}
        )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != self.bucket:
            raise forms.ValidationError("That is not the bucket's name. Nothing was deleted.")
        return self.cleaned_data["confirm"]
