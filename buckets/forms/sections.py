"""The forms of the object page's sections, and those both pages have (tags, ACLs).

Each validates and normalises; ``cleaned_data`` holds what the section's service writes. Every form
carries ``seen`` (the state it was opened on, see ``forms.base``) and gets ``target`` (what it edits).
The bucket page's own sections are in ``forms.settings``.
"""

from __future__ import annotations

import datetime
import email.utils

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from buckets import vocabulary
from buckets.forms.base import RowsForm, SectionForm


# --- rows shared by both pages ------------------------------------------------------------------
class TagsForm(RowsForm):
    """Tag rows (tag_key / tag_value); ``limit`` is 50 for a bucket and 10 for an object."""

    row_names = ("tag_key", "tag_value")

    def __init__(self, *args, limit: int, **kwargs):
        self.limit = limit
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        errors = vocabulary.tag_errors(self.rows, limit=self.limit)
        for error in errors:
            self.add_error(None, error)
        data["tags"] = [(key, value) for key, value in self.rows]
        return data


class AclForm(RowsForm):
    """A canned ACL, or grant rows (grant_type / grant_grantee / grant_permission) that replace the ACL."""

    row_names = ("grant_type", "grant_grantee", "grant_permission")
    canned = forms.ChoiceField(
        label="Access",
        required=False,
        help_text="A canned ACL replaces every grant; choose “Explicit grants” to edit them one by one.",
    )

    def __init__(self, *args, objects: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["canned"].choices = [("", "Explicit grants (below)"), *vocabulary.canned_acls(objects=objects)]

    def clean(self):
        data = super().clean()
        rows = [{"type": kind, "grantee": grantee, "permission": permission} for kind, grantee, permission in self.rows]
        grants, errors = vocabulary.grant_errors(rows)
        for error in errors:
            self.add_error(None, error)
        if not data.get("canned") and not grants and not errors:
            self.add_error(
                None, "Choose a canned ACL or give at least one grant (the owner usually keeps FULL_CONTROL)."
            )
        data["grants"] = grants
        return data


# --- the object page ----------------------------------------------------------------------------
# The system headers the metadata form edits: form field → the name S3/boto3 uses.
HEADER_FIELDS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "expires": "Expires",
}


class MetadataForm(RowsForm):
    row_names = ("meta_key", "meta_value")

    content_type = forms.CharField(label="Content-Type", required=False, max_length=1024)
    cache_control = forms.CharField(label="Cache-Control", required=False, max_length=1024)
    content_disposition = forms.CharField(label="Content-Disposition", required=False, max_length=1024)
    content_encoding = forms.CharField(label="Content-Encoding", required=False, max_length=256)
    content_language = forms.CharField(label="Content-Language", required=False, max_length=256)
    expires = forms.CharField(
        label="Expires", required=False, max_length=64, help_text="An HTTP date, or 2026-10-21 07:28 (UTC)."
    )

    def clean(self):
        data = super().clean()
        for name, field in self.fields.items():
            value = data.get(name) if name in HEADER_FIELDS and name != "expires" else ""
            if value and not vocabulary.PRINTABLE_ASCII.match(value):
                self.add_error(
                    name,
                    f"{field.label} may only contain printable ASCII characters (S3 sends it as an HTTP header). "
                    "Encode other characters, e.g. as %XX or RFC 2047.",
                )
        if data.get("content_type") and not vocabulary.CONTENT_TYPE.match(data["content_type"]):
            self.add_error("content_type", "A content type looks like “type/subtype”, e.g. text/plain.")
        metadata, errors = vocabulary.metadata_errors(self.rows)
        for error in errors:
            self.add_error(None, error)
        data["metadata"] = metadata
        data["headers"] = {s3_name: data[name] for name, s3_name in HEADER_FIELDS.items() if data.get(name)}
        return data

    def clean_expires(self) -> datetime.datetime | None:
        value = self.cleaned_data["expires"].strip()
        if not value:
            return None
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(
                    "Not a date: write e.g. Wed, 21 Oct 2026 07:28:00 GMT or 2026-10-21 07:28."
                ) from None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=datetime.UTC)
        return parsed


class StorageClassForm(SectionForm):
    storage_class = forms.ChoiceField(label="Storage class")

    def __init__(self, *args, accepted=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_class"].choices = vocabulary.storage_classes(accepted)


class ShareForm(forms.Form):
    UNITS = {"minutes": 60, "hours": 3600, "days": 86400}

    amount = forms.IntegerField(label="Valid for", min_value=1, initial=1)
    unit = forms.ChoiceField(label="Unit", choices=[(u, u) for u in UNITS], initial="hours")

    def clean(self):
        data = super().clean()
        if data.get("amount") and data.get("unit"):
            seconds = data["amount"] * self.UNITS[data["unit"]]
            if seconds > vocabulary.MAX_PRESIGN_SECONDS:
                self.add_error("amount", "A share link can be valid for at most 7 days (the SigV4 limit).")
            data["seconds"] = seconds
        return data
