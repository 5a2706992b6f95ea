"""The bulk action form: which action, its options, the rate, and (for delete and move) a typed confirmation.

The source travels with the form: a folder (``source=prefix``, ``prefix``) or the keys and folders ticked
in the object list (``source=selection``, ``key_b64``/``folder_b64``, below ``prefix``).
"""

from __future__ import annotations

import email.utils

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict

from buckets import vocabulary
from buckets.forms.base import TypedConfirmForm
from buckets.forms.sections import HEADER_FIELDS, MetadataForm
from buckets.forms.transfer import MAX_KEY_BYTES, MAX_SELECTION, KeyListField, _folder_errors, normalise_prefix
from buckets.services.bulk_actions import ACTIONS, HEADERS, RESTORE_TIERS
from buckets.services.bulk_sources import KeySource, prefix_source, selection_source
from console.models import Endpoint

MAX_RATE = 10_000


class OptionalKeyListField(KeyListField):
    """Selected keys, none at all being fine (a selection of folders only, or a folder source)."""

    def validate(self, value: list[str]) -> None:
        if value:
            super().validate(value)


class FolderListField(KeyListField):
    def validate(self, value: list[str]) -> None:
        if len(value) > MAX_SELECTION:
            raise ValidationError(f"Select at most {MAX_SELECTION} folders at a time.")
        for folder in value:
            if not folder.endswith("/") or len(folder.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
                raise ValidationError("A selected folder is not a folder prefix.")


class SourceForm(forms.Form):
    """Where the keys come from (posted from the object list, or carried from step to step)."""

    source = forms.ChoiceField(choices=[("prefix", "A folder"), ("selection", "A selection")], widget=forms.HiddenInput)
    prefix = forms.CharField(required=False, strip=False, max_length=MAX_KEY_BYTES, widget=forms.HiddenInput)
    key = OptionalKeyListField(required=False)
    folder = FolderListField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("source") == "selection" and not (data.get("key") or data.get("folder")):
            raise ValidationError("Select at least one object or folder.")
        prefix = data.get("prefix") or ""
        if prefix and not prefix.endswith("/"):
            self.add_error("prefix", "A folder prefix ends with “/”.")
        for key in [*(data.get("key") or []), *(data.get("folder") or [])]:
            if not key.startswith(prefix):
                raise ValidationError("The selection is not in this folder.")
        return data

    def key_source(self) -> KeySource:
        data = self.cleaned_data
        if data["source"] == "prefix":
            return prefix_source(data["prefix"])
        return selection_source(keys=data["key"], folders=data["folder"], base_prefix=data["prefix"])


def _tag_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition("=")
        pairs.append((key.strip(), value.strip()))
    return pairs


class BulkForm(SourceForm):
    action = forms.ChoiceField(label="Action", choices=[(a.name, a.label) for a in ACTIONS.values()])
    tags = forms.CharField(
        label="Tags to set", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One key=value a line; existing tags with other keys are kept.",
    )  # fmt: skip
    tag_keys = forms.CharField(
        label="Tag keys to remove", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One tag key a line.",
    )  # fmt: skip
    storage_class = forms.ChoiceField(label="New storage class", required=False, choices=vocabulary.STORAGE_CLASSES)
    header = forms.ChoiceField(label="Header", required=False, choices=list(HEADERS.items()))
    value = forms.CharField(
        label="Header value", required=False, max_length=1024,
        help_text="Empty removes the header. Expires: an HTTP date, or 2026-10-21 07:28 (UTC).",
    )  # fmt: skip
    canned = forms.ChoiceField(label="Canned ACL", required=False, choices=vocabulary.canned_acls(objects=True))
    days = forms.IntegerField(label="Days to keep the restored copy", required=False, min_value=1, max_value=3650)
    tier = forms.ChoiceField(label="Retrieval tier", required=False, choices=[(t, t) for t in RESTORE_TIERS])
    dest_bucket = forms.CharField(label="Destination bucket", required=False, max_length=63, widget=forms.Select)
    dest_prefix = forms.CharField(
        label="Destination folder", required=False, strip=False, max_length=MAX_KEY_BYTES,
        help_text="e.g. “archive/2024/”; empty for the top of the bucket.",
    )  # fmt: skip
    overwrite = forms.BooleanField(label="Overwrite existing objects", required=False)
    rate = forms.IntegerField(
        label="Rate (objects per second)", min_value=0, max_value=MAX_RATE, required=False,
        help_text="0: as fast as the endpoint answers. Lower it to spare a busy endpoint.",
    )  # fmt: skip

    def __init__(self, *args, endpoint: Endpoint, bucket: str, buckets: list[str], **kwargs):
        kwargs.setdefault("initial", {}).setdefault("rate", settings.BULK_RATE)
        kwargs["initial"].setdefault("days", 7)
        super().__init__(*args, **kwargs)
        self.endpoint, self.bucket = endpoint, bucket
        self.fields["dest_bucket"].widget.choices = [(name, name) for name in buckets]
        self.buckets = buckets

    def clean_rate(self) -> int:
        rate = self.cleaned_data["rate"]
        return settings.BULK_RATE if rate is None else rate

    def clean(self):
        data = super().clean()
        action = data.get("action")
        options, errors = self._options(action, data) if action else ({}, [])
        for name, error in errors:
            self.add_error(name, error)
        data["options"] = options
        return data

    def _options(self, action: str, data: dict) -> tuple[dict, list[tuple[str | None, str]]]:
        if action == "tag":
            pairs = _tag_pairs(data.get("tags") or "")
            errors = vocabulary.tag_errors(pairs, limit=vocabulary.MAX_OBJECT_TAGS)
            if not pairs:
                errors.append("Give at least one tag (key=value).")
            return {"tags": dict(pairs)}, [("tags", e) for e in errors]
        if action == "untag":
            keys = [line.strip() for line in (data.get("tag_keys") or "").splitlines() if line.strip()]
            return {"tag_keys": keys}, [] if keys else [("tag_keys", "Give at least one tag key.")]
        if action == "storage_class":
            if not data.get("storage_class"):
                return {}, [("storage_class", "Choose a storage class.")]
            return {"storage_class": data["storage_class"]}, []
        if action == "header":
            return self._header(data)
        if action == "acl":
            if not data.get("canned"):
                return {}, [("canned", "Choose a canned ACL.")]
            return {"canned": data["canned"]}, []
        if action == "restore":
            return {"days": data.get("days") or 7, "tier": data.get("tier") or "Standard"}, []
        if action in ("copy", "move"):
            return self._destination(data)
        return {}, []

    def _header(self, data: dict):
        name, value = data.get("header"), (data.get("value") or "").strip()
        if not name:
            return {}, [("header", "Choose a header.")]
        posted = QueryDict(mutable=True)
        posted[_field(name)] = value
        probe = MetadataForm(posted)
        if value and not probe.is_valid():
            return {}, [("value", e) for errs in probe.errors.values() for e in errs]
        if name == "Expires" and value:
            value = email.utils.format_datetime(probe.cleaned_data["expires"], usegmt=True)
        return {"header": name, "value": value}, []

    def _destination(self, data: dict):
        bucket = data.get("dest_bucket") or self.bucket
        if bucket not in self.buckets:
            return {}, [("dest_bucket", "Choose one of the buckets listed.")]
        try:
            prefix = normalise_prefix(data.get("dest_prefix") or "", allow_root=True)
        except ValidationError as exc:
            return {}, [("dest_prefix", exc.messages[0])]
        errors = [("dest_prefix", e) for e in _folder_errors(self.endpoint, bucket, prefix)]
        return {"dest_bucket": bucket, "dest_prefix": prefix, "overwrite": bool(data.get("overwrite"))}, errors


def _field(s3_name: str) -> str:
    """The metadata form's field for a header (its checks are the ones a bulk header value needs)."""
    return next(field for field, name in HEADER_FIELDS.items() if name == s3_name)


class ConfirmForm(TypedConfirmForm):
    """Typed confirmation of a destructive bulk action: the bucket's name."""

    confirm = forms.CharField(label="Type the bucket's name to confirm", strip=False, max_length=100)
    refusal = "That is not the bucket's name: nothing was started."

    def __init__(self, *args, bucket: str, **kwargs):
        super().__init__(*args, expected=bucket, **kwargs)
