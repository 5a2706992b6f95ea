"""Walk the audit hash chain and report the first broken link."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from console import audit_chain
from console.models import AuditCheckpoint, AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (from the last archive checkpoint). Exits non-zero when broken."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000, help="events read per database round trip")

    def handle(self, *args, chunk_size: int, **options):
        checkpoint = AuditCheckpoint.objects.order_by("-seq").first()
        start_seq, start_hash = (checkpoint.seq, checkpoint.hash) if checkpoint else (0, audit_chain.GENESIS_HASH)
        if checkpoint:
            self.stdout.write(f"Starting after archive checkpoint seq {checkpoint.seq} ({checkpoint.location}).")
        events = audit_chain.iter_chain(AuditEvent.objects.all(), chunk_size=chunk_size)
        result = audit_chain.verify(events, start_seq=start_seq, start_hash=start_hash)
        if result.broken:
            raise CommandError(
                f"BROKEN at {result.broken} — {result.count} event(s) before it verified (up to seq {result.last_seq})."
            )
        span = f" (seq {result.first_seq}-{result.last_seq})" if result.count else ""
        self.stdout.write(f"OK: {result.count} events verified{span}. Head hash: {result.head_hash}")
