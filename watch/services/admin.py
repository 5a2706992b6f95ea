"""Changes to the alerting's own records (rules, destinations, dead letters), each one audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from console import audit, record_edits
from watch.models import Alert, AlertRule, Delivery, Destination
from watch.services import alerts, deliveries


def rule_snapshot(rule: AlertRule) -> dict:
    return {
        "name": rule.name, "enabled": rule.enabled, "condition": rule.condition, "action_pattern": rule.action_pattern,
        "outcome": rule.outcome, "endpoint": rule.endpoint.name if rule.endpoint_id else "", "bucket": rule.bucket,
        "actor": rule.actor, "threshold": rule.threshold, "window_minutes": rule.window_minutes,
        "destinations": sorted(d.name for d in rule.destinations.all()),
    }  # fmt: skip


def destination_snapshot(destination: Destination) -> dict:
    """What the audit trail keeps of a destination: never its URL's path (tokens) nor its secret."""
    return {
        "name": destination.name, "kind": destination.kind, "url": destination.url_hint,
        "recipients": destination.recipients, "enabled": destination.enabled, "has_secret": destination.has_secret,
    }  # fmt: skip


RULE_LABELS = {"action_pattern": "Actions", "actor": "User", "threshold": "More than N events",
               "window_minutes": "Within M minutes"}  # fmt: skip
DESTINATION_LABELS = {"kind": "Type", "url": "URL", "has_secret": "Signing secret set"}


def rule_state(rule: AlertRule) -> dict:
    return record_edits.state(rule_snapshot(rule), labels=RULE_LABELS)


def destination_state(destination: Destination) -> dict:
    encrypted = (destination.url_encrypted, destination.secret_encrypted)
    return record_edits.state(destination_snapshot(destination), *encrypted, labels=DESTINATION_LABELS)


def rule_save(*, actor: audit.Actor, form) -> AlertRule:
    """Create or change a rule from its validated form, unless someone saved it since the form's ``seen``."""
    rule = form.instance
    creating = rule.pk is None
    action = "alert.rule.create" if creating else "alert.rule.edit"
    params = {"name": form.cleaned_data["name"]}
    with record_edits.refusal_audited(actor, action, params=params), transaction.atomic():
        before = None
        if not creating:
            seen = form.cleaned_data.get("seen", "")
            before = rule_snapshot(record_edits.locked_unchanged(AlertRule, rule.pk, seen, rule_state))
        with audit.change(actor, action, params=params, before=before) as ev:
            rule = form.save()
            ev.after = rule_snapshot(rule)
    alerts.rules_changed()
    return rule


def rule_delete(*, actor: audit.Actor, rule: AlertRule) -> None:
    with audit.change(actor, "alert.rule.delete", params={"name": rule.name}, before=rule_snapshot(rule)):
        rule.delete()
    alerts.rules_changed()


def destination_save(*, actor: audit.Actor, destination: Destination, data: dict) -> Destination:
    """Create or change a destination, unless someone saved it since the form's ``seen``."""
    creating = destination.pk is None
    action = "alert.destination.create" if creating else "alert.destination.edit"
    params = {"name": data["name"]}
    with record_edits.refusal_audited(actor, action, params=params), transaction.atomic():
        before = None
        if not creating:
            stored = record_edits.locked_unchanged(Destination, destination.pk, data.get("seen", ""), destination_state)
            before = destination_snapshot(stored)
        _destination_write(actor, action, destination, data, params, before)
    alerts.rules_changed()
    return destination


def _destination_write(actor, action: str, destination: Destination, data: dict, params: dict, before) -> None:
    with audit.change(actor, action, params=params, before=before) as ev:
        for name in ("name", "kind", "recipients", "enabled"):
            setattr(destination, name, data[name])
        if data.get("url"):
            destination.set_url(data["url"])
        elif destination.kind == Destination.Kind.EMAIL:
            destination.set_url("")
        if data.get("secret"):
            destination.set_secret(data["secret"])
        destination.save()
        ev.after = destination_snapshot(destination)


def destination_delete(*, actor: audit.Actor, destination: Destination) -> None:
    snapshot = destination_snapshot(destination)
    with audit.change(actor, "alert.destination.delete", params={"name": destination.name}, before=snapshot):
        destination.delete()
    alerts.rules_changed()


def destination_test(*, actor: audit.Actor, destination: Destination) -> Delivery:
    """Send a test alert now (one try); a failed one stays as a dead letter with the reason."""
    with audit.change(actor, "alert.destination.test", params={"name": destination.name}) as ev:
        title = f"Test alert from the S3 Console to “{destination.name}”"
        alert = Alert.objects.create(
            rule=None, rule_name="Test", event_id=0, title=title,
            payload={
                "alert": title, "rule": "Test", "url": "",
                "event": {"action": "alert.destination.test", "outcome": "ok", "actor": actor.username,
                          "created_at": timezone.now().isoformat()},
            },
        )  # fmt: skip
        delivery = Delivery.objects.create(alert=alert, destination=destination)
        delivery = deliveries.deliver(delivery.pk, max_attempts=1) or Delivery.objects.get(pk=delivery.pk)
        ev.after = {"delivered": delivery.status == Delivery.Status.DELIVERED, "error": delivery.last_error}
    return delivery


def delivery_retry(*, actor: audit.Actor, delivery: Delivery) -> Delivery:
    """A dead letter tried again now (and, if it fails, retried as a new delivery would be)."""
    params = {"delivery": delivery.pk, "destination": delivery.destination.name, "alert": delivery.alert.title}
    with audit.change(actor, "alert.delivery.retry", params=params) as ev:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.DEAD).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        deliveries.enqueue(delivery.pk)
        delivery.refresh_from_db()
        ev.after = {"status": delivery.status}
    return delivery
