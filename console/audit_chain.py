"""Tamper evidence for the audit trail: a hash chain over the events.

Each event carries ``seq`` (its position in the chain), ``prev_hash`` (the hash of the
event before it) and ``hash`` = sha256 of a canonical JSON of all its content plus
``prev_hash``. Editing an event breaks its own hash; deleting one leaves a gap in
``seq`` and a ``prev_hash`` that no longer matches; inserting one needs a forged hash
(or re-hashing everything after it, which the ``id`` order then betrays).

The database ``id`` is not hashed: it is assigned by the database at insert time,
after the hash is computed. ``seq`` is the order that counts.

Archiving cuts the chain: the cut is stored as an :class:`AuditCheckpoint` (the last
archived seq and hash) and verification continues from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

GENESIS_HASH = "0" * 64
# An arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
ADVISORY_LOCK_ID = 0x5C0A_0D17

# Every hashed field, in the order exports list them. ``id`` is deliberately absent (see above).
CONTENT_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "role",
    "client_ip",
    "endpoint_id",
    "endpoint_name",
    "bucket",
    "key",
    "version_id",
    "action",
    "params",
    "before",
    "after",
    "outcome",
    "error_code",
    "error_message",
    "request_id",
    "prev_hash",
)


def lock_chain() -> None:
    """Serialize chain writers; call inside ``transaction.atomic()``.

    PostgreSQL: a transaction-level advisory lock, released at commit. SQLite: the
    transaction itself is ``BEGIN IMMEDIATE`` (settings), which already holds the
    database's single write lock before anything is read.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])


def normalize_json(value: Any) -> Any:
    """The value as the database gives it back: JSON round trip, integral floats as ints.

    PostgreSQL's jsonb returns ``1e20`` as an integer; normalizing before both storing
    and hashing makes the hash independent of the backend.
    """
    if value is None:
        return None
    return _ints(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def content_of(event) -> dict:
    """The hashed content of an event (a model instance or anything with the same attributes)."""
    data = {name: getattr(event, name) for name in CONTENT_FIELDS}
    data["created_at"] = format_time(event.created_at)
    for name in ("params", "before", "after"):
        data[name] = _ints(data[name])
    return data


def compute_hash(event) -> str:
    return hashlib.sha256(canonical(content_of(event)).encode("utf-8")).hexdigest()


def export_record(event) -> dict:
    """One event as exported and archived: its content, its id and its hash (verifiable offline)."""
    return {"id": event.pk, **content_of(event), "hash": event.hash}


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the last event, or of the last archive checkpoint when no event is left."""
    from console.models import AuditCheckpoint, AuditEvent

    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if last is not None:
        return last
    checkpoint = AuditCheckpoint.objects.order_by("-seq").values_list("seq", "hash").first()
    return checkpoint if checkpoint is not None else (0, GENESIS_HASH)


@dataclass
class Break:
    """The first broken link of the chain."""

    seq: int
    id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" + (f" (id {self.id})" if self.id is not None else "")
        return f"{where}: {self.problem}"


@dataclass
class Result:
    count: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    broken: Break | None = None


def verify(events: Iterable, *, start_seq: int = 0, start_hash: str = GENESIS_HASH) -> Result:
    """Walk events in seq order; stop at the first broken link.

    ``start_seq``/``start_hash`` are the position before the first event: the genesis
    (0, zeros) or an archive checkpoint.
    """
    expected_seq, expected_prev, prev_id = start_seq + 1, start_hash, None
    count, first_seq = 0, None
    try:
        for event in events:
            problem = _check(event, expected_seq, expected_prev, prev_id)
            if problem:
                return Result(count, first_seq, expected_seq - 1, expected_prev, Break(event.seq, event.pk, problem))
            count += 1
            first_seq = event.seq if first_seq is None else first_seq
            expected_seq, expected_prev, prev_id = event.seq + 1, event.hash, event.pk
    finally:
        # Stopping early must release a server-side cursor now, not at garbage collection.
        if hasattr(events, "close"):
            events.close()
    return Result(count, first_seq, expected_seq - 1, expected_prev)


def _check(event, expected_seq: int, expected_prev: str, prev_id: int | None) -> str:
    if compute_hash(event) != event.hash:
        return "content edited: the stored hash does not match the event's content (changed or forged)"
    if event.seq > expected_seq:
        missing = f"seq {expected_seq}" if event.seq == expected_seq + 1 else f"seq {expected_seq}-{event.seq - 1}"
        return f"event missing: {missing} absent (gap in the chain)"
    if event.seq < expected_seq:
        return f"inserted out of order: seq {event.seq} lies before the chain position {expected_seq}"
    if event.prev_hash != expected_prev:
        return "event missing or replaced: prev_hash does not match the hash of the event before it"
    if prev_id is not None and event.pk is not None and event.pk < prev_id:
        return f"inserted out of order: id {event.pk} is lower than the previous event's id {prev_id}"
    return ""


def iter_chain(queryset, chunk_size: int = 2000) -> Iterator:
    """Events in chain order, read in chunks (never the whole table in memory)."""
    return queryset.order_by("seq").iterator(chunk_size=chunk_size)
