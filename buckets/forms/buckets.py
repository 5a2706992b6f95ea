"""Creating a bucket: the name checked against every S3 naming rule before any call."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from buckets import vocabulary
from buckets.forms.settings import clean_tag_lines


class BucketCreateForm(forms.Form):
    endpoint = forms.ModelChoiceField(
        queryset=None, empty_label="Choose the endpoint", error_messages={"required": "Choose the endpoint."}
    )
    name = forms.CharField(label="Bucket name", max_length=100, strip=True)
    region = forms.CharField(
        max_length=64,
        required=False,
        help_text="The LocationConstraint, e.g. eu-west-1. Empty or us-east-1: no constraint is sent.",
    )
    object_lock = forms.BooleanField(
        label="Enable object lock", required=False, help_text="Only possible now, at creation; it turns on versioning."
    )
    versioning = forms.BooleanField(label="Enable versioning", required=False)
    tags = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "team=data\nenv=prod"}),
        help_text="key=value, one per line.",
    )

    def __init__(self, *args, endpoints, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = endpoints

    def clean_name(self):
        name = self.cleaned_data["name"]
        errors = vocabulary.bucket_name_errors(name)
        if errors:
            raise ValidationError(errors)
        return name

    def clean_region(self):
        region = self.cleaned_data["region"].strip()
        if region and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}|EU", region):
            raise ValidationError("A region is lowercase letters, digits and hyphens, such as “eu-west-1”.")
        return region

    def clean_tags(self):
        return clean_tag_lines(self.cleaned_data["tags"], vocabulary.MAX_BUCKET_TAGS)
