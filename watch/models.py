"""Drift snapshots of bucket settings, alert rules, their destinations, alerts and their deliveries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from console import crypto
from console.generations import Counted
from console.models import Endpoint


class EndpointWatch(models.Model):
    """An endpoint's drift checks: since when its buckets are watched (a bucket new after that was
    created outside the console unless the console created it), and its last pass."""

    endpoint = models.OneToOneField(Endpoint, on_delete=models.CASCADE, related_name="watch")
    first_checked_at = models.DateTimeField()
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, help_text="why the last pass could not check it")
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"watch of {self.endpoint}"


class BucketSnapshot(models.Model):
    """A bucket's settings as the last drift check read them: {setting: value}.

    ``unchecked`` holds the settings that could not be read at the last check ({setting: reason}):
    their value in ``state`` is the one read before, compared again next time.
    """

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="bucket_snapshots")
    bucket = models.CharField(max_length=63)
    state = models.JSONField(default=dict, blank=True)
    unchecked = models.JSONField(default=dict, blank=True)
    first_checked_at = models.DateTimeField()
    checked_at = models.DateTimeField(help_text="when the reads of the last check began")
    changed_outside_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint_id", "bucket"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "bucket"], name="bucket_snapshot_once")]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.bucket} at {self.checked_at:%Y-%m-%d %H:%M}"


class DriftRun(models.Model):
    """One drift pass (scheduled, from the command or a "Check now"), with what it found."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=16, help_text="schedule, command or button")
    scope = models.CharField(max_length=200, blank=True)
    buckets_checked = models.IntegerField(default=0)
    changes = models.IntegerField(default=0)
    unchecked = models.JSONField(default=list, blank=True, help_text="[what, reason] that could not be checked")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"drift run {self.pk} ({self.trigger})"


class Destination(Counted):
    counted_as = "alerts"  # removing one removes its deliveries, whose state the dashboard's alerts show

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (JSON, signed)"
        CHAT = "chat", "Slack / Teams incoming webhook"
        EMAIL = "email", "E-mail"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=Kind)
    # Incoming-webhook URLs carry their own token (Slack, Teams): the URL is kept encrypted like the
    # signing secret, and pages show only its scheme and host.
    url_encrypted = models.TextField(blank=True, editable=False)
    url_hint = models.CharField(max_length=300, blank=True, help_text="scheme and host of the URL")
    secret_encrypted = models.TextField(blank=True, editable=False)
    recipients = models.CharField(max_length=1000, blank=True, help_text="e-mail addresses, comma-separated")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_url(self, url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.url_encrypted = crypto.encrypt(url) if url else ""
        self.url_hint = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…" if url else ""

    def get_url(self) -> str:
        return crypto.decrypt(self.url_encrypted) if self.url_encrypted else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @property
    def recipient_list(self) -> list[str]:
        return [r.strip() for r in self.recipients.split(",") if r.strip()]


class AlertRule(models.Model):
    class Condition(models.TextChoices):
        EVERY = "every", "Every matching event"
        PUBLIC = "public", "A bucket became public"
        EXTERNAL = "external", "A change made outside the console"
        DELETES = "deletes", "More than N deletes in M minutes"
        DENIED = "denied", "More than N denied attempts by one user in M minutes"

    class Outcome(models.TextChoices):
        ANY = "", "Any outcome"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    condition = models.CharField(max_length=10, choices=Condition, default=Condition.EVERY)
    action_pattern = models.CharField(
        max_length=200, blank=True, help_text="actions, * and ? as wildcards, comma-separated; empty: any"
    )
    outcome = models.CharField(max_length=8, choices=Outcome, blank=True, default=Outcome.ANY)
    endpoint = models.ForeignKey(Endpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    bucket = models.CharField(max_length=63, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    threshold = models.PositiveIntegerField(default=0, help_text="N")
    window_minutes = models.PositiveIntegerField(default=0, help_text="M")
    destinations = models.ManyToManyField(Destination, related_name="rules", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(Counted):
    """A rule that fired on an audit event."""

    counted_as = "alerts"  # console.generations: the dashboard's alert panel is kept under it

    # No database constraints to rules and destinations: the hook works from rules a process keeps for a
    # few seconds, and one deleted meanwhile must not fail the commit of the change that fired it.
    rule = models.ForeignKey(
        AlertRule, null=True, on_delete=models.SET_NULL, related_name="alerts", db_constraint=False
    )
    rule_name = models.CharField(max_length=100)
    event_id = models.BigIntegerField(help_text="the audit event that fired it")
    group = models.CharField(max_length=200, blank=True, help_text="what a counting rule counted (a user)")
    title = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rule", "group", "created_at"], name="alert_rule_group_time")]

    def __str__(self) -> str:
        return self.title


class Delivery(Counted):
    """One alert to one destination: tried by a task, retried with backoff, then a dead letter."""

    counted_as = "alerts"  # the dashboard marks an alert whose delivery is dead

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["alert", "destination"], name="delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.destination_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """The delivery log: each try, with the receiver's answer."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id} at {self.at:%H:%M:%S}"
