"""Drift: what changed in a bucket's settings that the console did not change.

A pass reads every bucket's settings (the bucket page's readers, plus replication and event
notifications), in threads and without touching the database, then settles what it read against the
last snapshot under one lease per endpoint (``buckets.locks``): two passes at once (two schedulers, the
command and a "Check now") settle one after the other, and the second compares with what the first
saved, so each change is recorded once.

A difference is the console's own when the audit events of the console on that setting since the last
check lead from the snapshot to the value now read: each event's before is what the one before left
(or the snapshot), and the last one's after is the value read (an event that keeps only part of the
setting, a lifecycle rule's, cannot be compared and explains the rest). A console save under way (its
lease held) is left for the next pass. Every link no event explains — someone changed the setting
before, between or after the console's changes — becomes ``bucket.<setting>.external`` (actor
"outside the console", source "drift check") with before/after.
A bucket's first snapshot, and a setting read for the first time, only record the state. What cannot
be read (endpoint down, access denied, not supported) is kept as "could not check", never as a change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from buckets import locks, s3
from buckets.models import ResourceLock
from buckets.services.sections import describe_changes, remember_unsupported
from console import audit
from console.models import AuditEvent, Endpoint
from watch.models import BucketSnapshot, DriftRun, EndpointWatch
from watch.services.drift_reads import BY_NAME, SETTINGS, TITLES, BucketRead, read_buckets, unlisted_but_there

log = logging.getLogger(__name__)

OUTSIDE = audit.Actor(user_id=None, username="outside the console", role="")
SOURCE = "drift check"
EXTERNAL = ".external"
SETTLE_BATCH = 500
SETTLE_WAIT = 300.0  # seconds a pass waits for another pass of the same endpoint to settle
SETTLE_LEASE = 600.0
MAX_UNCHECKED_KEPT = 100


@dataclass
class PassResult:
    run: DriftRun
    events: list[AuditEvent] = field(default_factory=list)


# --- a pass ----------------------------------------------------------------------------------------
def drift_check(
    *, endpoints: Iterable[Endpoint] | None = None, bucket: str = "", trigger: str = "schedule"
) -> PassResult:
    """One pass over the endpoints (all by default), or over one bucket of them."""
    endpoints = list(endpoints) if endpoints is not None else list(Endpoint.objects.all())
    scope = ", ".join(e.name for e in endpoints)[:150] + (f" / {bucket}" if bucket else "")
    run = DriftRun.objects.create(trigger=trigger, scope=scope)
    result = PassResult(run)
    for endpoint in endpoints:
        try:
            _check_endpoint(endpoint, bucket, result)
        except s3.S3Error as exc:
            _could_not_check(result, endpoint.name, exc.user_message)
            EndpointWatch.objects.filter(endpoint=endpoint).update(
                last_error=exc.user_message[:500], last_error_at=timezone.now()
            )
        except locks.Busy:
            _could_not_check(result, endpoint.name, "another drift check of this endpoint did not finish in time")
    run.finished_at = timezone.now()
    run.changes = len(result.events)
    run.save(update_fields=["finished_at", "changes", "buckets_checked", "unchecked"])
    return result


def _could_not_check(result: PassResult, what: str, reason: str) -> None:
    if len(result.run.unchecked) < MAX_UNCHECKED_KEPT:
        result.run.unchecked.append([what, reason])


def _check_endpoint(endpoint: Endpoint, bucket: str, result: PassResult) -> None:
    started = timezone.now()
    listed = None if bucket else [b["name"] for b in s3.list_buckets(endpoint=endpoint)]
    names = [bucket] if bucket else listed
    reads = read_buckets(endpoint, names)
    unlisted = unlisted_but_there(endpoint, listed) if listed is not None else {}
    for read in reads.values():
        for feature, exc in read.unsupported:
            remember_unsupported(endpoint, feature, exc)
    # A "Check now" waits for another pass of the endpoint as long as a save waits; a background pass longer.
    wait = settings.LOCK_WAIT_SECONDS if result.run.trigger == "button" else SETTLE_WAIT
    with locks.held(endpoint.pk, "", "", "drift-check", wait=wait, lease=SETTLE_LEASE):
        watch = EndpointWatch.objects.filter(endpoint=endpoint).first()
        watched_since = watch.first_checked_at if watch else None
        settle = _Settle(endpoint, started, watched_since, result)
        if bucket:
            settle.buckets({bucket: reads[bucket]})
        else:
            settle.buckets(reads, vanished=True, still_there=set(unlisted))
        if watch is None and not bucket:
            EndpointWatch.objects.get_or_create(endpoint=endpoint, defaults={"first_checked_at": started})
        EndpointWatch.objects.filter(endpoint=endpoint).update(last_checked_at=started, last_error="")
    for name, reason in unlisted.items():
        _could_not_check(result, f"{endpoint.name}/{name}", reason)
    result.run.buckets_checked += len([r for r in reads.values() if not r.gone])
    for name, read in reads.items():
        if read.unchecked and len(read.unchecked) == len(SETTINGS):
            _could_not_check(result, f"{endpoint.name}/{name}", next(iter(read.unchecked.values())))


class _Settle:
    """Compare what a pass read with the snapshots, under the endpoint's lease; record and save."""

    def __init__(self, endpoint: Endpoint, started: datetime, watched_since: datetime | None, result: PassResult):
        self.endpoint, self.started, self.watched_since, self.result = endpoint, started, watched_since, result

    def buckets(self, reads: dict[str, BucketRead], *, vanished: bool = False, still_there: set = frozenset()) -> None:
        """``vanished``: a snapshot without a read is of a deleted bucket, unless it is ``still_there``."""
        snapshots = {s.bucket: s for s in BucketSnapshot.objects.filter(endpoint=self.endpoint)}
        if not vanished:
            snapshots = {name: snapshots[name] for name in reads if name in snapshots}
        snapshots = {name: snap for name, snap in snapshots.items() if name in reads or name not in still_there}
        names = sorted(set(reads) | (set(snapshots) if vanished else set()))
        for start in range(0, len(names), SETTLE_BATCH):
            self._batch(names[start : start + SETTLE_BATCH], reads, snapshots)

    def _batch(self, names: list[str], reads: dict[str, BucketRead], snapshots: dict[str, BucketSnapshot]) -> None:
        known = [n for n in names if n in snapshots]
        since = min([snapshots[n].checked_at for n in known] or [self.started])
        console = ConsoleEvents(self.endpoint, known, since)
        new = [n for n in names if n not in snapshots]
        if new and self.watched_since is not None:  # created by the console since the endpoint is watched?
            console.add(ConsoleEvents(self.endpoint, new, self.watched_since))
        quiet: list[BucketSnapshot] = []
        for name in names:
            snap, read = snapshots.get(name), reads.get(name)
            if read is None or read.gone:
                if snap is not None:
                    self._deleted(snap, console)
                continue
            if snap is None:
                self._first(name, read, console)
                continue
            if snap.checked_at > self.started:
                continue  # another pass read it after this one began: its snapshot is newer
            if not self._compare(snap, read, console):
                quiet.append(snap)
        BucketSnapshot.objects.bulk_update(quiet, ["state", "unchecked", "checked_at"], batch_size=SETTLE_BATCH)

    def _record(self, action: str, bucket: str, before: Any, after: Any, **params) -> None:
        event = audit.record(
            OUTSIDE, action, outcome="ok", endpoint=self.endpoint, bucket=bucket, before=before, after=after,
            params={"source": SOURCE, "drift_run": self.result.run.pk, **params},
        )  # fmt: skip
        self.result.events.append(event)

    def _first(self, name: str, read: BucketRead, console: ConsoleEvents) -> None:
        created_outside = self.watched_since is not None and not console.created(name)
        with transaction.atomic():
            BucketSnapshot.objects.create(
                endpoint=self.endpoint, bucket=name, state=read.state, unchecked=read.unchecked,
                first_checked_at=self.started, checked_at=self.started,
                changed_outside_at=self.started if created_outside else None,
            )  # fmt: skip
            if created_outside:
                self._record("bucket.create.external", name, None, read.state)

    def _deleted(self, snap: BucketSnapshot, console: ConsoleEvents) -> None:
        with transaction.atomic():
            if not console.deleted(snap.bucket):
                self._record("bucket.delete.external", snap.bucket, snap.state, None)
            snap.delete()

    def _compare(self, snap: BucketSnapshot, read: BucketRead, console: ConsoleEvents) -> bool:
        """Update the snapshot from the read; True when it recorded external changes (and saved it)."""
        changed: list[tuple[str, Any, Any]] = []
        looked_at = [  # what differs, or what the console changed (and maybe someone else, then back)
            n for n, v in read.state.items() if n in snap.state and (snap.state[n] != v or console.touched(snap, n))
        ]
        saving = console.saving(snap.bucket, looked_at)
        unchecked = dict(read.unchecked)
        for name, value in read.state.items():
            if name not in snap.state:
                snap.state[name] = value  # read for the first time: its baseline
                continue
            if name not in looked_at:
                continue
            if name in saving:
                unchecked[name] = "a console change of it was being saved"
                continue
            changed += [(name, before, after) for before, after in console.outside(snap, name, value)]
            snap.state[name] = value
        snap.unchecked, snap.checked_at = unchecked, self.started
        if not changed:
            return False
        with transaction.atomic():
            for name, before, after in changed:
                self._record(f"bucket.{name}{EXTERNAL}", snap.bucket, before, after, setting=TITLES[name])
            snap.changed_outside_at = self.started
            snap.save(update_fields=["state", "unchecked", "checked_at", "changed_outside_at"])
        return True


