from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from console import crypto
from console.generations import Counted


class Role(models.TextChoices):
    """Ordered: each role can do what the ones before it can."""

    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.value]

    @property
    def can_read(self) -> bool:
        return True

    @property
    def can_write(self) -> bool:
        return self.rank >= ROLE_RANK["operator"]

    @property
    def can_admin(self) -> bool:
        return self.rank >= ROLE_RANK["admin"]


ROLE_RANK = {"viewer": 1, "operator": 2, "admin": 3}


class Endpoint(Counted):
    class Addressing(models.TextChoices):
        AUTO = "auto", "Automatic"
        PATH = "path", "Path style (https://host/bucket/key)"
        VIRTUAL = "virtual", "Virtual-hosted (https://bucket.host/key)"

    class CredentialSource(models.TextChoices):
        DEFAULT = "default", "Default boto3 chain (environment, ~/.aws, instance role)"
        PROFILE = "profile", "Named profile from ~/.aws/credentials or ~/.aws/config"
        KEYS = "keys", "Access key pair stored (encrypted) in the console"

    counted_as = "endpoints"  # console.generations: pages kept under it are built again after a change

    name = models.SlugField(max_length=64, unique=True, help_text="Short name, e.g. 'prod-aws' or 'local'.")
    url = models.URLField(
        "endpoint URL", blank=True, help_text="Leave empty for Amazon S3; e.g. https://minio.example.com:9000"
    )
    region = models.CharField(max_length=64, blank=True, default="us-east-1")
    addressing_style = models.CharField(max_length=16, choices=Addressing, default=Addressing.AUTO)
    verify_tls = models.BooleanField("verify TLS certificates", default=True)
    credential_source = models.CharField(max_length=16, choices=CredentialSource, default=CredentialSource.DEFAULT)
    profile = models.CharField(max_length=128, blank=True)
    access_key_id = models.CharField(max_length=128, blank=True)
    secret_access_key_encrypted = models.TextField(blank=True, editable=False)
    storage_classes = models.CharField(
        max_length=300,
        blank=True,
        help_text="Storage classes this endpoint accepts, comma-separated (e.g. STANDARD,GLACIER); empty: all of S3's.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What an admin edits (the form's fields; what an edit made meanwhile is compared on).
    EDITED = ("name", "url", "region", "addressing_style", "verify_tls", "credential_source", "profile",
              "access_key_id", "storage_classes")  # fmt: skip

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_url(self) -> str:
        return self.url or "Amazon S3"

    @property
    def accepted_storage_classes(self) -> list[str]:
        return [name.strip() for name in self.storage_classes.split(",") if name.strip()]

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_access_key_encrypted)

    def set_secret_access_key(self, secret: str) -> None:
        self.secret_access_key_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret_access_key(self) -> str:
        return crypto.decrypt(self.secret_access_key_encrypted) if self.secret_access_key_encrypted else ""


