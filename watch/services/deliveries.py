"""Sending alerts: one delivery per alert and destination, tried by a task, retried, then a dead letter.

A try claims the delivery with one conditional UPDATE (so two workers, or a retry and the sweeper,
never send it twice at once), sends it, and logs the answer. A failure is tried again after a growing
pause (30 s, 90 s, 4.5 min, … at most an hour) — enqueued for then when the task backend can defer,
and in any case picked up by the sweep (``retry_due``, every minute) — until ``ALERT_MAX_ATTEMPTS``;
then it stays as a dead letter until someone presses "Retry now". Nothing is lost when a receiver is
down, slow or answers 5xx, and a delivery that succeeded is never sent again.

Webhook bodies are JSON, signed: ``X-S3Console-Signature: sha256=<hex>`` is the HMAC-SHA256 of
``<X-S3Console-Timestamp>.<body>`` with the destination's secret. ``X-S3Console-Delivery`` is the same
for every try of one delivery, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.utils import timezone

from watch import urlcheck
from watch.models import Alert, Delivery, DeliveryAttempt, Destination

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 200
USER_AGENT = "S3-Console-Alerts/1"


class SendFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.message, self.status_code = message, status_code


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 3 ** max(attempts - 1, 0), 3600))


def enqueue(delivery_id: int, run_after=None) -> None:
    """Queue a try; if queueing fails the delivery stays waiting and the sweep queues it."""
    from watch import tasks

    try:
        task = tasks.deliver_alert
        if run_after is not None:
            if not task.get_backend().supports_defer:
                return  # the sweep picks it up when it is due
            task = task.using(run_after=run_after)
        task.enqueue(delivery_id)
    except Exception:
        log.exception("Could not queue alert delivery %s; the sweep will", delivery_id)


def retry_due() -> int:
    """Queue the deliveries whose try is overdue (their task was lost, or the backend cannot defer)."""
    now = timezone.now()
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        | Q(status=Delivery.Status.PENDING, attempts=0, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    due = list(due)
    for pk in due:
        enqueue(pk)
    return len(due)


def _claim(delivery_id: int, *, max_attempts: int) -> Delivery | None:
    now = timezone.now()
    waiting = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Delivery.Status.SENDING, lease_until__lt=now)
    claimed = (
        Delivery.objects.filter(waiting | abandoned, pk=delivery_id, attempts__lt=max_attempts)
        .update(status=Delivery.Status.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    )  # fmt: skip
    if not claimed:
        return None
    return Delivery.objects.select_related("alert", "destination").filter(pk=delivery_id).first()


def deliver(delivery_id: int, *, max_attempts: int | None = None) -> Delivery | None:
    """One try of a delivery (the task's body). Returns it afterwards, or None when it was not due."""
    max_attempts = max_attempts or settings.ALERT_MAX_ATTEMPTS
    delivery = _claim(delivery_id, max_attempts=max_attempts)
    if delivery is None:
        return None
    try:
        destination = delivery.destination
    except Destination.DoesNotExist:
        delivery.delete()  # its destination was removed meanwhile
        return None
    try:
        status_code = send(destination, delivery.alert, delivery)
    except SendFailed as exc:
        return _failed(delivery, exc, max_attempts)
    now = timezone.now()
    DeliveryAttempt.objects.create(delivery=delivery, status_code=status_code, ok=True)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERED, delivered_at=now, lease_until=None, last_error=""
    )
    delivery.refresh_from_db()
    return delivery


def _failed(delivery: Delivery, exc: SendFailed, max_attempts: int) -> Delivery:
    DeliveryAttempt.objects.create(delivery=delivery, status_code=exc.status_code, error=exc.message[:500])
    dead = delivery.attempts >= max_attempts
    next_at = timezone.now() + backoff(delivery.attempts)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DEAD if dead else Delivery.Status.PENDING,
        next_attempt_at=next_at, lease_until=None, last_error=exc.message[:500],
    )  # fmt: skip
    log.warning("Alert delivery %s to %s failed (try %s): %s", delivery.pk, delivery.destination.name,
                delivery.attempts, exc.message)  # fmt: skip
    if not dead:
        enqueue(delivery.pk, run_after=next_at)
    delivery.refresh_from_db()
    return delivery


# --- sending ----------------------------------------------------------------------------------------
def send(destination: Destination, alert: Alert, delivery: Delivery) -> int | None:
    """Send one alert; the receiver's status code (None for e-mail), or SendFailed with the reason."""
    if destination.kind == Destination.Kind.EMAIL:
        return _send_email(destination, alert)
    try:
        url = urlcheck.check_url(destination.get_url())
    except urlcheck.URLRefused as exc:
        raise SendFailed(str(exc)) from None
    if destination.kind == Destination.Kind.CHAT:
        body = json.dumps({"text": chat_text(alert)}).encode()
        headers = {"Content-Type": "application/json"}
    else:
        data = {**alert.payload, "delivery": delivery.pk, "destination": destination.name}
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
        headers = signed_headers(destination.get_secret(), body, delivery.pk)
        headers["X-S3Console-Event"] = (alert.payload.get("event") or {}).get("action", "")
    return _post(url, body, headers)


def signed_headers(secret: str, body: bytes, delivery_id: int, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-S3Console-Delivery": str(delivery_id),
        "X-S3Console-Timestamp": str(timestamp),
        "X-S3Console-Signature": f"sha256={signature}",
    }


def _post(url: str, body: bytes, headers: dict) -> int:
    timeout = settings.ALERT_WEBHOOK_TIMEOUT
    try:
        answer = urlcheck.post(
            url, data=body, headers={"User-Agent": USER_AGENT, **headers}, timeout=(timeout, timeout),
            allow_redirects=False,
        )  # fmt: skip
    except requests.Timeout:
        raise SendFailed(f"The receiver did not answer within {timeout:g} s.") from None
    except requests.ConnectionError as exc:
        if urlcheck.refused_private(exc):
            raise SendFailed(urlcheck.PRIVATE_REFUSED) from None
        raise SendFailed("The receiver could not be reached (connection refused or no route).") from None
    except requests.RequestException as exc:
        raise SendFailed(f"The request failed: {type(exc).__name__}.") from None
    if not 200 <= answer.status_code < 300:
        reason = (answer.reason or "")[:80]
        raise SendFailed(f"The receiver answered {answer.status_code} {reason}".strip() + ".", answer.status_code)
    return answer.status_code


def chat_text(alert: Alert) -> str:
    event = alert.payload.get("event") or {}
    lines = [f"*{alert.title}*"]
    where = "/".join(filter(None, [event.get("endpoint"), event.get("bucket"), event.get("key")]))
    if where:
        lines.append(where)
    if alert.payload.get("url", "").startswith("http"):
        lines.append(alert.payload["url"])
    return "\n".join(lines)


def _send_email(destination: Destination, alert: Alert) -> None:
    event = alert.payload.get("event") or {}
    body = "\n".join(
        [alert.title, "", *(f"{k}: {v}" for k, v in event.items() if v not in ("", None, {}, [])), "",
         alert.payload.get("url", "")]
    )  # fmt: skip
    try:
        send_mail(f"[S3 Console] {alert.title}"[:200], body, settings.DEFAULT_FROM_EMAIL, destination.recipient_list)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"The mail server refused or could not be reached ({type(exc).__name__}).") from None
    return None
