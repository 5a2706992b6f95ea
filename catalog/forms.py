"""Forms of the catalog's pages: search filters, index settings, inventory, aborting old uploads."""

from __future__ import annotations

import re
from datetime import datetime, time

from django import forms
from django.utils import timezone

from buckets import vocabulary
from buckets.forms.transfer import decode_key
from catalog.services.search import Filters

UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
         "t": 1024**4, "tb": 1024**4}  # fmt: skip
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int | None:
    """ "10 MB" → 10485760; "" → None."""
    if not text.strip():
        return None
    match = SIZE.match(text)
    if not match or match.group(2).lower() not in UNITS:
        raise forms.ValidationError("A size like 500, 20 KB, 1.5 GB.")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


class SearchForm(forms.Form):
    q = forms.CharField(label="Key contains", required=False, max_length=1024, strip=False)
    min_size = forms.CharField(label="Size from", required=False, max_length=32)
    max_size = forms.CharField(label="Size up to", required=False, max_length=32)
    after = forms.DateField(label="Modified from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(label="Modified up to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    storage_class = forms.ChoiceField(label="Storage class", required=False)
    tag = forms.CharField(label="Tag (name=value)", required=False, max_length=400)
    meta = forms.CharField(label="Metadata (name=value)", required=False, max_length=400)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_class"].choices = [("", "Any")] + list(vocabulary.STORAGE_CLASSES)

    def clean_q(self):
        term = self.cleaned_data["q"]
        if "\x00" in term:
            raise forms.ValidationError("A key cannot hold a NUL character.")
        return term

    def clean_min_size(self):
        return parse_size(self.cleaned_data["min_size"])

    def clean_max_size(self):
        return parse_size(self.cleaned_data["max_size"])

    def filters(self) -> Filters:
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def day(value, end=False):
            if not value:
                return None
            moment = datetime.combine(value, time.min, tzinfo=zone)
            return moment + timezone.timedelta(days=1) if end else moment

        return Filters(
            term=data["q"], min_size=data["min_size"], max_size=data["max_size"],
            modified_after=day(data["after"]), modified_before=day(data["before"], end=True),
            storage_class=data["storage_class"], tag=data["tag"].strip(), meta=data["meta"].strip(),
        )  # fmt: skip


class IndexSettingsForm(forms.Form):
    with_versions = forms.BooleanField(label="Also count noncurrent versions (ListObjectVersions)", required=False)
    with_details = forms.BooleanField(label="Index tags and user metadata (two requests per object)", required=False)
    requests_per_second = forms.FloatField(
        label="Requests a second (empty: the console's default)", required=False, min_value=0.1, max_value=10_000
    )
    recrawl_hours = forms.IntegerField(
        label="Re-crawl every … hours (empty: default; 0: never)", required=False, min_value=0, max_value=24 * 365
    )


class EveryBucketForm(IndexSettingsForm):
    every_bucket = forms.BooleanField(label="Yes, index every bucket of this endpoint", required=True)


class BucketNameField(forms.CharField):
    """The name of a bucket (another than the page's), held to S3's naming rules."""

    def __init__(self, **kwargs):
        super().__init__(max_length=63, **kwargs)

    def clean(self, value):
        name = super().clean(value)
        if errors := vocabulary.bucket_name_errors(name):
            raise forms.ValidationError(errors)
        return name


class InventoryLoadForm(forms.Form):
    report_bucket = BucketNameField(label="Bucket holding the reports")
    prefix = forms.CharField(
        label="Folder of the configuration (…/source bucket/config id/)", max_length=1024, required=False
    )


class InventorySetupForm(forms.Form):
    destination_bucket = BucketNameField(label="Bucket to write the reports to")
    prefix = forms.CharField(label="Folder in it", max_length=512, required=False, initial="inventory")
    config_id = forms.SlugField(label="Configuration id", max_length=64, initial="console-index")
    fmt = forms.ChoiceField(label="Format", choices=[("CSV", "CSV"), ("Parquet", "Parquet"), ("ORC", "ORC")])


class AbortOldForm(forms.Form):
    days = forms.IntegerField(label="Started more than … days ago", min_value=0, max_value=36500, initial=7)


def prefix_param(data) -> str:
    """The folder a page is about: base64 (``prefix_b64``) or plain (``prefix``)."""
    if data.get("prefix_b64"):
        return decode_key(data["prefix_b64"]) or ""
    return data.get("prefix", "")
