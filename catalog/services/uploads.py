"""Incomplete multipart uploads older than N days: aborted in one audited change, or as a job when many."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from buckets import jobs, s3
from buckets.jobs import Outcome, Progress
from buckets.models import Job
from console import access, audit
from console.models import Endpoint

ABORT_OLD = "multipart.abort_old"


def old_uploads(endpoint: Endpoint, bucket: str, days: int, allowed: list[str] | None, limit: int | None = None):
    """The uploads started more than ``days`` ago under the allowed prefixes, in listing order."""
    cutoff = timezone.now() - timedelta(days=days)
    found = 0
    for page in s3.iter_upload_pages(endpoint=endpoint, bucket=bucket):
        for upload in page:
            if upload["initiated"] and upload["initiated"] < cutoff and access.key_allowed(allowed, upload["key"]):
                yield upload
                found += 1
                if limit is not None and found >= limit:
                    return


def multipart_abort_old(
    *, actor: audit.Actor, endpoint: Endpoint, bucket: str, days: int, allowed: list[str] | None
) -> int | Job:
    """Abort the uploads older than ``days``: here when at most INDEX_ABORT_INLINE, else as a job."""
    inline = settings.INDEX_ABORT_INLINE
    first = list(old_uploads(endpoint, bucket, days, allowed, limit=inline + 1))
    params = {"older_than_days": days, "prefixes": allowed}
    if len(first) > inline:
        from catalog import tasks

        title = f"Abort incomplete uploads older than {days} days in {bucket}"
        return jobs.start(
            tasks.multipart_abort_old, kind=ABORT_OLD, title=title, actor=actor, endpoint=endpoint, bucket=bucket,
            params=params,
        )  # fmt: skip
    with audit.change(actor, ABORT_OLD, endpoint=endpoint, bucket=bucket, params=params) as ev:
        for upload in first:
            s3.abort_multipart_upload(
                endpoint=endpoint, bucket=bucket, key=upload["key"], upload_id=upload["upload_id"]
            )
        ev.after = {"aborted": len(first), "keys": [u["key"] for u in first[:100]]}
    return len(first)


def run_abort_old(job: Job, progress: Progress) -> Outcome:
    """The job: abort as it lists (a resumed run lists again; what was aborted is gone from the listing)."""
    days, allowed = job.params["older_than_days"], job.params["prefixes"]
    errors = []
    for upload in old_uploads(job.endpoint, job.bucket, days, allowed):
        try:
            s3.abort_multipart_upload(
                endpoint=job.endpoint, bucket=job.bucket, key=upload["key"], upload_id=upload["upload_id"]
            )
            progress.advance(1)
        except s3.S3Error as exc:
            errors.append({"key": upload["key"], "code": exc.code, "message": exc.user_message})
            if len(errors) >= 100:
                progress.fail(errors)
                errors = []
    progress.fail(errors)
    progress.flush()
    job.refresh_from_db(fields=["done", "failed"])
    message = f"Aborted {job.done:,} incomplete uploads older than {days} days."
    if job.failed:
        message += f" {job.failed:,} could not be aborted."
    error = jobs.JobFailed("NotAborted", f"{job.failed:,} uploads could not be aborted.") if job.failed else None
    return Outcome(message, after={"aborted": job.done, "failed": job.failed}, error=error)
