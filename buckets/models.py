from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from console.generations import Counted
from console.models import Endpoint


class Bucket(Counted):
    """What the console knows of a bucket, synced from ListBuckets; pages read this, not S3."""

    counted_as = "buckets"  # console.generations: the bucket list is kept under it

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="buckets")
    name = models.CharField(max_length=63)
    region = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField("created in S3", null=True, blank=True)
    last_synced = models.DateTimeField(null=True, blank=True)
    object_count = models.BigIntegerField(null=True, blank=True)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    # Last known "public" indicator (from policy/ACL/public access block), saved when the bucket
    # page derives it, so the dashboard lists public buckets without calling S3. None: not checked yet.
    is_public = models.BooleanField(null=True, blank=True)
    public_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint__name", "name"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "name"], name="bucket_unique_per_endpoint")]

    def __str__(self) -> str:
        return f"{self.endpoint.name}/{self.name}"


class Job(models.Model):
    """Long work (emptying a bucket, deleting or copying a prefix) run by the task worker, with progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        PAUSED = "paused", "Paused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="jobs")
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=1024, blank=True)
    params = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_data = models.JSONField(default=dict, blank=True, help_text="audit.Actor of who started it")
    total = models.BigIntegerField(null=True, blank=True, help_text="entries expected, when known")
    done = models.BigIntegerField(default=0)
    done_bytes = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="first failures: [{key, code, message}]")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="set with the one outcome audit event")
    # Surviving a worker that dies (buckets.jobs): the task to enqueue again, the lease the running
    # worker renews, how often it was started, and where to resume (the work's own state and the
    # counters as they were at that point).
    task_path = models.CharField(max_length=200, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)
    # Pause and cancel (bulk jobs): asked here by a user, acted on by the worker at its next check; a
    # paused job is not running, so its later run does not count as a lost worker's (``pauses``).
    control = models.CharField(max_length=8, blank=True, help_text="'pause' or 'cancel' when asked")
    pauses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="job_status_lease")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def resumed(self) -> bool:
        return self.attempts > 1

    @property
    def cancelled(self) -> bool:
        """Ended because a user stopped it (recorded as failed, code Cancelled), not because something broke."""
        return self.status == self.Status.FAILED and self.message.startswith("Cancelled: ")  # jobs.cancelled()

    @property
    def status_label(self) -> str:
        return "Cancelled" if self.cancelled else self.get_status_display()

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.DONE:  # all it found to do (selected keys that were not there are not done)
            return 100
        if not self.total:
            return None
        return min(100, int(100 * (self.done + self.failed) / self.total))


class JobFailure(models.Model):
    """One entry a job could not process, and why: every one of them, kept with the job (not in the audit)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="failures")
    key = models.CharField(max_length=1024)
    version_id = models.CharField(max_length=1024, blank=True)
    code = models.CharField(max_length=128, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.code}"


class ResourceLock(models.Model):
    """A short lease on one S3 resource (an object's metadata, a bucket's policy…) while one save runs.

    Held in the database so that every console process on every host sees it; taken and released
    with single statements (no transaction is held open during the S3 call), and it expires by
    itself if the process holding it dies.
    """

    name = models.CharField(max_length=64, primary_key=True, help_text="sha256 of endpoint/bucket/key/what")
    owner = models.CharField(max_length=32)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class UnsupportedFeature(models.Model):
    """A setting an endpoint answered "not implemented" for: shown as such until someone checks again."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="unsupported_features")
    feature = models.CharField(max_length=64, help_text="the section's slug, e.g. 'website'")
    code = models.CharField(max_length=128, blank=True, help_text="the S3 error code that said so")
    detected_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "feature"], name="unsupported_feature_once")]

    def __str__(self) -> str:
        return f"{self.endpoint.name}: {self.feature}"
