"""The typed confirmation of emptying or deleting a bucket."""

from __future__ import annotations

from django import forms

from buckets.forms.base import TypedConfirmForm


class ConfirmBucketForm(TypedConfirmForm):
    confirm = forms.CharField(label="Type the bucket name to confirm", max_length=63, strip=True)
    refusal = "That is not the bucket's name. Nothing was deleted."

    def __init__(self, *args, bucket: str, **kwargs):
        super().__init__(*args, expected=bucket, **kwargs)
