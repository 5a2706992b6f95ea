"""The audit trail: every change goes through :func:`change`, every refusal through :func:`denied`.

``change`` is a context manager around the S3 call, so the event is written whatever
happens inside: success, an S3 error, or any other exception.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from buckets import s3
from console import audit_chain
from console.models import AuditEvent, Endpoint

log = logging.getLogger(__name__)

# Called with each event once it is written (the alert rules register here: watch.apps). A hook
# must be quick; its failure is logged and never reaches the change that wrote the event.
RECORD_HOOKS: list[Callable[[AuditEvent], None]] = []

SECRET_WORDS = ("secret", "password", "token", "credential", "sse_customer_key", "ssecustomerkey", "private")
REDACTED = "***"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user from a request, or the same user carried into a background task."""

    user_id: int | None
    username: str
    ip: str | None = None
    role: str = ""

    @classmethod
    def from_request(cls, request, role: str = "") -> Actor:
        user = request.user
        return cls(
            user_id=user.pk if user.is_authenticated else None,
            username=user.get_username() if user.is_authenticated else "",
            ip=client_ip(request),
            role=role,
        )

    def to_json(self) -> dict:
        return {"user_id": self.user_id, "username": self.username, "ip": self.ip, "role": self.role}

    @classmethod
    def from_json(cls, data: dict | None) -> Actor:
        """The actor ``to_json`` wrote; a row without one (an older job) is an unnamed actor, not a crash."""
        data = data or {}
        return cls(
            user_id=data.get("user_id"),
            username=data.get("username") or "",
            ip=data.get("ip"),
            role=data.get("role") or "",
        )


def client_ip(request) -> str | None:
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.AUDIT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            candidate = forwarded.split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def scrub(value: Any) -> Any:
    """Parameters without secrets: any key that names a secret gets its value replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if any(w in str(k).lower().replace("-", "_") for w in SECRET_WORDS) else scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


@dataclass
class Pending:
    """What the caller learns during the call: the state after it, and more parameters."""

    after: Any = None
    params: dict = field(default_factory=dict)
    request_id: str = ""


def record(
    actor: Actor,
    action: str,
    *,
    outcome: str,
    endpoint: Endpoint | None = None,
    bucket: str = "",
    key: str = "",
    version_id: str = "",
    params: dict | None = None,
    before: Any = None,
    after: Any = None,
    error_code: str = "",
    error_message: str = "",
    request_id: str = "",
) -> AuditEvent:
    """Write one event. The single place that inserts AuditEvent rows.

    The event is appended to the hash chain (``console.audit_chain``): under a lock that
    serializes writers, read the last hash, hash this event over it, insert.
    """
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_name=actor.username[:150],
        role=actor.role[:16],
        client_ip=_ip_field.get_prep_value(actor.ip or None),
        endpoint=endpoint if endpoint is not None and endpoint.pk else None,  # a deleted one keeps its name
        endpoint_name=endpoint.name if endpoint else "",
        bucket=bucket[:63],
        key=_fit_key(key),
        version_id=(version_id or "")[:1024],
        action=action[:64],
        params=audit_chain.normalize_json(scrub(params or {})),
        before=audit_chain.normalize_json(scrub(before)),
        after=audit_chain.normalize_json(scrub(after)),
        outcome=outcome,
        error_code=error_code[:128],
        error_message=error_message[:2000],
        request_id=request_id[:256],
    )
    with transaction.atomic():
        audit_chain.lock_chain()
        last_seq, last_hash = audit_chain.chain_head()
        event.seq, event.prev_hash = last_seq + 1, last_hash
        # The time is taken inside the lock, so created_at follows the chain order.
        event.created_at = timezone.now()
        event.hash = audit_chain.compute_hash(event)
        event.save()
    for hook in RECORD_HOOKS:
        try:
            hook(event)
        except Exception:
            log.exception("Audit hook %s failed for event %s", getattr(hook, "__name__", hook), event.pk)
    return event


_ip_field = AuditEvent._meta.get_field("client_ip")


def _fit_key(key: str) -> str:
    """S3 keys are at most 1,024 bytes; a longer one (only ever a refused attempt) is cut to fit the index."""
    data = key.encode("utf-8")
    if len(data) <= 1024:
        return key
    return data[:1024].decode("utf-8", errors="ignore")


@contextmanager
def change(
    actor: Actor,
    action: str,
    *,
    endpoint: Endpoint | None = None,
    bucket: str = "",
    key: str = "",
    version_id: str = "",
    params: dict | None = None,
    before: Any = None,
) -> Iterator[Pending]:
    """Wrap one change: ``with change(...) as ev: ...; ev.after = ...``. Always audited."""
    pending = Pending()
    where = {"endpoint": endpoint, "bucket": bucket, "key": key, "version_id": version_id, "before": before}
    try:
        with s3.audited_scope(action):  # the S3 layer refuses writes outside such a scope
            yield pending
    except s3.S3Error as exc:
        record(
            actor,
            action,
            outcome="failed",
            params={**(params or {}), **pending.params},
            after=pending.after,  # what the caller knew it had done when it failed (a job's counts), if anything
            error_code=exc.code,
            error_message=exc.message,
            request_id=exc.request_id,
            **where,
        )
        raise
    except BaseException as exc:
        record(
            actor,
            action,
            outcome="failed",
            params={**(params or {}), **pending.params},
            after=pending.after,
            error_code=type(exc).__name__,
            error_message=str(exc)[:500],
            **where,
        )
        raise
    record(
        actor,
        action,
        outcome="ok",
        params={**(params or {}), **pending.params},
        after=pending.after,
        request_id=pending.request_id or s3.last_request_id(),
        **where,
    )


def denied(actor: Actor, action: str, **where: Any) -> AuditEvent:
    return record(actor, action, outcome="denied", **where)


@contextmanager
def job_writes(action: str) -> Iterator[None]:
    """The S3 writes of a background job's run. They are covered by the job's two events: ``<kind>.start``,
    written when it was started, and its one outcome event, written when it ends by whichever worker
    finishes it, or when it is declared lost (``buckets.jobs``); a run may span several processes, so
    no single ``change`` block can hold it."""
    with s3.audited_scope(action):
        yield
