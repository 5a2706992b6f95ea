"""The bucket index: what the console knows of every object of an indexed bucket, and what it sums.

An :class:`IndexedBucket` is opted in by an admin. Its :class:`Entry` rows (one per current object) are
written by a crawl (ListObjectsV2 pages) or an S3 Inventory load, and kept fresh by the console's own
changes (``catalog.follow``). Sums per prefix (:class:`PrefixStat`) and per storage class
(:class:`ClassStat`) are precomputed for one ``generation`` (the last complete crawl) and moved by the
same changes, so the analytics page reads a few rows, never the entries.
"""

from __future__ import annotations

from django.db import models

from buckets.models import Job
from console.generations import Counted
from console.models import Endpoint


class IndexedBucket(Counted):
    class State(models.TextChoices):
        WAITING = "waiting", "Not indexed yet"
        CRAWLING = "crawling", "Being indexed"
        FRESH = "fresh", "Indexed"
        FAILED = "failed", "Last crawl failed"

    class Source(models.TextChoices):
        LISTING = "listing", "ListObjectsV2"
        INVENTORY = "inventory", "S3 Inventory report"

    counted_as = "index"  # console.generations: the bucket list shows the index's sizes

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="indexed_buckets")
    bucket = models.CharField(max_length=63)
    state = models.CharField(max_length=8, choices=State, default=State.WAITING)
    source = models.CharField(max_length=9, choices=Source, default=Source.LISTING)
    with_versions = models.BooleanField(default=False, help_text="also ListObjectVersions (noncurrent bytes)")
    with_details = models.BooleanField(default=False, help_text="tags and user metadata: two requests per object")
    requests_per_second = models.FloatField(null=True, blank=True, help_text="None: INDEX_REQUESTS_PER_SECOND")
    recrawl_hours = models.PositiveIntegerField(null=True, blank=True, help_text="None: INDEX_RECRAWL_HOURS")
    generation = models.PositiveIntegerField(default=0, help_text="the crawl running or last run")
    stats_generation = models.PositiveIntegerField(default=0, help_text="whose sums the pages show")
    indexed_at = models.DateTimeField(null=True, blank=True, help_text="when the last complete crawl ended")
    object_count = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    noncurrent_count = models.BigIntegerField(null=True, blank=True)
    noncurrent_bytes = models.BigIntegerField(null=True, blank=True)
    delete_markers = models.BigIntegerField(null=True, blank=True)
    uploads_count = models.BigIntegerField(null=True, blank=True)
    uploads_bytes = models.BigIntegerField(null=True, blank=True)
    inventory_manifest = models.CharField(max_length=1024, blank=True, help_text="bucket/key of the last report")
    last_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["endpoint__name", "bucket"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "bucket"], name="catalog_bucket_once")]

    def __str__(self) -> str:
        return f"{self.endpoint.name}/{self.bucket}"


class Entry(models.Model):
    """One current object of an indexed bucket."""

    id = models.BigAutoField(primary_key=True)
    indexed = models.ForeignKey(IndexedBucket, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(max_length=1024)
    size = models.BigIntegerField(default=0)
    last_modified = models.DateTimeField(null=True, blank=True)
    storage_class = models.CharField(max_length=32, default="STANDARD")
    etag = models.CharField(max_length=96, blank=True)
    seen = models.PositiveIntegerField(default=0, help_text="the generation that last saw it")
    # "\nname=value\n" lines (a search for a tag looks for one line); filled when details are indexed.
    tags = models.TextField(blank=True)
    metadata = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indexed", "key"], name="catalog_entry_once")]
        indexes = [
            models.Index(fields=["indexed", "-size"], name="catalog_entry_size"),
            models.Index(fields=["indexed", "last_modified"], name="catalog_entry_age"),
        ]

    def __str__(self) -> str:
        return self.key


class PrefixStat(models.Model):
    """Count and bytes of every object under a prefix ("" is the bucket), for one generation."""

    id = models.BigAutoField(primary_key=True)
    indexed = models.ForeignKey(IndexedBucket, on_delete=models.CASCADE, related_name="prefix_stats")
    generation = models.PositiveIntegerField()
    prefix = models.CharField(max_length=1024)
    parent = models.CharField(max_length=1024)
    count = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    newest = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indexed", "generation", "prefix"], name="catalog_prefix_once")]
        indexes = [models.Index(fields=["indexed", "generation", "parent"], name="catalog_prefix_parent")]

    def __str__(self) -> str:
        return self.prefix or "(bucket)"


class ClassStat(models.Model):
    """Count and bytes per storage class of the keys under a prefix, at any depth ("" for the whole bucket),
    for every prefix a PrefixStat has, one generation: a folder's breakdown is read, never summed on a view."""

    indexed = models.ForeignKey(IndexedBucket, on_delete=models.CASCADE, related_name="class_stats")
    generation = models.PositiveIntegerField()
    top = models.CharField(max_length=1024, help_text="the prefix (a folder with its slash, '' for the bucket)")
    storage_class = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["indexed", "generation", "top", "storage_class"], name="catalog_class_once")
        ]

    def __str__(self) -> str:
        return f"{self.top or '(bucket)'} {self.storage_class}"


class Snapshot(models.Model):
    """The bucket's totals on a day (the growth chart)."""

    indexed = models.ForeignKey(IndexedBucket, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    count = models.BigIntegerField()
    bytes = models.BigIntegerField()
    noncurrent_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["indexed", "day"], name="catalog_snapshot_daily")]

    def __str__(self) -> str:
        return f"{self.day}: {self.count} objects"


class OutsideChange(models.Model):
    """What a re-crawl found changed outside the console, counted per top-level prefix."""

    indexed = models.ForeignKey(IndexedBucket, on_delete=models.CASCADE, related_name="outside_changes")
    found_at = models.DateTimeField(auto_now_add=True)
    prefix = models.CharField(max_length=1024)
    added = models.BigIntegerField(default=0)
    changed = models.BigIntegerField(default=0)
    removed = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-found_at", "prefix"]

    def __str__(self) -> str:
        return f"{self.prefix}: +{self.added} ~{self.changed} -{self.removed}"