_LOST = object()  # where a chain of console events cannot be followed


class ConsoleEvents:
    """The console's own audit events on a batch of buckets since a time (one query)."""

    def __init__(self, endpoint: Endpoint, names: list[str], since: datetime):
        self.endpoint = endpoint
        self.made: set[tuple[str, str]] = set()  # (bucket, "create" / "delete")
        self.changes: dict[tuple[str, str], list[AuditEvent]] = {}  # (bucket, setting): oldest first
        if not names:
            return
        events = (
            AuditEvent.objects.filter(
                endpoint_id=endpoint.pk, bucket__in=names, created_at__gte=since, action__startswith="bucket.",
                outcome=AuditEvent.Outcome.OK, key="",
            )
            .exclude(action__endswith=EXTERNAL)
            .only("action", "bucket", "before", "after", "created_at")
            .order_by("created_at", "id")
        )  # fmt: skip
        for event in events:
            parts = event.action.split(".")
            if event.action in ("bucket.create", "bucket.delete"):
                self.made.add((event.bucket, parts[1]))
            elif len(parts) == 3 and parts[1] in BY_NAME:
                self.changes.setdefault((event.bucket, parts[1]), []).append(event)

    def add(self, other: ConsoleEvents) -> None:
        self.made |= other.made
        for where, events in other.changes.items():
            self.changes.setdefault(where, []).extend(events)

    def created(self, bucket: str) -> bool:
        return (bucket, "create") in self.made

    def deleted(self, bucket: str) -> bool:
        return (bucket, "delete") in self.made

    def _since(self, bucket: str, name: str, since: datetime) -> list[AuditEvent]:
        return [e for e in self.changes.get((bucket, name), ()) if e.created_at >= since]

    def touched(self, snap: BucketSnapshot, name: str) -> bool:
        return bool(self._since(snap.bucket, name, snap.checked_at))

    def outside(self, snap: BucketSnapshot, name: str, value: Any) -> list[tuple[Any, Any]]:
        """(before, after) of each change outside the console from the snapshot to ``value``: the links of
        the chain snapshot → each console event's before … its after → the value read that no event explains
        (someone changed it before, between or after the console's changes)."""
        changes: list[tuple[Any, Any]] = []
        previous = snap.state[name]
        for n, event in enumerate(self._since(snap.bucket, name, snap.checked_at)):
            if not (_comparable(event.before, value) and _comparable(event.after, value)):
                previous = _LOST  # an event that keeps only part of the setting (one lifecycle rule)
                continue
            # The first console change may have landed while the last check read this bucket (its after is
            # what the snapshot holds): no link to check before it.
            reflected = n == 0 and previous == event.after
            if previous is not _LOST and previous != event.before and not reflected:
                changes.append((previous, event.before))
            previous = event.after
        if previous is not _LOST and previous != value:
            changes.append((previous, value))
        return changes

    def saving(self, bucket: str, names: list[str]) -> set[str]:
        """The settings among ``names`` whose console save is under way (its lease is held)."""
        if not names:
            return set()
        wanted = {locks.lock_name(self.endpoint.pk, bucket, "", BY_NAME[n].feature): n for n in names}
        held = ResourceLock.objects.filter(name__in=wanted, expires_at__gt=timezone.now())
        return {wanted[h] for h in held.values_list("name", flat=True)}


