"""Background jobs: a Job row for progress and recovery, a django-tasks task for the work.

A service starts a job with :func:`start`, which writes ``<kind>.start`` and enqueues the job's task;
the task (``buckets.tasks``, thin) calls :func:`run` with the job's work, a service function
``work(job, progress) -> Outcome``. While it runs:

- the worker holds a lease on the row (owner, expiry), renewed by every progress write and by a
  heartbeat thread, so a long S3 call does not make it look dead. Every write is fenced by the lease:
  a worker that was thought dead and comes back learns it (:class:`LeaseLost`) and stops;
- progress reaches the row at least every second while the work advances (``progress.advance``),
  and the work saves a checkpoint after each batch (``progress.save(state)``): its own state and the
  counters at that point. A resumed run starts from there (``progress.state``); work is idempotent per
  batch, so repeating the batch that was in flight harms nothing;
- a user may ask a job to pause or to stop (``Job.control``): the work looks at checkpoints
  (:meth:`Progress.stop_if_asked`); a paused job leaves the worker without an outcome and is queued again
  when resumed (it goes on from that checkpoint), a cancelled one ends with its outcome event ("failed",
  code ``Cancelled``, with what it had done);
- every entry that failed is kept with the job (``JobFailure``), the first ones also in ``Job.errors``;
- exactly one outcome event is written (:func:`finish`), in one transaction with the row's end
  (``finished_at``): by the worker that finishes the job, or by ``job_recovery.recover`` when the job's
  worker died and it has been started ``JOB_MAX_ATTEMPTS`` times.

The lease itself (taking a job, the heartbeat) is in ``buckets.job_lease``; taking over the jobs of
workers that died in ``buckets.job_recovery``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from buckets import locks, s3
from buckets.job_lease import claim, heartbeat, lease_seconds, new_owner
from buckets.models import Job, JobFailure
from console import audit
from console.models import Endpoint

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 200
AUDIT_KEYS_KEPT = 100  # a job's audit rows keep the count and the first keys of a selection, not all
FLUSH_SECONDS = 1.0  # progress is written at least this often while the work advances


class LeaseLost(Exception):
    """Another worker took the job over (this one was thought dead): stop at once, write nothing more."""


class JobPaused(Exception):
    """A user asked the job to pause: it stops at a checkpoint and waits to be resumed."""


class JobCancelled(Exception):
    """A user asked the job to stop for good: it ends at a checkpoint with its outcome event."""


@dataclass
class JobFailed(s3.S3Error):
    """Why a job's outcome is "failed" although nothing raised: entries refused, or its worker lost."""


@dataclass
class Outcome:
    """What a job's work returns: the message on its page and what its outcome event records."""

    message: str
    after: dict | None = None
    params: dict = field(default_factory=dict)
    error: s3.S3Error | None = None  # set: the job failed (the event says why), after doing what it could


def audit_params(params: dict) -> dict:
    """A job's parameters as its audit rows keep them: a selection by its count and first keys."""
    shown = {k: v for k, v in params.items() if k != "keys"}
    if "keys" in params:
        shown.update(count=len(params["keys"]), keys=params["keys"][:AUDIT_KEYS_KEPT])
    return shown


def audit_where(job: Job, params: dict) -> dict:
    """Where a job's audit rows point (its start, its outcome, a pause or stop asked of it), with ``params``."""
    return {"endpoint": job.endpoint, "bucket": job.bucket, "key": job.prefix, "params": params}


def cancelled(job: Job) -> tuple[JobFailed, str]:
    """The failure and the message of a job stopped on request, from its counters as they are."""
    total = f" of {job.total:,}" if job.total is not None else ""
    failure = JobFailed("Cancelled", f"Cancelled on request after {job.done:,}{total} done.")
    return failure, f"Cancelled: {job.done:,}{total} done, {job.failed:,} failed; the rest was not processed."


# --- starting ------------------------------------------------------------------------------------
def same_job_under_way(job: Job) -> Job | None:
    """A queued or running job of the same actor, kind, place and parameters as the unsaved ``job``."""
    wanted = json.loads(json.dumps(job.params))  # as the row holds them (tuples as lists)
    under_way = Job.objects.filter(
        kind=job.kind, endpoint=job.endpoint, bucket=job.bucket, prefix=job.prefix, actor_id=job.actor_id,
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
    )  # fmt: skip
    return next((same for same in under_way if same.params == wanted), None)


