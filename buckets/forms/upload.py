"""What the browser sends when it starts one file (JSON, checked like every other form)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms

from buckets import vocabulary

ENCRYPTIONS = [("", "None (bucket default)"), ("AES256", "SSE-S3 (AES256)"), ("aws:kms", "SSE-KMS (aws:kms)")]
METHODS = [("direct", "Browser to S3"), ("fallback", "Through the console")]


def _pairs(value: Any, label: str) -> list[tuple[str, str]]:
    """Rows from {name: value} or [[name, value], ...]; both come from the panel's JSON."""
    if value in (None, "", [], {}):
        return []
    items = value.items() if isinstance(value, dict) else value
    rows = []
    try:
        for name, item in items:
            if not isinstance(name, str) or not isinstance(item, str):
                raise TypeError
            rows.append((name, item))
    except (TypeError, ValueError):
        raise forms.ValidationError(f"{label} must be rows of a name and a value.")
    return rows


class RowsField(forms.Field):
    """Name/value rows as the panel sends them (already parsed JSON): kept as they are, checked by the form."""

    def to_python(self, value):
        return value


class UploadStartForm(forms.Form):
    key = forms.CharField(strip=False, required=False)
    size = forms.IntegerField(min_value=0, max_value=vocabulary.MAX_OBJECT_SIZE)
    content_type = forms.CharField(required=False, max_length=255)
    storage_class = forms.ChoiceField(required=False)
    sse = forms.ChoiceField(choices=ENCRYPTIONS, required=False)
    kms_key_id = forms.CharField(required=False, max_length=2048)
    metadata = RowsField(required=False)
    tags = RowsField(required=False)
    method = forms.ChoiceField(choices=METHODS)

    def __init__(self, *args, accepted_classes=None, rewrites: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rewrites = rewrites
        self.fields["storage_class"].choices = [("", "Bucket default"), *vocabulary.storage_classes(accepted_classes)]

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        errors = vocabulary.key_errors(key, rewrites=self.rewrites)
        if errors:
            raise forms.ValidationError(errors)
        return key

    def clean_content_type(self) -> str:
        value = self.cleaned_data["content_type"]
        if value and not vocabulary.CONTENT_TYPE.match(value):
            raise forms.ValidationError("The content type must look like “type/subtype”, e.g. text/plain.")
        return value

    def clean_kms_key_id(self) -> str:
        value = self.cleaned_data["kms_key_id"]
        if value and not vocabulary.PRINTABLE_ASCII.match(value):
            raise forms.ValidationError("The KMS key id must be plain ASCII.")
        return value

    def clean_metadata(self) -> dict[str, str]:
        rows = [(name, value) for name, value in _pairs(self.cleaned_data["metadata"], "Metadata") if name.strip()]
        metadata, errors = vocabulary.metadata_errors(rows)
        if errors:
            raise forms.ValidationError(errors)
        return metadata

    def clean_tags(self) -> dict[str, str]:
        rows = [(name.strip(), value) for name, value in _pairs(self.cleaned_data["tags"], "Tags") if name.strip()]
        errors = vocabulary.tag_errors(rows, limit=vocabulary.MAX_OBJECT_TAGS)
        if errors:
            raise forms.ValidationError(errors)
        return dict(rows)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("sse") != "aws:kms" and data.get("kms_key_id"):
            self.add_error("kms_key_id", "A KMS key id goes with SSE-KMS (aws:kms) only.")
        return data

    def write_options(self) -> dict[str, Any]:
        """The upload's options (see ``s3.write_options``) from the cleaned data."""
        data = self.cleaned_data
        return {
            "content_type": data["content_type"] or "application/octet-stream",
            "storage_class": data["storage_class"],
            "sse": data["sse"],
            "kms_key_id": data["kms_key_id"],
            "metadata": data["metadata"],
            "tagging": urlencode(data["tags"]),
        }

    def first_error(self) -> str:
        for field, errors in self.errors.items():
            label = "" if field == "__all__" else f"{field.replace('_', ' ')}: "
            return label + str(errors[0])
        return ""
