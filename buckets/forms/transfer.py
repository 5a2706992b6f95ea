"""Forms for copy, move, rename and delete: they validate and normalise keys and prefixes.

Destination keys follow the rules every key the console writes follows (``vocabulary.key_errors``, the
same as uploads), including the keys the destination endpoint would store under another name.
"""

from __future__ import annotations

import base64
import binascii

from django import forms
from django.core.exceptions import ValidationError

from buckets import vocabulary
from buckets.forms.base import TypedConfirmForm
from buckets.services import reads
from buckets.services.transfer import key_refusal, object_destination
from console.models import Endpoint

MAX_KEY_BYTES = vocabulary.MAX_KEY_BYTES
MAX_SELECTION = 1000


def normalise_prefix(value: str, *, allow_root: bool) -> str:
    """A folder prefix: no leading "/", ending with "/" (added when missing); "" is the bucket root."""
    value = value.lstrip("/")
    if not value:
        if allow_root:
            return ""
        raise ValidationError("Give a folder name.")
    if not value.endswith("/"):
        value += "/"
    return value


def _folder_errors(endpoint: Endpoint, bucket: str, prefix: str) -> list[str]:
    if not prefix:
        return []
    return vocabulary.key_errors(
        prefix, what="The folder", rewrites=reads.rewrites_keys(endpoint=endpoint, bucket=bucket), folder=True
    )


class KeyField(forms.CharField):
    """An S3 key: kept exactly as typed (spaces are part of keys)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("max_length", MAX_KEY_BYTES)
        super().__init__(**kwargs)


# --- a selection of keys, carried from page to page -----------------------------------------------
def encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_key(token: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        return None


def _values(data, name: str) -> list[str]:
    values = data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
    return [values] if isinstance(values, str) else [str(v) for v in values]


class SelectedKeysInput(forms.MultipleHiddenInput):
    """Selected keys as hidden ``<name>_b64`` fields: browsers rewrite line breaks in form values
    ("\\r" becomes "\\r\\n"), so a raw key would not come back as it was. Raw ``<name>`` values (the
    object list's checkboxes) are read too."""

    def get_context(self, name, value, attrs):
        return super().get_context(f"{name}_b64", [encode_key(k) for k in value or []], attrs)

    def value_from_datadict(self, data, files, name):
        raw, tokens = _values(data, name), _values(data, f"{name}_b64")
        return raw + [decode_key(t) or "" for t in tokens]


class KeyListField(forms.Field):
    """The selected keys (existing keys: they are not held to the rules of new ones)."""

    widget = SelectedKeysInput

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
            if not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
                raise ValidationError("A selected key is empty or longer than 1,024 bytes.")


def selected_keys(data) -> list[str]:
    """The keys a selection form posts, before validation (for the access check on each of them)."""
    field = KeyListField()
    return field.to_python(field.widget.value_from_datadict(data, {}, "key"))


# --- the forms ------------------------------------------------------------------------------------
class _DestinationMixin(forms.Form):
    """The destination bucket: a choice of the endpoint's buckets; the view checks access (404/403)."""

    dest_bucket = forms.CharField(label="Destination bucket", max_length=63, widget=forms.Select)
    overwrite = forms.BooleanField(
        label="Overwrite existing objects", required=False, help_text="Otherwise an existing key is left alone."
    )

    def __init__(self, *args, buckets: list[str], endpoint: Endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        self.fields["dest_bucket"].widget.choices = [(name, name) for name in buckets]


class ObjectTransferForm(_DestinationMixin):
    """Copy or move one object; ``cleaned_data["destination"]`` is the full destination key."""

    dest_key = KeyField(
        label="Destination key", help_text="A key ending with “/” puts the object into that folder under its own name."
    )
    overwrite = forms.BooleanField(label="Overwrite an existing object with that key", required=False)
    field_order = ["dest_bucket", "dest_key", "overwrite"]

    def __init__(self, *args, source_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.source_key = source_key

    def clean(self):
        data = super().clean()
        if "dest_key" in data and "dest_bucket" in data:
            data["destination"] = object_destination(self.source_key, data["dest_key"])
            rewrites = reads.rewrites_keys(endpoint=self.endpoint, bucket=data["dest_bucket"])
            if why := key_refusal(data["destination"], source_key=self.source_key, rewrites=rewrites):
                self.add_error("dest_key", why)
        return data


class RenameForm(forms.Form):
    new_key = KeyField(label="New key", help_text="The full key; change the folder part to move it to another folder.")
    overwrite = forms.BooleanField(label="Overwrite an existing object with that key", required=False)

    def __init__(self, *args, endpoint: Endpoint, bucket: str, source_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint, self.bucket, self.source_key = endpoint, bucket, source_key

    def clean_new_key(self) -> str:
        key = self.cleaned_data["new_key"]
        if key == self.source_key:
            return key  # the service says "the destination is the object itself"
        rewrites = reads.rewrites_keys(endpoint=self.endpoint, bucket=self.bucket)
        if why := key_refusal(key, source_key=self.source_key, rewrites=rewrites):
            raise ValidationError(why)
        return key


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

    def clean(self):
        data = super().clean()
        if "dest_prefix" in data and "dest_bucket" in data:
            for error in _folder_errors(self.endpoint, data["dest_bucket"], data["dest_prefix"]):
                self.add_error("dest_prefix", error)
        return data


class PrefixRenameForm(forms.Form):
    new_prefix = forms.CharField(label="New folder name", strip=False, max_length=MAX_KEY_BYTES)

    def __init__(self, *args, endpoint: Endpoint, bucket: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint, self.bucket = endpoint, bucket

    def clean_new_prefix(self) -> str:
        prefix = normalise_prefix(self.cleaned_data["new_prefix"], allow_root=False)
        if errors := _folder_errors(self.endpoint, self.bucket, prefix):
            raise ValidationError(errors)
        return prefix


class SelectionForm(forms.Form):
    key = KeyListField()
    prefix = forms.CharField(required=False, strip=False, widget=forms.HiddenInput, max_length=MAX_KEY_BYTES)


class SelectionTransferForm(SelectionForm, PrefixTransferForm):
    field_order = ["dest_bucket", "dest_prefix", "overwrite"]

    def __init__(self, *args, source_bucket: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.source_bucket = source_bucket

    def clean(self):
        data = super().clean()
        if data.get("dest_bucket") == self.source_bucket and data.get("dest_prefix") == data.get("prefix"):
            self.add_error("dest_prefix", "That is where the objects are: choose another folder or bucket.")
        return data


class ConfirmPrefixForm(TypedConfirmForm):
    """Typed confirmation: the user types the folder's full prefix."""

    confirm = forms.CharField(label="Type the folder to confirm", strip=False, max_length=MAX_KEY_BYTES)
    refusal = "That is not the folder's name: nothing was deleted."

    def __init__(self, *args, folder: str, **kwargs):  # not "prefix": Form uses that for field names
        super().__init__(*args, expected=folder, **kwargs)
