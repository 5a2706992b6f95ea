from __future__ import annotations

from django.db import models

from console.models import Endpoint


class Bucket(models.Model):
    """What the console knows of a bucket, synced from ListBuckets; pages read this, not S3."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="buckets")
    name = models.CharField(max_length=63)
    region = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField("created in S3", null=True, blank=True)
    last_synced = models.DateTimeField(null=True, blank=True)
    object_count = models.BigIntegerField(null=True, blank=True)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint__name", "name"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "name"], name="bucket_unique_per_endpoint")]

    def __str__(self) -> str:
        return f"{self.endpoint.name}/{self.name}"
