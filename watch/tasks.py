"""Background tasks of drift and alerts: thin wrappers over the services (JSON-safe arguments)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from buckets import s3
from console.scheduler import periodic
from watch.services import deliveries, drift


@periodic("watch.drift_check", every=timedelta(minutes=settings.DRIFT_CHECK_MINUTES))
@task()
def drift_check() -> int:
    """One drift pass over every endpoint (the scheduler enqueues it once per interval)."""
    with s3.time_budget(settings.S3_JOB_CALL_BUDGET, per_call=True):  # each S3 call waits at most this
        return drift.drift_check(trigger="schedule").run.changes


@periodic("watch.alert_retries", every=timedelta(minutes=1))
@task()
def alert_retries() -> int:
    """Queue the alert deliveries whose retry is due (or whose task was lost)."""
    return deliveries.retry_due()


@task()
def deliver_alert(delivery_id: int) -> None:
    deliveries.deliver(delivery_id)