def _comparable(recorded: Any, value: Any) -> bool:
    """Whether an event's ``after`` holds the whole setting (a lifecycle rule's event holds one rule)."""
    if isinstance(value, list):
        return isinstance(recorded, list)
    return recorded is None or value is None or type(recorded) is type(value)


# --- what the bucket page and the dashboard show -------------------------------------------------
def bucket_drift(*, endpoint: Endpoint, bucket: str, limit: int = 10) -> dict:
    """{snapshot, changes}: the last check of the bucket and the changes seen outside the console."""
    snapshot = BucketSnapshot.objects.filter(endpoint=endpoint, bucket=bucket).first()
    changes = list(
        AuditEvent.objects.filter(endpoint_id=endpoint.pk, bucket=bucket, actor_name=OUTSIDE.username)
        .filter(action__endswith=EXTERNAL)
        .order_by("-created_at", "-id")[:limit]
    )
    for event in changes:
        event.title = TITLES.get(event.action.split(".")[1], event.action)
        lines = [] if event.before is None or event.after is None else describe_changes(event.before, event.after)
        event.summary = "; ".join(lines[:2]) + ("; …" if len(lines) > 2 else "")
    unchecked = sorted((TITLES.get(n, n), why) for n, why in (snapshot.unchecked if snapshot else {}).items())
    return {"snapshot": snapshot, "changes": changes, "unchecked": unchecked}
