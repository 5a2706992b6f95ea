"""/healthz and the task worker's heartbeat.

The health check answers without login and without any S3 call (an unreachable endpoint is a
problem of that endpoint, not of this instance): the database answers, and a task worker has
recorded a heartbeat recently. The worker heartbeat is a row per worker in ``WorkerHeartbeat``
that ``manage.py console_worker`` touches every WORKER_HEARTBEAT_INTERVAL seconds from a thread,
so a worker busy with a long job (emptying a large bucket) still counts as alive. Instances that
share one database share the workers too: any fresh heartbeat will run this instance's jobs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, close_old_connections, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from console.models import WorkerHeartbeat

log = logging.getLogger(__name__)

# A row this old belongs to a worker that was killed without a goodbye: nobody needs it any more.
PRUNE_AFTER = timedelta(days=1)


# --- the worker's side ------------------------------------------------------------------------
def beat(worker_id: str, started_at) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": now,
        },
    )
    WorkerHeartbeat.objects.filter(last_seen__lt=now - PRUNE_AFTER).delete()


def forget(worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class Heartbeat:
    """Beats from a daemon thread until stopped; a failed beat (database away) is logged and retried."""

    def __init__(self, worker_id: str, interval: float | None = None):
        self.worker_id = worker_id
        self.interval = settings.WORKER_HEARTBEAT_INTERVAL if interval is None else interval
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        self._beat()  # before the first task: a worker that cannot reach the database fails here, loudly
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            forget(self.worker_id)
        except DatabaseError:
            log.warning("Could not remove the heartbeat of worker %s", self.worker_id)

    def _beat(self) -> None:
        beat(self.worker_id, self.started_at)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                close_old_connections()
                self._beat()
            except DatabaseError as exc:
                log.warning("Worker heartbeat failed: %s", type(exc).__name__)
            finally:
                connection.close()  # this thread's own connection: do not hold it between beats


# --- the checks ---------------------------------------------------------------------------------
def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The exception text can name hosts and users: the log gets it, the anonymous answer does not.
        log.error("Health check: the database does not answer: %s", exc)
        return {"status": "unavailable"}
    return {"status": "ok"}


def uses_database_worker() -> bool:
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def check_worker() -> dict:
    if not uses_database_worker():
        return {"status": "not used"}  # e.g. the immediate backend: tasks run in the request
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE
    now = timezone.now()
    try:
        latest = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
        fresh = WorkerHeartbeat.objects.filter(last_seen__gte=now - timedelta(seconds=max_age)).count()
    except DatabaseError:
        return {"status": "unknown"}
    if latest is None:
        return {"status": "missing", "detail": "no task worker is running (manage.py console_worker)"}
    age = max(0, round((now - latest).total_seconds()))
    result = {"status": "ok" if fresh else "stale", "workers": fresh, "last_seen_seconds_ago": age}
    if not fresh:
        result["detail"] = f"no task worker reported in the last {max_age:g} seconds"
    return result


@login_not_required
@never_cache
@require_safe
def healthz(request):
    checks = {"database": check_database()}
    checks["worker"] = check_worker() if checks["database"]["status"] == "ok" else {"status": "unknown"}
    healthy = all(check["status"] in {"ok", "not used"} for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