def start(
    task,
    *,
    kind: str,
    title: str,
    actor: audit.Actor,
    endpoint: Endpoint,
    bucket: str = "",
    prefix: str = "",
    params: dict | None = None,
    total: int | None = None,
) -> Job:
    """Create the Job row, audited as ``<kind>.start``, then enqueue ``task(job_id)`` (outside a transaction).

    The same start sent twice (a double click, a form sent again from another tab) while the first job is
    queued or running gives that job back instead of a second one doing the same work.
    """
    job = Job(
        kind=kind, title=title, endpoint=endpoint, bucket=bucket, prefix=prefix, params=params or {}, total=total,
        actor_id=actor.user_id, actor_data=actor.to_json(), task_path=task.module_path,
    )  # fmt: skip
    with locks.held("job-start", kind, endpoint.pk, bucket, prefix, actor.user_id):
        if (same := same_job_under_way(job)) is not None:
            return same
        with audit.change(actor, f"{kind}.start", **audit_where(job, audit_params(job.params))) as ev:
            job.save(force_insert=True)
            ev.params["job_id"] = str(job.pk)
    try:
        task.enqueue(str(job.pk))
    except Exception as exc:  # a job that was never queued must not wait forever (nor block the bucket)
        finish(job, owner="", failure=exc, message=f"Not started: {exc}")
        raise
    job.refresh_from_db()
    return job


# --- running -------------------------------------------------------------------------------------
def run(job_id: str, work: Callable[[Job, Progress], Outcome]) -> None:
    """Run ``work`` for a queued job under a lease, within the job's S3 budget; write its outcome."""
    owner = new_owner()
    job = claim(job_id, owner)
    if job is None:
        log.info("Job %s is not waiting to run (finished, or run by another worker).", job_id)
        return
    progress = Progress(job, owner)
    with heartbeat(job, owner, progress.lost), audit.job_writes(job.kind):
        with s3.time_budget(settings.S3_JOB_CALL_BUDGET, per_call=True):
            try:
                outcome = work(job, progress)
                progress.flush()
            except LeaseLost:
                log.warning("Job %s was taken over by another worker; this run stops.", job.pk)
                return
            except JobPaused:
                _paused(job, owner, progress)
                return
            except JobCancelled:
                job.refresh_from_db(fields=["done", "failed", "total"])
                failure, message = cancelled(job)
                finish(job, owner=owner, failure=failure, message=message)
                return
            except Exception as exc:  # the job must end and say so, whatever stopped it
                try:
                    progress.flush()
                except LeaseLost:
                    return
                text = exc.user_message if isinstance(exc, s3.S3Error) else f"{type(exc).__name__}: {exc}"
                finish(job, owner=owner, failure=exc, message=f"Stopped: {text}")
                raise
    finish(job, owner=owner, outcome=outcome)


def _paused(job: Job, owner: str, progress: Progress) -> None:
    """Leave the job at its last checkpoint, no longer running, for :func:`resume` to queue again."""
    progress.flush()
    job.refresh_from_db(fields=["done", "total"])
    total = f" of {job.total:,}" if job.total is not None else ""
    Job.objects.filter(pk=job.pk, lease_owner=owner, finished_at__isnull=True).update(
        status=Job.Status.PAUSED,
        control="",
        pauses=F("pauses") + 1,
        lease_owner="",
        lease_expires_at=None,
        message=f"Paused after {job.done:,}{total} done. Resume it to go on from there.",
    )


def resume(job: Job) -> bool:
    """Queue a paused job again (it goes on from its checkpoint); False when it was not paused."""
    with transaction.atomic():
        queued = Job.objects.filter(pk=job.pk, status=Job.Status.PAUSED, finished_at__isnull=True).update(
            status=Job.Status.QUEUED, control="", message="Resumed: waiting for a worker…"
        )
        if queued:  # in the same transaction: the job is never queued without its task
            from django.utils.module_loading import import_string

            import_string(job.task_path).enqueue(str(job.pk))
    return bool(queued)


