"""Forms of the object page: they validate and normalise, so a bad value never reaches S3."""

from __future__ import annotations

import datetime
import email.utils
import re
from itertools import zip_longest

from django import forms
from django.utils import timezone

# RFC 9110 token characters: what an HTTP header name may contain.
HEADER_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # \Z: "$" also matches before a final "\n"
PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*\Z")
# S3 tag keys and values: letters (any script), digits, spaces and + - = . _ : / @
TAG_TEXT = re.compile(r"^[\w +\-=.:/@]*\Z")  # a plain space: no tabs or line breaks
MAX_METADATA_BYTES = 2048
MAX_OBJECT_TAGS = 10
MAX_SHARE_SECONDS = 7 * 24 * 3600

STORAGE_CLASSES = [
    ("STANDARD", "Standard"),
    ("STANDARD_IA", "Standard-IA (infrequent access)"),
    ("ONEZONE_IA", "One Zone-IA"),
    ("INTELLIGENT_TIERING", "Intelligent-Tiering"),
    ("GLACIER_IR", "Glacier Instant Retrieval"),
    ("GLACIER", "Glacier Flexible Retrieval"),
    ("DEEP_ARCHIVE", "Glacier Deep Archive"),
    ("REDUCED_REDUNDANCY", "Reduced redundancy (legacy)"),
]
CANNED_ACLS = [
    ("private", "private — only the owner"),
    ("public-read", "public-read — anyone on the internet can read"),
    ("public-read-write", "public-read-write — anyone can read (and, on buckets, write)"),
    ("authenticated-read", "authenticated-read — any AWS account can read"),
    ("bucket-owner-read", "bucket-owner-read — the bucket owner can read"),
    ("bucket-owner-full-control", "bucket-owner-full-control — the bucket owner has full control"),
]
GRANTEE_TYPES = [
    ("CanonicalUser", "Canonical user ID"),
    ("Group", "Group"),
    ("AmazonCustomerByEmail", "E-mail address (AWS, some regions)"),
]
GROUPS = {
    "AllUsers": "http://acs.amazonaws.com/groups/global/AllUsers",
    "AuthenticatedUsers": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    "LogDelivery": "http://acs.amazonaws.com/groups/s3/LogDelivery",
}
PERMISSIONS = ["FULL_CONTROL", "READ", "READ_ACP", "WRITE_ACP", "WRITE"]
# What opens an object to the public (needs admin, see object_views._require_admin_to_publish).
PUBLIC_CANNED_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_GROUPS = {GROUPS["AllUsers"], GROUPS["AuthenticatedUsers"]}

# The system headers the metadata form edits: form field → the name S3/boto3 uses.
HEADER_FIELDS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "expires": "Expires",
}


def _rows(data, *names: str) -> list[tuple[str, ...]]:
    """Repeated inputs (``name=a&name=b``) zipped into rows; rows left entirely blank are dropped."""
    columns = [data.getlist(name) for name in names]
    rows = [tuple(v.strip() for v in row) for row in zip_longest(*columns, fillvalue="")]
    return [row for row in rows if any(row)]


def _ascii_header_value(value: str, label: str) -> str:
    if not PRINTABLE_ASCII.match(value):
        raise forms.ValidationError(
            f"{label} may only contain printable ASCII characters (S3 sends it as an HTTP header). "
            "Encode other characters, e.g. as %XX or RFC 2047."
        )
    return value


class SeenForm(forms.Form):
    """Carries a digest of what the user saw, so a save over someone else's change is refused."""

    seen = forms.CharField(widget=forms.HiddenInput)


class RowsForm(SeenForm):
    """A form with editable rows (metadata, tags, grants) posted as repeated inputs."""

    row_names: tuple[str, ...] = ()

    def __init__(self, data=None, *args, rows: list[tuple[str, ...]] | None = None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.rows = _rows(data, *self.row_names) if data is not None else list(rows or [])


class MetadataForm(RowsForm):
    row_names = ("meta_key", "meta_value")

    etag = forms.CharField(widget=forms.HiddenInput)
    content_type = forms.CharField(label="Content-Type", required=False, max_length=1024)
    cache_control = forms.CharField(label="Cache-Control", required=False, max_length=1024)
    content_disposition = forms.CharField(label="Content-Disposition", required=False, max_length=1024)
    content_encoding = forms.CharField(label="Content-Encoding", required=False, max_length=256)
    content_language = forms.CharField(label="Content-Language", required=False, max_length=256)
    expires = forms.CharField(
        label="Expires",
        required=False,
        max_length=64,
        help_text="An HTTP date, or 2026-10-21 07:28 (UTC).",
    )

    def clean(self):
        data = super().clean()
        for name, field in self.fields.items():
            if name in HEADER_FIELDS and name != "expires" and data.get(name):
                try:
                    _ascii_header_value(data[name], field.label)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        data["metadata"] = self._clean_metadata()
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
                raise forms.ValidationError(
                    "Not a date: write e.g. Wed, 21 Oct 2026 07:28:00 GMT or 2026-10-21 07:28."
                ) from None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=datetime.UTC)
        return parsed

    def _clean_metadata(self) -> dict[str, str]:
        metadata: dict[str, str] = {}
        for row in self.rows:
            key, value = row[0].lower().removeprefix("x-amz-meta-"), row[1]
            if not key:
                self.add_error(None, f"The metadata value “{value}” has no name.")
            elif not HEADER_TOKEN.match(key):
                self.add_error(
                    None,
                    f"The metadata name “{key}” may only contain letters, digits and ! # $ % & ' * + - . ^ _ ` | ~ "
                    "(no spaces, colons or other characters: it becomes an HTTP header name).",
                )
            elif key in metadata:
                self.add_error(None, f"The metadata name “{key}” appears twice (names are case-insensitive).")
            elif not PRINTABLE_ASCII.match(value):
                self.add_error(
                    None,
                    f"The value of “{key}” contains characters other than printable ASCII; S3 sends metadata as "
                    "HTTP headers, so encode them first (e.g. percent-encoding).",
                )
            else:
                metadata[key] = value
        size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
        if size > MAX_METADATA_BYTES:
            self.add_error(
                None, f"User metadata is {size} bytes; S3 allows at most {MAX_METADATA_BYTES} bytes (names and values)."
            )
        return metadata

    def headers(self) -> dict:
        """The system headers as S3 names them (empty ones left out)."""
        return {s3_name: self.cleaned_data[name] for name, s3_name in HEADER_FIELDS.items() if self.cleaned_data[name]}


