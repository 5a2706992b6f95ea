"""Bulk actions over many objects, as background jobs: tags, storage class, a content header, a canned ACL,
restore from an archive, copy, move, delete. The services the views call: the dry run, the start, and the
user's pause, resume and cancel of a running job.

Where the keys come from is a :class:`~buckets.services.bulk_sources.KeySource` (``bulk_sources``); the
actions and what each does to one object are in ``bulk_actions``; the work of the job in ``bulk_run``.
Every entry is checked against the role of whoever started the job, on that key (``console.access``):
an entry outside the user's scope is neither touched nor counted, in the dry run as in the job. The audit
trail gets one ``<kind>.start`` and one outcome event per job.
"""

from __future__ import annotations

from dataclasses import dataclass

from buckets import jobs, tasks
from buckets.models import Job
from buckets.services.bulk_actions import ACTIONS, Scope, applies, needed_role
from buckets.services.bulk_sources import KeySource, source_pages
from buckets.services.prefixes import MAX_DRY_RUN_PAGES
from console import audit
from console.models import Endpoint


def is_bulk(job: Job) -> bool:
    """Bulk jobs look at pause and cancel requests; other jobs run to their end."""
    return job.kind.startswith("bulk.")


# --- dry run --------------------------------------------------------------------------------------
@dataclass
class DryRun:
    count: int = 0
    bytes: int | None = 0
    complete: bool = True


def bulk_count(
    *, user_id: int | None, endpoint: Endpoint, bucket: str, action: str, options: dict, source: KeySource,
    max_pages: int = MAX_DRY_RUN_PAGES,
) -> DryRun:  # fmt: skip
    """What the job would work on: the entries in the user's scope (and that the action changes, when the
    listing tells); at most ``max_pages`` pages, then ``complete=False``. No write."""
    scope = Scope(user_id, endpoint, bucket, needed_role(action, options))
    result = DryRun()
    for number, (page, _) in enumerate(source_pages(endpoint, bucket, source.to_params(), source.keys, {}), start=1):
        for entry in scope.keep(page):
            if applies(action, options, entry):
                result.count += 1
                if entry.get("size") is None:
                    result.bytes = None
                elif result.bytes is not None:
                    result.bytes += entry["size"]
        if number >= max_pages:
            result.complete = False
            break
    return result


# --- starting and controlling ---------------------------------------------------------------------
class BulkRefused(Exception):
    """A bulk job that cannot start as asked; the message is for the page."""


def _check_destination(source: KeySource, bucket: str, options: dict) -> None:
    if options.get("dest_bucket") != bucket:
        return
    dest = options["dest_prefix"]
    folders = [source.spec["prefix"]] if source.kind == "prefix" else source.spec.get("folders", [])
    for folder in folders:
        if dest.startswith(folder):
            raise BulkRefused(f"“{dest or '/'}” is inside “{folder or '/'}”: a folder cannot be copied into itself.")
    if dest == source.base_prefix:
        raise BulkRefused("That is where the objects are: choose another folder or bucket.")


def bulk_start(
    *, actor: audit.Actor, endpoint: Endpoint, bucket: str, action: str, options: dict, source: KeySource,
    rate: int = 0, total: int | None = None,
) -> Job:  # fmt: skip
    """Start a bulk job (audited as ``bulk.<action>.start``); the work is ``bulk_run.run_bulk``."""
    if action not in ACTIONS:
        raise BulkRefused("Unknown action.")
    if action in ("copy", "move"):
        _check_destination(source, bucket, options)
    params = {"action": action, "options": options, "source": source.to_params(), "rate": rate}
    if source.keys:
        params["keys"] = source.keys  # the audit rows keep their count and the first ones
    return jobs.start(
        tasks.objects_bulk,
        kind=f"bulk.{action}",
        title=f"{ACTIONS[action].label}: {source.description} in {bucket}",
        actor=actor,
        endpoint=endpoint,
        bucket=bucket,
        prefix=source.base_prefix,
        params=params,
        total=total,
    )


def _where(job: Job) -> dict:
    return jobs.audit_where(job, {"job_id": str(job.pk)})


def job_pause(*, actor: audit.Actor, job: Job) -> bool:
    """Ask a queued or running bulk job to pause at its next checkpoint (audited as ``job.pause``)."""
    with audit.change(actor, "job.pause", **_where(job)) as ev:
        active = [Job.Status.QUEUED, Job.Status.RUNNING]
        asked = Job.objects.filter(pk=job.pk, status__in=active, finished_at__isnull=True).update(control="pause")
        ev.after = {"asked": bool(asked)}
    return bool(asked)


def job_resume(*, actor: audit.Actor, job: Job) -> bool:
    """Queue a paused bulk job again; it goes on from where it paused (audited as ``job.resume``)."""
    with audit.change(actor, "job.resume", **_where(job)) as ev:
        ev.after = {"resumed": jobs.resume(job)}
    return ev.after["resumed"]


def job_cancel(*, actor: audit.Actor, job: Job) -> bool:
    """Stop a bulk job for good (audited as ``job.cancel``): a paused or waiting one ends at once with its
    outcome event; a running one at its next check (what it did stays done)."""
    with audit.change(actor, "job.cancel", **_where(job)) as ev:
        job.refresh_from_db()
        ended = False
        if job.status == Job.Status.PAUSED or (job.status == Job.Status.QUEUED and not job.lease_owner):
            failure, message = jobs.cancelled(job)
            ended = jobs.finish(job, owner="", failure=failure, message=message)
        asked = ended or bool(
            Job.objects.filter(pk=job.pk, finished_at__isnull=True)
            .exclude(status=Job.Status.PAUSED)
            .update(control="cancel")
        )
        ev.after = {"ended": ended, "asked": asked}
    return asked