class RoleAssignment(models.Model):
    """A role for a user or a group on a scope: everything, an endpoint, a bucket, or a prefix."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments"
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=16, choices=Role)
    endpoint = models.ForeignKey(Endpoint, null=True, blank=True, on_delete=models.CASCADE)
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, group__isnull=True) | models.Q(user__isnull=True, group__isnull=False)
                ),
                name="role_assignment_user_xor_group",
            ),
            models.CheckConstraint(
                condition=models.Q(bucket="") | models.Q(endpoint__isnull=False),
                name="role_assignment_bucket_needs_endpoint",
            ),
            models.CheckConstraint(
                condition=models.Q(prefix="") | ~models.Q(bucket=""),
                name="role_assignment_prefix_needs_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} on {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.endpoint_id is None:
            return "everything"
        label = self.endpoint.name
        if self.bucket:
            label += f" / {self.bucket}"
        if self.prefix:
            label += f" / {self.prefix}*"
        return label


class AppendOnly:
    """A model whose rows are written once, then never changed nor deleted (the audit trail)."""

    append_only = "These records are append-only."

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(self.append_only)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(self.append_only)


class AuditEvent(AppendOnly, Counted):
    """One change the console made or tried, or one denied attempt. Append-only and hash-chained.

    Written only by ``console.audit.record`` (which fills ``seq``, ``prev_hash`` and ``hash``,
    see ``console.audit_chain``). The user and endpoint are kept by id without a database
    constraint and without ``SET_NULL``: deleting a user or an endpoint must not rewrite
    (and so break the hash of) the events that name them; ``actor_name``/``endpoint_name``
    keep the names.
    """

    append_only = "Audit events are append-only."
    counted_as = "audit"  # console.generations: the audit page and the dashboard are kept under it

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"

    seq = models.BigIntegerField(unique=True, help_text="position in the hash chain")
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    endpoint_name = models.CharField(max_length=64, blank=True)
    bucket = models.CharField(max_length=63, blank=True)
    key = models.CharField(max_length=1024, blank=True)
    version_id = models.CharField(max_length=1024, blank=True)
    action = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    outcome = models.CharField(max_length=8, choices=Outcome)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    request_id = models.CharField(max_length=256, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every audit query orders by (created_at, id) descending and pages by keyset on it, so
        # each index ends in (created_at, id): after its equality columns the rows come out
        # already in page order and a page reads ~50 index entries, however many rows match.
        # - audit_time: no filter, date range only, and the fallback scan for common filters.
        # - audit_actor_time / audit_outcome_time: the actor and outcome filters, the dashboard.
        # - audit_scope_time: bucket (+ endpoint) filter and bucket history.
        # - audit_scope_key: object history (exact key) and key-prefix filter; the key uses
        #   varchar_pattern_ops on PostgreSQL so LIKE 'prefix%' is an index range in any
        #   collation (bucket + key stay under btree's ~2.7 kB entry limit: keys are <= 1 kB).
        # - audit_action_time: the action prefix filter ("bucket." ), same pattern_ops reason;
        #   for a common prefix the planner walks audit_time instead and filters.
        # The opclasses apply on PostgreSQL only; other databases ignore them.
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_time"),
            models.Index(fields=["actor_name", "created_at", "id"], name="audit_actor_time"),
            models.Index(fields=["outcome", "created_at", "id"], name="audit_outcome_time"),
            models.Index(fields=["bucket", "endpoint", "created_at", "id"], name="audit_scope_time"),
            models.Index(
                fields=["bucket", "endpoint", "key", "created_at", "id"],
                opclasses=["varchar_ops", "int8_ops", "varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                name="audit_scope_key",
            ),
            models.Index(
                fields=["action", "created_at", "id"],
                opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
                name="audit_action_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.outcome}"


class AuditCheckpoint(AppendOnly, models.Model):
    """Where the chain was cut by an archive: events up to ``seq`` now live in ``location``.

    Verification of what is left starts from the newest checkpoint's ``seq`` and ``hash``.
    """

    append_only = "Audit checkpoints are append-only."

    seq = models.BigIntegerField(unique=True, help_text="last archived event's seq")
    hash = models.CharField(max_length=64, help_text="last archived event's hash")
    first_seq = models.BigIntegerField()
    event_count = models.BigIntegerField()
    before = models.DateTimeField(help_text="events created before this were archived")
    location = models.CharField(max_length=1024, help_text="bucket and key of the JSON Lines file")
    content_sha256 = models.CharField(max_length=64, help_text="sha256 of the archived file as read back")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"archive of seq {self.first_seq}-{self.seq} at {self.location}"


class Profile(models.Model):
    """Per-user console settings that Django's user model has no field for."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_profile")
    otp_required = models.BooleanField(
        "two-factor required", default=False, help_text="The user must enrol a TOTP authenticator to use the console."
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @classmethod
    def for_user(cls, user) -> Profile:
        profile, _ = cls.objects.get_or_create(user=user)
        return profile


# --- single sign-on: identities and directory groups (console.sso) -------------------------


class DirectorySource(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    LDAP = "ldap", "LDAP / Active Directory"


class DirectoryGroupMapping(models.Model):
    """A group of the identity provider or directory whose members get a console group at sign-in.

    The console group carries the role assignments, so a directory group gets exactly the roles
    its console group has. For OpenID Connect ``directory_group`` is a value of the groups claim;
    for LDAP the group's name (cn) or its whole DN, compared without regard to case.
    """

    source = models.CharField(max_length=8, choices=DirectorySource)
    directory_group = models.CharField(max_length=512)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="directory_mappings")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "directory_group", "group__name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "directory_group", "group"], name="directory_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.directory_group} → {self.group.name}"


class ExternalIdentity(models.Model):
    """Who a console user is at a provider: matched by the provider's subject, never by e-mail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    source = models.CharField(max_length=8, choices=DirectorySource)
    issuer = models.CharField(max_length=512, blank=True, help_text="OpenID issuer; empty for LDAP")
    subject = models.CharField(max_length=512, help_text="OpenID `sub`, or the LDAP user name")
    directory_groups = models.JSONField(default=list, blank=True, help_text="groups named at the last sign-in")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "issuer", "subject"], name="external_identity_unique")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.subject}"


class DirectoryMembership(models.Model):
    """A console group membership that a sign-in gave (and the next sign-in may take away).

    ``was_local``: the user was already a member before the directory named the group; the
    directory then never removes that membership.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="directory_memberships")
    source = models.CharField(max_length=8, choices=DirectorySource)
    directory_groups = models.JSONField(default=list, help_text="the directory groups that map to the group")
    was_local = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group", "source"], name="directory_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} from {', '.join(self.directory_groups)}"


class WorkerHeartbeat(models.Model):
    """One row per running task worker (manage.py console_worker), touched every few seconds.

    django-tasks-db records no heartbeat of its own (only the worker id on a task it claimed), so
    /healthz could not tell an idle worker from a dead one. The row goes when the worker stops;
    one left by a killed worker just grows stale and is removed a day later.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"


class ScheduledRun(models.Model):
    """One interval of one periodic task, claimed by the scheduler process that enqueued it."""

    name = models.CharField(max_length=100)
    slot = models.BigIntegerField(help_text="the interval's number since the epoch")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_once")]

    def __str__(self) -> str:
        return f"{self.name} #{self.slot}"


class Generation(models.Model):
    """A counter raised after every committed change of one kind of record (``console.generations``)."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} #{self.value}"
