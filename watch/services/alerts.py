"""Alert rules over audit events: each recorded event is matched against the enabled rules.

``event_recorded`` is called by ``console.audit.record`` after it wrote the event (a hook registered
by the app). It must never break or slow the change that wrote the event: the rules are kept in
memory for a few seconds, an event no rule's filters match costs no query, anything that goes wrong
is logged and swallowed, and the deliveries are only enqueued (after the commit) as tasks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from buckets import policy as bucket_policy
from console import safejson
from console.models import AuditEvent
from watch.models import Alert, AlertRule, BucketSnapshot, Delivery

log = logging.getLogger(__name__)

RULES_TTL = 5.0  # seconds a process keeps the enabled rules (a change made in this process applies at once)
OWN_PREFIX = "alert."  # the alerting's own events (rule changes, tests, retries) never fire rules
PUBLIC_SETTINGS = ("policy", "acl", "public_access_block")
DELETE_PATTERN = "*delete*"
PAYLOAD_VALUE_LIMIT = 8192
PATTERN_RE = re.compile(r"[a-z0-9_.*?-]+")
BUCKET_PATTERN_RE = re.compile(r"[a-z0-9.*?-]+")

_cache: dict[str, Any] = {"at": 0.0, "rules": None}
_cache_lock = threading.Lock()


def rules_changed() -> None:
    _cache["at"] = 0.0


def _rules() -> list[AlertRule]:
    now = time.monotonic()
    if _cache["rules"] is None or now - _cache["at"] > RULES_TTL:
        with _cache_lock:
            rules = list(AlertRule.objects.filter(enabled=True).prefetch_related("destinations"))
            _cache.update(rules=rules, at=now)
    return _cache["rules"]


# --- patterns ---------------------------------------------------------------------------------------
def split_patterns(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def pattern_errors(text: str, *, bucket: bool = False) -> list[str]:
    allowed = BUCKET_PATTERN_RE if bucket else PATTERN_RE
    what = "lowercase letters, digits, . and -" if bucket else "lowercase letters, digits, _ . and -"
    errors = []
    for pattern in split_patterns(text):
        if not allowed.fullmatch(pattern):
            errors.append(f"“{pattern}” is not a valid pattern: use {what}, with * and ? as wildcards.")
        elif ".." in pattern or pattern.startswith(".") or pattern.endswith("."):
            errors.append(f"“{pattern}” is not a valid pattern: it has an empty part between dots.")
    return errors


def pattern_regex(text: str) -> str:
    """One anchored regular expression for comma-separated glob patterns (the same in Python and SQL)."""
    parts = [re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in split_patterns(text)]
    return "^(" + "|".join(parts) + ")$"


def _matches(text: str, patterns: str) -> bool:
    return not patterns.strip() or re.match(pattern_regex(patterns), text) is not None


# --- matching ---------------------------------------------------------------------------------------
def event_recorded(event: AuditEvent) -> None:
    """The hook: fire the rules this event meets. Never raises."""
    if event.action.startswith(OWN_PREFIX):
        return
    try:
        candidates = [r for r in _rules() if _filters_match(r, event)]
        if not candidates:
            return
        with transaction.atomic():  # a savepoint: a failure here leaves the caller's transaction usable
            for rule in candidates:  # always in the rules' order: two events lock them alike
                if rule.condition in COUNTED:
                    _serialize(rule)
                fired = _condition(rule, event)
                if fired is not None:
                    fire(rule, event, group=fired)
    except Exception:
        log.exception("Alert rules could not be evaluated for audit event %s (%s)", event.pk, event.action)


def _filters_match(rule: AlertRule, event: AuditEvent) -> bool:
    if rule.outcome and event.outcome != rule.outcome:
        return False
    if rule.endpoint_id and event.endpoint_id != rule.endpoint_id:
        return False
    if rule.actor and event.actor_name != rule.actor:
        return False
    if rule.bucket and not _matches(event.bucket, rule.bucket):
        return False
    condition = rule.condition
    if condition == AlertRule.Condition.EXTERNAL and not event.action.endswith(".external"):
        return False
    if condition == AlertRule.Condition.DENIED and event.outcome != AuditEvent.Outcome.DENIED:
        return False
    if condition == AlertRule.Condition.PUBLIC and not _may_publish(event):
        return False
    if condition == AlertRule.Condition.DELETES and not rule.outcome and event.outcome != AuditEvent.Outcome.OK:
        return False  # deletes that happened, unless the rule asks for refused or failed ones
    default = DELETE_PATTERN if condition == AlertRule.Condition.DELETES else ""
    return _matches(event.action, rule.action_pattern or default)


COUNTED = (AlertRule.Condition.DELETES, AlertRule.Condition.DENIED)


def _serialize(rule: AlertRule) -> None:
    """Count and fire one counting rule at a time (until this transaction ends): events committed at the
    same moment would each see the others, find no alert yet, and each fire one. On PostgreSQL a row lock
    on the rule; SQLite's transactions already run one at a time (BEGIN IMMEDIATE)."""
    list(AlertRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk", flat=True))


def _condition(rule: AlertRule, event: AuditEvent) -> str | None:
    """None when the rule does not fire; else the group it fires for ("" or the user counted)."""
    condition = rule.condition
    if condition == AlertRule.Condition.PUBLIC:
        return "" if became_public(event) else None
    if condition not in COUNTED:
        return ""
    window = timezone.now() - timedelta(minutes=rule.window_minutes or 1)
    events = AuditEvent.objects.filter(created_at__gte=window)
    pattern = rule.action_pattern or (DELETE_PATTERN if condition == AlertRule.Condition.DELETES else "")
    if pattern:
        events = events.filter(action__regex=pattern_regex(pattern))
    group = ""
    if condition == AlertRule.Condition.DENIED:
        group = event.actor_name or "(anonymous)"
        events = events.filter(outcome=AuditEvent.Outcome.DENIED, actor_name=event.actor_name)
    else:
        events = events.filter(outcome=rule.outcome or AuditEvent.Outcome.OK)
    if rule.endpoint_id:
        events = events.filter(endpoint_id=rule.endpoint_id)
    if rule.bucket:
        events = events.filter(bucket__regex=pattern_regex(rule.bucket))
    if rule.actor:
        events = events.filter(actor_name=rule.actor)
    if events.count() <= rule.threshold:
        return None
    if Alert.objects.filter(rule=rule, group=group, created_at__gte=window).exists():
        return None  # it fired for this window already
    return group


# --- "a bucket became public" -----------------------------------------------------------------------
def _may_publish(event: AuditEvent) -> bool:
    parts = event.action.split(".")
    if event.action == "bucket.create.external":
        return True
    return len(parts) == 3 and parts[0] == "bucket" and parts[1] in PUBLIC_SETTINGS and event.outcome == "ok"


def _level(state: dict) -> str:
    text = state.get("policy")
    try:
        document = safejson.loads(text, max_bytes=4 * bucket_policy.MAX_POLICY_BYTES) if text else None
    except safejson.JSONRefused:
        document = None
    acl = state.get("acl") if isinstance(state.get("acl"), dict) else None
    block = state.get("public_access_block") if isinstance(state.get("public_access_block"), dict) else None
    return bucket_policy.public_status(policy=document, acl=acl, block=block).level


def became_public(event: AuditEvent) -> bool:
    """Whether the bucket is public after the event and was not before (the other settings: as the last
    snapshot read them, then as the events since left them)."""
    if event.action == "bucket.create.external":
        return isinstance(event.after, dict) and _level(event.after) == "public"
    setting = event.action.split(".")[1]
    known = _public_settings(event)
    before, after = {**known, setting: event.before}, {**known, setting: event.after}
    return _level(after) == "public" and _level(before) != "public"


def _public_settings(event: AuditEvent) -> dict:
    """The bucket's policy, ACL and public access block before ``event``: the last drift snapshot, and
    what the events recorded since (the console's or outside) left (one block removed, then a policy
    put, is a bucket made public, whether a drift check ran between or not)."""
    snapshot = BucketSnapshot.objects.filter(endpoint_id=event.endpoint_id, bucket=event.bucket).first()
    known = {name: snapshot.state[name] for name in PUBLIC_SETTINGS if name in snapshot.state} if snapshot else {}
    later = AuditEvent.objects.filter(
        endpoint_id=event.endpoint_id, bucket=event.bucket, key="", outcome=AuditEvent.Outcome.OK, pk__lt=event.pk,
        action__regex=r"^bucket\.(" + "|".join(PUBLIC_SETTINGS) + r")\.[a-z_]+$",
    )  # fmt: skip
    if snapshot is not None:
        later = later.filter(created_at__gte=snapshot.checked_at)
    for action, after in later.order_by("id").values_list("action", "after"):
        known[action.split(".")[1]] = after
    return known


# --- firing -----------------------------------------------------------------------------------------
def _fits(value: Any) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= PAYLOAD_VALUE_LIMIT else f"(too long to include: {len(text)} bytes)"


def payload(event: AuditEvent, rule_name: str, title: str) -> dict:
    link = reverse("audit_detail", args=[event.pk])
    return {
        "alert": title,
        "rule": rule_name,
        "event": {
            "id": event.pk,
            "action": event.action,
            "outcome": event.outcome,
            "actor": event.actor_name or "system",
            "role": event.role,
            "endpoint": event.endpoint_name,
            "bucket": event.bucket,
            "key": event.key,
            "created_at": event.created_at.isoformat(),
            "params": _fits(event.params),
            "before": _fits(event.before),
            "after": _fits(event.after),
            "error_code": event.error_code,
        },
        "url": f"{settings.CONSOLE_BASE_URL}{link}",
    }


def describe(rule: AlertRule | None, event: AuditEvent, group: str = "") -> str:
    where = f" on {event.bucket}" if event.bucket else (f" on {event.endpoint_name}" if event.endpoint_name else "")
    who = event.actor_name or "system"
    if rule is not None and rule.condition == AlertRule.Condition.DENIED:
        return f"{rule.name}: more than {rule.threshold} denied attempts by {group} in {rule.window_minutes} min"
    if rule is not None and rule.condition == AlertRule.Condition.DELETES:
        return f"{rule.name}: more than {rule.threshold} deletes in {rule.window_minutes} min{where}"
    if rule is not None and rule.condition == AlertRule.Condition.PUBLIC:
        return f"{rule.name}: bucket {event.bucket} became public ({event.action} by {who})"
    name = rule.name if rule is not None else "Test"
    return f"{name}: {event.action} ({event.outcome}){where} by {who}"[:300]


def fire(rule: AlertRule, event: AuditEvent, *, group: str = "") -> Alert:
    """An alert for the rule and its deliveries, enqueued once the event's transaction commits."""
    from watch.services import deliveries

    title = describe(rule, event, group)
    alert = Alert.objects.create(
        rule=rule, rule_name=rule.name, event_id=event.pk, group=group[:200], title=title[:300],
        payload=payload(event, rule.name, title),
    )  # fmt: skip
    for destination in rule.destinations.all():
        if destination.enabled:
            delivery = Delivery.objects.create(alert=alert, destination=destination)
            transaction.on_commit(lambda pk=delivery.pk: deliveries.enqueue(pk))
    return alert
