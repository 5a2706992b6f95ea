"""Helpers for the audit tests: events written through audit.record at chosen times."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

from console import audit
from console.models import Endpoint


@contextmanager
def frozen(when: datetime):
    """audit.record stamps events with this time (it reads the clock inside the chain lock)."""
    original = audit.timezone
    audit.timezone = SimpleNamespace(now=lambda: when)
    try:
        yield
    finally:
        audit.timezone = original


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def event(actor: str = "alice", action: str = "bucket.create", *, when: datetime | None = None, user=None, **kwargs):
    who = audit.Actor(user_id=user.pk if user else None, username=actor, ip="10.0.0.1", role="admin")
    kwargs.setdefault("outcome", "ok")
    if when is None:
        return audit.record(who, action, **kwargs)
    with frozen(when):
        return audit.record(who, action, **kwargs)


def plain_endpoint(name: str) -> Endpoint:
    """An endpoint row that is never called (review pages read only the database)."""
    return Endpoint.objects.create(name=name, url="http://127.0.0.1:9", region="us-east-1")
