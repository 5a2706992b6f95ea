"""Leases on S3 resources, so that two saves of the same thing run one after the other.

``with held("endpoint", "bucket", "key", "metadata"):`` waits (up to ``LOCK_WAIT_SECONDS``) until
no other process holds the lease, takes it, and gives it back at the end. A holder that dies leaves
a lease that expires after ``LOCK_LEASE_SECONDS``; a living one renews it. Works alike on SQLite and
PostgreSQL, across processes and hosts sharing the database: each step is one short statement.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from buckets.models import ResourceLock

# The lease of one object, whatever the change: the metadata and storage-class saves both copy the object
# onto itself with the whole head they read (and put back the ACL they read), so every change of an
# object (its sections, a version restored, a bulk job's step) takes this one, not one per section.
OBJECT = "object"


class Busy(Exception):
    """Someone else's save of the same resource did not finish in time."""


def lock_name(*parts: object) -> str:
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()


def _take(name: str, owner: str, lease: float) -> bool:
    now = timezone.now()
    expires = now + timedelta(seconds=lease)
    try:
        with transaction.atomic():
            ResourceLock.objects.create(name=name, owner=owner, expires_at=expires)
        return True
    except IntegrityError:
        # Taken: steal it only if its holder let it expire, or if it was ours (a job's earlier run, lost).
        free = Q(expires_at__lt=now) | Q(owner=owner)
        return bool(ResourceLock.objects.filter(free, name=name).update(owner=owner, expires_at=expires))


@contextmanager
def held(*parts: object, wait: float | None = None, lease: float | None = None, owner: str = "") -> Iterator[str]:
    """``owner``: a name that outlives the process (a background job's): a run of the same job that
    resumes after its worker died takes back the lease that worker held, instead of waiting it out."""
    name = lock_name(*parts)
    owner = hashlib.sha256(owner.encode()).hexdigest()[:32] if owner else secrets.token_hex(16)
    lease = lease if lease is not None else settings.LOCK_LEASE_SECONDS
    deadline = time.monotonic() + (wait if wait is not None else settings.LOCK_WAIT_SECONDS)
    pause = 0.02
    while not _take(name, owner, lease):
        if time.monotonic() >= deadline:
            raise Busy("Someone else is saving this right now; try again in a moment.")
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    renewal = _Renewal(name, owner, lease)
    try:
        yield name
    finally:
        renewal.stop()
        ResourceLock.objects.filter(name=name, owner=owner).delete()


class _Renewal:
    """Renews a lease every third of its length while its holder lives, so a change that takes longer
    than the lease (a big object copied part by part in a job) keeps it; a holder that dies stops renewing.
    The first renewal comes after a third of the lease: a short save never opens a connection for it."""

    def __init__(self, name: str, owner: str, lease: float):
        self.name, self.owner, self.lease = name, owner, lease
        self.stopped = threading.Event()
        self.thread = None
        if not connection.in_atomic_block:  # an uncommitted lease is seen by nobody else: nothing to renew
            self.thread = threading.Timer(lease / 3, self._run)
            self.thread.daemon = True
            self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stopped.is_set():
                expires = timezone.now() + timedelta(seconds=self.lease)
                if not ResourceLock.objects.filter(name=self.name, owner=self.owner).update(expires_at=expires):
                    return  # given back, or taken over after all
                if self.stopped.wait(self.lease / 3):
                    return
        except DatabaseError:  # the lease outlives one missed renewal; the holder's own writes go on
            return
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.cancel()
