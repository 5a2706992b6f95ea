"""Creating a folder in the object list: its name, below the folder being listed."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from buckets.forms.transfer import MAX_KEY_BYTES, _folder_errors
from console.models import Endpoint


class FolderCreateForm(forms.Form):
    name = forms.CharField(label="New folder", strip=False, max_length=MAX_KEY_BYTES)
    prefix = forms.CharField(required=False, strip=False, max_length=MAX_KEY_BYTES, widget=forms.HiddenInput)

    def __init__(self, *args, endpoint: Endpoint, bucket: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint, self.bucket = endpoint, bucket

    def clean_prefix(self) -> str:
        prefix = self.cleaned_data["prefix"]
        if prefix and not prefix.endswith("/"):
            raise ValidationError("A folder prefix ends with “/”.")
        return prefix

    def clean(self):
        data = super().clean()
        name = (data.get("name") or "").strip("/")
        if "name" in data and not name.strip():
            self.add_error("name", "Give the folder a name.")
        elif "name" in data and "prefix" in data:
            data["folder"] = data["prefix"] + name + "/"
            for error in _folder_errors(self.endpoint, self.bucket, data["folder"]):
                self.add_error("name", error)
        return data
