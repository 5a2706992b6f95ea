"""Move audit events older than a date to S3 as JSON Lines, keeping the chain verifiable.

Order of work, so nothing is lost: verify the events to archive, write them to a local
temporary file (hashing it), upload it through django-storages, read it back and compare
count and sha256, and only then — in one transaction holding the chain lock — store an
``AuditCheckpoint`` (last archived seq and hash) and delete the events locally.
"""

from __future__ import annotations

import hashlib
import posixpath
import tempfile
from datetime import datetime, time

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from storages.backends.s3 import S3Storage

from console import audit, audit_chain
from console.models import AuditCheckpoint, AuditEvent, Endpoint

READ_BACK_CHUNK = 1024 * 1024


def parse_cutoff(value: str) -> datetime:
    """A date (midnight, in TIME_ZONE) or an ISO date-time."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--before must be a date (YYYY-MM-DD) or an ISO date-time, not {value!r}.")
        moment = datetime.combine(day, time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def archive_storage() -> S3Storage:
    """The archive bucket through the console endpoint named in AUDIT_ARCHIVE_ENDPOINT.

    django-storages runs boto3 itself (the one exception to "only buckets/s3.py talks to
    S3"); its options are built from the endpoint's URL, credentials and region.
    """
    if not settings.AUDIT_ARCHIVE_BUCKET:
        raise CommandError("Set AUDIT_ARCHIVE_BUCKET (and AUDIT_ARCHIVE_ENDPOINT) to archive the audit trail.")
    options = {
        "bucket_name": settings.AUDIT_ARCHIVE_BUCKET,
        "location": settings.AUDIT_ARCHIVE_PREFIX.strip("/"),
        "file_overwrite": False,
        "default_acl": None,
        "max_memory_size": 8 * 1024 * 1024,  # reading back spills to disk beyond this
        "object_parameters": {"ContentType": "application/jsonl"},
    }
    if settings.AUDIT_ARCHIVE_ENDPOINT:
        name = settings.AUDIT_ARCHIVE_ENDPOINT
        try:
            endpoint = Endpoint.objects.get(name=name)
        except Endpoint.DoesNotExist:
            raise CommandError(f"AUDIT_ARCHIVE_ENDPOINT: no endpoint named {name!r}.") from None
        options.update(
            endpoint_url=endpoint.url or None,
            region_name=endpoint.region or None,
            verify=endpoint.verify_tls,
            addressing_style=None if endpoint.addressing_style == "auto" else endpoint.addressing_style,
        )
        if endpoint.credential_source == Endpoint.CredentialSource.KEYS:
            options.update(access_key=endpoint.access_key_id, secret_key=endpoint.get_secret_access_key())
        elif endpoint.credential_source == Endpoint.CredentialSource.PROFILE:
            options.update(session_profile=endpoint.profile, access_key=None, secret_key=None)
    return S3Storage(**options)


class Command(BaseCommand):
    help = "Archive audit events created before --before to S3 (JSON Lines), then delete them locally."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="date (YYYY-MM-DD) or ISO date-time")
        parser.add_argument("--dry-run", action="store_true", help="count and verify only")

    def handle(self, *args, before: str, dry_run: bool, **options):
        cutoff = parse_cutoff(before)
        checkpoint = AuditCheckpoint.objects.order_by("-seq").first()
        start_seq, start_hash = (checkpoint.seq, checkpoint.hash) if checkpoint else (0, audit_chain.GENESIS_HASH)
        # Only a prefix of the chain can be cut: stop at the first event not older than the cutoff.
        first_kept = (
            AuditEvent.objects.filter(created_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
        )
        span = AuditEvent.objects.all() if first_kept is None else AuditEvent.objects.filter(seq__lt=first_kept)
        check = audit_chain.verify(audit_chain.iter_chain(span), start_seq=start_seq, start_hash=start_hash)
        if check.broken:
            raise CommandError(f"The chain is broken at {check.broken}; nothing archived. Run audit_verify.")
        if not check.count:
            self.stdout.write(f"Nothing to archive: no events before {cutoff.isoformat()}.")
            return
        span_text = f"{check.count} events (seq {check.first_seq}-{check.last_seq})"
        if dry_run:
            self.stdout.write(f"Would archive {span_text}, all verified.")
            return
        storage = archive_storage()
        name, digest = self._upload(storage, span, check)
        location = f"s3://{settings.AUDIT_ARCHIVE_BUCKET}/{posixpath.join(storage.location, name)}"
        with transaction.atomic():
            audit_chain.lock_chain()
            AuditCheckpoint.objects.create(
                seq=check.last_seq,
                hash=check.head_hash,
                first_seq=check.first_seq,
                event_count=check.count,
                before=cutoff,
                location=location,
                content_sha256=digest,
            )
            span.filter(seq__lte=check.last_seq).delete()
        audit.record(
            audit.Actor(user_id=None, username="system:audit_archive"),
            "audit.archive",
            outcome="ok",
            params={
                "before": cutoff.isoformat(),
                "count": check.count,
                "first_seq": check.first_seq,
                "last_seq": check.last_seq,
                "location": location,
                "sha256": digest,
            },
        )
        self.stdout.write(f"Archived {span_text} to {location} (sha256 {digest}); deleted them locally.")

    def _upload(self, storage: S3Storage, span, check: audit_chain.Result) -> tuple[str, str]:
        """Write, upload, read back; return the stored name and the verified sha256."""
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        name = f"audit-{check.first_seq:012d}-{check.last_seq:012d}-{stamp}.jsonl"
        written, count = hashlib.sha256(), 0
        with tempfile.TemporaryFile() as tmp:
            for event in audit_chain.iter_chain(span.filter(seq__lte=check.last_seq)):
                line = (audit_chain.canonical(audit_chain.export_record(event)) + "\n").encode("utf-8")
                written.update(line)
                tmp.write(line)
                count += 1
            tmp.seek(0)
            name = storage.save(name, File(tmp, name=name))
        if count != check.count:
            raise CommandError(f"Events changed while archiving ({count} written, {check.count} verified).")
        read, lines = hashlib.sha256(), 0
        with storage.open(name, "rb") as stored:
            while chunk := stored.read(READ_BACK_CHUNK):
                read.update(chunk)
                lines += chunk.count(b"\n")
        if lines != count or read.hexdigest() != written.hexdigest():
            raise CommandError(
                f"The archive read back from S3 differs ({lines} lines, sha256 {read.hexdigest()}; "
                f"expected {count}, {written.hexdigest()}). Nothing deleted."
            )
        return name, written.hexdigest()
