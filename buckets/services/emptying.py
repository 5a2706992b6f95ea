"""Emptying and deleting a bucket, and counting its objects: starting those jobs, the dry run the
confirmation page shows, and the work of the count job.

The work of emptying and deleting (page by page, resumable, refusals reported by key) is in ``emptier``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.utils import timezone

from buckets import job_recovery, jobs, s3, tasks
from buckets.jobs import Outcome, Progress
from buckets.models import Bucket, Job
from buckets.services import reads
from console import audit
from console.models import Endpoint
from console.sizes import human_size

# The confirm page counts at most this many entries before it says "more than".
CONFIRM_COUNT_LIMIT = 100_000
# Entries a listing page and a DeleteObjects call (S3's maximum for both is 1,000).
PAGE_SIZE = 1000
EMPTY, DELETE, COUNT = "bucket.empty", "bucket.delete", "bucket.count"


# --- starting the jobs ----------------------------------------------------------------------------
def running_job(*, endpoint: Endpoint, bucket: str, kinds: tuple[str, ...] = (EMPTY, DELETE)) -> Job | None:
    """The empty/delete (or count) job under way on the bucket; one whose worker died is taken over first."""
    return job_recovery.active_job(endpoint=endpoint, bucket=bucket, kinds=kinds)


def bucket_empty_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str) -> Job:
    return jobs.start(
        tasks.bucket_empty, kind=EMPTY, title=f"Empty bucket {bucket}", actor=actor, endpoint=endpoint, bucket=bucket
    )


def bucket_delete_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str) -> Job:
    return jobs.start(
        tasks.bucket_delete, kind=DELETE, title=f"Delete bucket {bucket}", actor=actor, endpoint=endpoint, bucket=bucket
    )


def bucket_count_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str) -> Job:
    return jobs.start(
        tasks.bucket_count,
        kind=COUNT,
        title=f"Count objects in {bucket}",
        actor=actor,
        endpoint=endpoint,
        bucket=bucket,
    )


# --- the dry run ------------------------------------------------------------------------------------
@dataclass
class DryRun:
    """What emptying would delete right now."""

    versioning: str = ""  # "Enabled", "Suspended" or "" (never versioned)
    objects: int = 0  # current objects
    versions: int = 0  # noncurrent versions
    delete_markers: int = 0
    bytes: int = 0
    uploads: int = 0  # incomplete multipart uploads
    complete: bool = True  # False when counting stopped at a limit
    object_lock: bool = False  # versions under retention or legal hold cannot be deleted

    @property
    def versioned(self) -> bool:
        return bool(self.versioning)

    @property
    def entries(self) -> int:
        return self.objects + self.versions + self.delete_markers

    @property
    def is_empty(self) -> bool:
        return self.complete and not self.entries and not self.uploads

    def as_dict(self) -> dict:
        return asdict(self)


def dry_run(endpoint: Endpoint, bucket: str, *, limit: int | None = None) -> DryRun:
    """Count what emptying the bucket would delete, listing page by page; stop after ``limit`` entries."""
    counts = DryRun(versioning=reads.versioning_status(endpoint=endpoint, bucket=bucket))
    if counts.versioned:  # object lock needs versioning: no need to ask an unversioned bucket
        counts.object_lock = reads.object_lock_enabled(endpoint=endpoint, bucket=bucket)
        for page in s3.iter_version_pages(endpoint=endpoint, bucket=bucket, page_size=PAGE_SIZE):
            for entry in page:
                if entry["delete_marker"]:
                    counts.delete_markers += 1
                elif entry["is_latest"]:
                    counts.objects += 1
                else:
                    counts.versions += 1
                counts.bytes += entry["size"]
            if limit and counts.entries >= limit:
                counts.complete = False
                break
    else:
        for page in s3.iter_object_pages(endpoint=endpoint, bucket=bucket, page_size=PAGE_SIZE):
            counts.objects += len(page)
            counts.bytes += sum(entry["size"] for entry in page)
            if limit and counts.entries >= limit:
                counts.complete = False
                break
    for page in s3.iter_upload_pages(endpoint=endpoint, bucket=bucket, page_size=PAGE_SIZE):
        counts.uploads += len(page)
        if limit and counts.uploads >= limit:
            counts.complete = False
            break
    return counts


# --- counting ----------------------------------------------------------------------------------------
def count_objects(job: Job, progress: Progress) -> Outcome:
    """The work of a "bucket.count" job: page ListObjectsV2 and store the count on the bucket record."""
    state = {"start_after": "", "objects": 0, "bytes": 0, **progress.state}
    while True:
        page = s3.list_objects_page(
            endpoint=job.endpoint, bucket=job.bucket, start_after=state["start_after"], max_keys=PAGE_SIZE
        )
        size = sum(entry["size"] for entry in page["objects"])
        state["objects"] += len(page["objects"])
        state["bytes"] += size
        progress.advance(len(page["objects"]), size)
        if not (page["truncated"] and page["objects"]):
            break
        state["start_after"] = page["objects"][-1]["key"]
        progress.save(state)
    objects, nbytes = state["objects"], state["bytes"]
    Bucket.objects.update_or_create(
        endpoint=job.endpoint,
        name=job.bucket,
        defaults={"object_count": objects, "total_bytes": nbytes, "counted_at": timezone.now()},
    )
    return Outcome(
        f"{objects:,} objects, {human_size(nbytes)} (current versions).",
        after={"objects": objects, "bytes": nbytes},
    )
