"""Forms for copy, move, rename and delete: they validate and normalise keys and prefixes."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

MAX_KEY_BYTES = 1024
MAX_SELECTION = 1000


def validate_key(value: str, what: str = "A key") -> str:
    if not value:
        raise ValidationError(f"{what} cannot be empty.")
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValidationError(f"{what} is longer than {MAX_KEY_BYTES} bytes of UTF-8.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(f"{what} contains control characters.")
    return value


def normalise_prefix(value: str, *, allow_root: bool) -> str:
    """A folder prefix: no leading "/", ending with "/" (added when missing); "" is the bucket root."""
    value = value.lstrip("/")
    if not value:
        if allow_root:
            return ""
        raise ValidationError("Give a folder name.")
    if not value.endswith("/"):
        value += "/"
    return validate_key(value, "The folder")


class KeyField(forms.CharField):
    """An S3 key: kept exactly as typed (spaces are part of keys), at most 1,024 bytes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("max_length", MAX_KEY_BYTES)
        super().__init__(**kwargs)

    def clean(self, value):
        return validate_key(super().clean(value))


class KeyListField(forms.Field):
    """The selected keys (repeated ``key`` fields, as the object list posts them)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return list(dict.fromkeys(str(v) for v in value))  # unique, in the order given

    def validate(self, value: list[str]) -> None:
        if not value:
            raise ValidationError("Select at least one object.")
        if len(value) > MAX_SELECTION:
            raise ValidationError(f"Select at most {MAX_SELECTION} objects at a time, or work on the folder.")
        for key in value:
            validate_key(key)


class _DestinationMixin(forms.Form):
    """The destination bucket: a choice of the endpoint's buckets; the view checks access (404/403)."""

    dest_bucket = forms.CharField(label="Destination bucket", max_length=63, widget=forms.Select)
    overwrite = forms.BooleanField(
        label="Overwrite existing objects", required=False, help_text="Otherwise an existing key is left alone."
    )

    def __init__(self, *args, buckets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dest_bucket"].widget.choices = [(name, name) for name in buckets]


class ObjectTransferForm(_DestinationMixin):
    dest_key = KeyField(
        label="Destination key", help_text="A key ending with “/” puts the object into that folder under its own name."
    )
    overwrite = forms.BooleanField(label="Overwrite an existing object with that key", required=False)
    field_order = ["dest_bucket", "dest_key", "overwrite"]


class RenameForm(forms.Form):
    new_key = KeyField(label="New key", help_text="The full key; change the folder part to move it to another folder.")
    overwrite = forms.BooleanField(label="Overwrite an existing object with that key", required=False)


class PrefixTransferForm(_DestinationMixin):
    dest_prefix = forms.CharField(
        label="Destination folder",
        required=False,
        strip=False,
        max_length=MAX_KEY_BYTES,
        help_text="e.g. “archive/2024/”; empty for the top of the bucket. What is under the source folder goes here.",
    )
    field_order = ["dest_bucket", "dest_prefix", "overwrite"]

    def clean_dest_prefix(self) -> str:
        return normalise_prefix(self.cleaned_data["dest_prefix"], allow_root=True)


class PrefixRenameForm(forms.Form):
    new_prefix = forms.CharField(label="New folder name", strip=False, max_length=MAX_KEY_BYTES)

    def clean_new_prefix(self) -> str:
        return normalise_prefix(self.cleaned_data["new_prefix"], allow_root=False)


class SelectionForm(forms.Form):
    key = KeyListField()
    prefix = forms.CharField(required=False, strip=False, widget=forms.HiddenInput, max_length=MAX_KEY_BYTES)


class SelectionTransferForm(SelectionForm, PrefixTransferForm):
    field_order = ["dest_bucket", "dest_prefix", "overwrite"]


class ConfirmPrefixForm(forms.Form):
    """Typed confirmation: the user types the folder's full prefix."""

    confirm = forms.CharField(label="Type the folder to confirm", strip=False, max_length=MAX_KEY_BYTES)

    def __init__(self, *args, folder: str, **kwargs):  # not "prefix": Form uses that for field names
        super().__init__(*args, **kwargs)
        self.folder = folder
        self.fields["confirm"].label = f"Type “{folder}” to confirm"
        self.fields["confirm"].widget.attrs.update(
            {"data-confirm-value": folder, "autocomplete": "off", "spellcheck": "false"}
        )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"] != self.folder:
            raise ValidationError("That is not the folder's name: nothing was deleted.")
        return self.folder