class Progress:
    """What a running job reports. Each write renews the lease and fails with LeaseLost once it is not ours."""

    def __init__(self, job: Job, owner: str):
        self.job, self.owner = job, owner
        self.lost = threading.Event()  # set by the heartbeat when another worker owns the job
        self._done = self._bytes = 0  # advanced, not yet written
        self._written = time.monotonic()
        self._asked_at = 0.0

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor.from_json(self.job.actor_data)

    @property
    def resumed(self) -> bool:
        return self.job.attempts > 1

    @property
    def state(self) -> dict:
        """The work's state at its last checkpoint ({} on a first run)."""
        return dict((self.job.checkpoint or {}).get("state") or {}) if self.resumed else {}

    def _write(self, **fields) -> None:
        if self.lost.is_set():
            raise LeaseLost(str(self.job.pk))
        now = timezone.now()
        lease = {"lease_expires_at": now + timedelta(seconds=lease_seconds()), "heartbeat_at": now}
        if not Job.objects.filter(pk=self.job.pk, lease_owner=self.owner).update(**lease, **fields):
            self.lost.set()
            raise LeaseLost(str(self.job.pk))

    def still_ours(self) -> None:
        """Before each object: LeaseLost as soon as the heartbeat saw another worker take the job over
        (a worker starved past its lease stops here, not at its next write)."""
        if self.lost.is_set():
            raise LeaseLost(str(self.job.pk))

    def set_total(self, total: int) -> None:
        self._write(total=total)
        self.job.total = total

    def advance(self, count: int, nbytes: int = 0) -> None:
        """Count entries done; written at most once a second (so per object is fine), and at each checkpoint.
        A run whose job another worker has taken over stops here (every kind of job counts what it did)."""
        self.still_ours()
        self._done += count
        self._bytes += nbytes
        if time.monotonic() - self._written >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._done or self._bytes:
            self._write(done=F("done") + self._done, done_bytes=F("done_bytes") + self._bytes)
            self._done = self._bytes = 0
        self._written = time.monotonic()

    def fail(self, errors: list[dict]) -> None:
        """Entries that could not be processed: counted, and the first ones kept with their reason."""
        if not errors:
            return
        self.job.refresh_from_db(fields=["errors"])
        kept = (self.job.errors + errors)[:MAX_ERRORS_KEPT]
        self._write(failed=F("failed") + len(errors), errors=kept)
        self.job.errors = kept
        JobFailure.objects.bulk_create(
            JobFailure(
                job_id=self.job.pk, key=str(e.get("key", ""))[:1024], version_id=str(e.get("version_id") or "")[:1024],
                code=str(e.get("code") or "")[:128], message=str(e.get("message") or ""),
            )
            for e in errors
        )  # fmt: skip

    def asked(self, *, now: bool = False) -> str:
        """ "pause" or "cancel" when a user asked for it (looked up at most once a second unless ``now``)."""
        if not now:
            if time.monotonic() - self._asked_at < FLUSH_SECONDS:
                return ""
            self._asked_at = time.monotonic()
        return Job.objects.filter(pk=self.job.pk).values_list("control", flat=True).first() or ""

    def stop_if_asked(self) -> None:
        """Right after a checkpoint: pause or stop here when a user asked for it."""
        asked = self.asked(now=True)
        if asked == "pause":
            raise JobPaused(str(self.job.pk))
        if asked == "cancel":
            raise JobCancelled(str(self.job.pk))

    def note(self, message: str) -> None:
        self._write(message=message)

    def save(self, state: dict) -> None:
        """A checkpoint: ``state`` (JSON, the work's own) with the counters as they are now."""
        self.flush()
        self.job.refresh_from_db(fields=["done", "failed", "done_bytes", "errors"])
        counters = {
            "done": self.job.done,
            "failed": self.job.failed,
            "done_bytes": self.job.done_bytes,
            "errors": len(self.job.errors),
        }
        self.job.checkpoint = {"state": state, "counters": counters}
        self._write(checkpoint=self.job.checkpoint)


# --- ending ----------------------------------------------------------------------------------------
def finish(
    job: Job,
    *,
    owner: str,
    outcome: Outcome | None = None,
    failure: BaseException | None = None,
    message: str = "",
    expired_before: datetime | None = None,
) -> bool:
    """End the job and write its one outcome event, in one transaction. False when it was not ours to end."""
    job.refresh_from_db(fields=["done", "failed", "done_bytes", "total", "attempts"])
    failure = failure if failure is not None else (outcome.error if outcome else None)
    failed = failure is not None or job.failed > 0
    params = {"job_id": str(job.pk), **audit_params(job.params)}
    if outcome is None:  # stopped half way: what it had done
        params.update(done=job.done, failed=job.failed)
    else:
        params.update(outcome.params)
    if job.attempts > 1:
        params["runs"] = job.attempts
    mine = Q(pk=job.pk, finished_at__isnull=True, lease_owner=owner)
    if expired_before is not None:
        mine &= Q(lease_expires_at__lt=expired_before) | Q(lease_expires_at__isnull=True)
    ended = {"status": Job.Status.FAILED if failed else Job.Status.DONE, "finished_at": timezone.now()}
    ended.update(message=outcome.message if outcome else message, lease_owner="", lease_expires_at=None)
    with transaction.atomic():
        if not Job.objects.filter(mine).update(**ended):
            return False
        try:
            with audit.change(audit.Actor.from_json(job.actor_data), job.kind, **audit_where(job, params)) as ev:
                ev.after = outcome.after if outcome else None
                if failure is not None:
                    raise failure
        except BaseException as exc:  # recorded as the failed outcome; only the one we raised is expected
            if exc is not failure:
                raise
    return True
