"""One way to change a section of the bucket page or the object page: under a lease, compared, audited.

``section_change`` is the read-modify-write every inline edit goes through:

1. take the resource's lease (``buckets.locks``), so two saves of the same thing run one after the other,
   whichever console process or host they reach;
2. read the state again from S3, under that lease, and compare it with the state the user's form was
   opened on (``seen``): if anything the form shows changed, nothing is written and the user is told
   what changed (``Conflict``) — the audit trail keeps the refused attempt;
3. apply the change inside ``audit.change`` and read the state once more: that is what the page shows
   and the audit row keeps as "after".

A setting the endpoint answers "not implemented" for is remembered (``UnsupportedFeature``), so the page
keeps saying so until someone checks again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from buckets import locks, s3
from buckets.forms.base import Seen
from buckets.models import Bucket, UnsupportedFeature
from console import audit
from console.models import Endpoint

MAX_CHANGES_SHOWN = 8


@dataclass
class Target:
    """What a section is about: a bucket (``key`` empty) or one object of it."""

    endpoint: Endpoint
    bucket: str
    key: str = ""
    version_id: str = ""  # the object page of an older version: read-only
    record: Bucket | None = None
    saving: bool = False  # inside a save, under the lease: facts are read afresh, not remembered
    # Settings (section slugs) the endpoint said it does not implement, as far as the page looked
    # (``Section.consults``): a read that would only be answered "not implemented" is not made.
    unsupported: frozenset[str] = frozenset()
    _cache: dict = field(default_factory=dict, repr=False)

    def cached(self, name: str, read: Callable[[], Any]) -> Any:
        """One S3 read per request and name (several sections show the same HeadObject)."""
        if name not in self._cache:
            self._cache[name] = read()
        return self._cache[name]

    def forget(self) -> None:
        self._cache.clear()

    def head(self) -> dict | None:
        """The object's current HeadObject (None when the key has no current version)."""
        return self.cached("head", lambda: s3.head_object(endpoint=self.endpoint, bucket=self.bucket, key=self.key))


class Conflict(Exception):
    """The resource changed since the form was opened; ``changes`` says how, in words."""

    def __init__(self, changes: list[str]):
        super().__init__("; ".join(changes))
        self.changes = changes

    @property
    def message(self) -> str:
        return "This changed since you opened the form, so nothing was saved. What changed: " + "; ".join(self.changes)


def normalised(value: Any) -> Any:
    """The JSON form of a state (dates as text), so what a form saw compares equal to a fresh read."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def describe_changes(seen: Any, now: Any) -> list[str]:
    """What differs between two states, as short sentences (“metadata › team: “a” → “b””)."""
    before, after = _flatten(seen), _flatten(now)
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path, _MISSING) != after.get(path, _MISSING):
            lines.append(
                f"{path or 'the value'}: {_shown(before.get(path, _MISSING))} → {_shown(after.get(path, _MISSING))}"
            )
    if len(lines) > MAX_CHANGES_SHOWN:
        lines = [*lines[:MAX_CHANGES_SHOWN], f"and {len(lines) - MAX_CHANGES_SHOWN} more changes"]
    return lines or ["it was rewritten with the same values"]


_MISSING = object()


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path} › {k}" if path else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for n, v in enumerate(value, 1):
            out.update(_flatten(v, f"{path} #{n}" if path else f"#{n}"))
        return out
    return {path: value}


def _shown(value: Any) -> str:
    if value is _MISSING or value is None or value in ("", [], {}):
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"“{text[:80]}{'…' if len(text) > 80 else ''}”"


# --- the one write path -------------------------------------------------------------------------
def section_change(
    *,
    actor: audit.Actor,
    target: Target,
    action: str,
    lock: str,
    read: Callable[[Target], Any],
    apply: Callable[[Any], None],
    seen: Seen | None = None,
    fingerprint: Callable[[Any], Any] = lambda value: value,
    params: dict | None = None,
    feature: str = "",
    unsupported_on_write: bool = False,
) -> Any:
    """Apply one change to one resource (see the module docstring). Returns what S3 holds afterwards.

    ``seen`` is the fingerprint the form was opened on (None: no comparison, e.g. settings given at
    bucket creation); ``apply(before)`` makes the S3 calls; ``feature`` names the setting for
    "not supported" memory (a read the endpoint does not implement; a write too when
    ``unsupported_on_write``).
    """
    where = {"endpoint": target.endpoint, "bucket": target.bucket, "key": target.key}
    with locks.held(target.endpoint.pk, target.bucket, target.key, lock):
        target.forget()
        try:
            before = read(target)
        except s3.S3Error as exc:
            remember_unsupported(target.endpoint, feature, exc)
            with audit.change(actor, action, params=params, **where):
                raise  # the attempt is recorded as failed, with S3's answer
        shown = normalised(fingerprint(before))  # what a form of it shows; what the audit trail keeps
        if seen is not None and shown != seen.state:
            conflict = Conflict(describe_changes(seen.state, shown))
            audit.record(
                actor, action, outcome="failed", params=params, before=shown, error_code="Conflict",
                error_message=conflict.message, **where,
            )  # fmt: skip
            raise conflict
        try:
            with audit.change(actor, action, params=params, before=shown, **where) as ev:
                apply(before)
                target.forget()
                after = read(target)
                ev.after = normalised(fingerprint(after))
        except s3.S3Error as exc:
            if unsupported_on_write:
                remember_unsupported(target.endpoint, feature, exc)
            raise
    return after


# --- "not supported by this endpoint", remembered ---------------------------------------------------
def remember_unsupported(endpoint: Endpoint, feature: str, error: s3.S3Error) -> None:
    if feature and error.not_supported:
        UnsupportedFeature.objects.update_or_create(endpoint=endpoint, feature=feature, defaults={"code": error.code})


def known_unsupported(endpoint: Endpoint, feature: str) -> UnsupportedFeature | None:
    return UnsupportedFeature.objects.filter(endpoint=endpoint, feature=feature).first()


def known_unsupported_all(endpoint: Endpoint, features: list[str]) -> dict[str, UnsupportedFeature]:
    """{feature: record} of the features the endpoint said it does not implement (one query)."""
    return {f.feature: f for f in UnsupportedFeature.objects.filter(endpoint=endpoint, feature__in=features)}


def unsupported_recheck(*, actor: audit.Actor, endpoint: Endpoint, feature: str) -> None:
    """Forget that the endpoint does not support ``feature``: the next read or save asks S3 again."""
    with audit.change(actor, "endpoint.feature.recheck", endpoint=endpoint, params={"feature": feature}):
        UnsupportedFeature.objects.filter(endpoint=endpoint, feature=feature).delete()