class TagsForm(RowsForm):
    row_names = ("tag_key", "tag_value")

    def clean(self):
        data = super().clean()
        tags: list[dict] = []
        seen: set[str] = set()
        for key, value in self.rows:
            if not key:
                self.add_error(None, f"The tag value “{value}” has no key.")
            elif len(key) > 128:
                self.add_error(None, f"The tag key “{key[:40]}…” is longer than 128 characters.")
            elif len(value) > 256:
                self.add_error(None, f"The value of tag “{key}” is longer than 256 characters.")
            elif key.lower().startswith("aws:"):
                self.add_error(None, f"The tag key “{key}” uses the reserved prefix aws:.")
            elif not TAG_TEXT.match(key) or not TAG_TEXT.match(value):
                self.add_error(
                    None, f"The tag “{key}” may only use letters, digits, spaces and + - = . _ : / @ characters."
                )
            elif key in seen:
                self.add_error(None, f"The tag key “{key}” appears twice.")
            else:
                seen.add(key)
                tags.append({"key": key, "value": value})
        if len(tags) > MAX_OBJECT_TAGS:
            self.add_error(None, f"An object can have at most {MAX_OBJECT_TAGS} tags; there are {len(tags)}.")
        data["tags"] = tags
        return data


class AclForm(RowsForm):
    row_names = ("grant_type", "grant_grantee", "grant_permission")

    canned = forms.ChoiceField(
        label="Access",
        required=False,
        choices=[("", "Explicit grants (below)"), *CANNED_ACLS],
        help_text="A canned ACL replaces every grant; choose “Explicit grants” to edit them one by one.",
    )

    def clean(self):
        data = super().clean()
        grants: list[dict] = []
        for kind, grantee, permission in self.rows:
            if not grantee:
                continue  # a row without a grantee is an unused or emptied row
            if kind not in dict(GRANTEE_TYPES):
                self.add_error(None, f"Unknown grantee type “{kind}”.")
            elif permission not in PERMISSIONS:
                self.add_error(None, f"Unknown permission “{permission}”.")
            elif kind == "Group" and grantee not in GROUPS and grantee not in GROUPS.values():
                self.add_error(None, f"Unknown group “{grantee}”: use AllUsers, AuthenticatedUsers or LogDelivery.")
            elif kind == "AmazonCustomerByEmail" and "@" not in grantee:
                self.add_error(None, f"“{grantee}” is not an e-mail address.")
            else:
                grants.append({"type": kind, "grantee": GROUPS.get(grantee, grantee), "permission": permission})
        if not data.get("canned") and not grants:
            self.add_error(
                None, "Choose a canned ACL or give at least one grant (the owner usually keeps FULL_CONTROL)."
            )
        data["grants"] = grants
        return data


class StorageClassForm(SeenForm):
    etag = forms.CharField(widget=forms.HiddenInput)
    storage_class = forms.ChoiceField(label="Storage class", choices=STORAGE_CLASSES)


class ShareForm(forms.Form):
    UNITS = {"minutes": 60, "hours": 3600, "days": 86400}

    amount = forms.IntegerField(label="Valid for", min_value=1, initial=1)
    unit = forms.ChoiceField(label="Unit", choices=[(u, u) for u in UNITS], initial="hours")

    def clean(self):
        data = super().clean()
        if data.get("amount") and data.get("unit"):
            seconds = data["amount"] * self.UNITS[data["unit"]]
            if seconds > MAX_SHARE_SECONDS:
                self.add_error("amount", "A share link can be valid for at most 7 days (the SigV4 limit).")
            data["seconds"] = seconds
        return data
