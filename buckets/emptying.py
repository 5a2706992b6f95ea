"""Emptying and deleting a bucket, and counting its objects: the services behind those background jobs.

Everything goes page by page (1,000 entries a listing, 1,000 keys a DeleteObjects), counting as it
goes, so a bucket of any size is never held in memory. Entries S3 refuses to delete (object lock)
are reported by key; an error that stops the work says what is left in the bucket.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from buckets import s3
from buckets.jobs import Progress
from buckets.models import Bucket, Job
from buckets.services import reads
from console import audit
from console.models import Endpoint

# The confirm page counts at most this many entries before it says "more than".
CONFIRM_COUNT_LIMIT = 100_000
# Entries a listing page and a DeleteObjects call (S3's maximum for both is 1,000).
PAGE_SIZE = 1000
LOCK_HINT = "The version is probably protected by object lock (retention or legal hold)."


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


@dataclass
class Tally:
    """What the job did so far (for its message and the audit row)."""

    deleted: int = 0
    failed: int = 0
    bytes: int = 0
    aborted_uploads: int = 0
    failed_uploads: int = 0
    versioned: bool = False
    first_error: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("first_error")
        return data


@dataclass
class NotEmptied(s3.S3Error):
    """Some entries were refused one by one: raised inside the audit block so its row says "failed"."""


@dataclass
class Interrupted(s3.S3Error):
    """An S3 error stopped the work half way; ``left`` says what is still in the bucket."""

    left: str = ""

    @property
    def user_message(self) -> str:
        return f"{super().user_message} {self.left}".strip()


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"


def _describe(counts: DryRun) -> str:
    parts = [_n(counts.objects, "object", "objects")]
    if counts.versioned:
        parts += [_n(counts.versions, "older version", "older versions")]
        parts += [_n(counts.delete_markers, "delete marker", "delete markers")]
    parts.append(_n(counts.uploads, "incomplete upload", "incomplete uploads"))
    more = "" if counts.complete else "at least "
    return more + ", ".join(parts)


def _left_message(endpoint: Endpoint, bucket: str, job: Job, tally: Tally) -> str:
    """Say what is still in the bucket: re-count it, or estimate from the job's counts if S3 fails again."""
    try:
        left = dry_run(endpoint, bucket, limit=CONFIRM_COUNT_LIMIT)
    except s3.S3Error:
        done = tally.deleted + tally.failed + tally.aborted_uploads + tally.failed_uploads
        if job.total is None:
            return f"Deleted {_entries(tally, tally.deleted)} before it stopped; the rest is still in the bucket."
        return f"About {_entries(tally, max(job.total - done, 0))} still in the bucket (could not re-count)."
    return f"Still in the bucket: {_describe(left)}. Start it again to continue."


class _Emptier:
    """Deletes every entry of one bucket, page by page, reporting to the job's progress."""

    def __init__(self, endpoint: Endpoint, bucket: str, progress: Progress):
        self.endpoint, self.bucket, self.progress = endpoint, bucket, progress
        self.versioning = ""  # set from the dry run before run()
        self.tally = Tally()
        self._lock_enabled: bool | None = None

    def run(self) -> None:
        self.tally.versioned = bool(self.versioning)
        if self.versioning:
            pages = s3.iter_version_pages(endpoint=self.endpoint, bucket=self.bucket, page_size=PAGE_SIZE)
        else:
            pages = s3.iter_object_pages(endpoint=self.endpoint, bucket=self.bucket, page_size=PAGE_SIZE)
        for page in pages:
            self._delete_page(page)
        for uploads in s3.iter_upload_pages(endpoint=self.endpoint, bucket=self.bucket, page_size=PAGE_SIZE):
            self._abort_uploads(uploads)

    def _delete_page(self, page: list[dict]) -> None:
        if not page:
            return
        # Every version is named on a versioned bucket (a plain key would only add a delete marker).
        batch = [{"key": e["key"], "version_id": e["version_id"] if self.versioning else ""} for e in page]
        refused = s3.delete_objects(endpoint=self.endpoint, bucket=self.bucket, entries=batch)
        refused_ids = {(r["key"], r["version_id"] if self.versioning else "") for r in refused}
        nbytes = sum(
            e["size"] for e, b in zip(page, batch, strict=True) if (b["key"], b["version_id"]) not in refused_ids
        )
        self.tally.deleted += len(page) - len(refused)
        self.tally.failed += len(refused)
        self.tally.bytes += nbytes
        self.progress.advance(len(page) - len(refused), nbytes)
        if refused:
            self._report([self._explain(r) for r in refused])

    def _abort_uploads(self, uploads: list[dict]) -> None:
        for upload in uploads:
            try:
                s3.abort_multipart_upload(
                    endpoint=self.endpoint, bucket=self.bucket, key=upload["key"], upload_id=upload["upload_id"]
                )
            except s3.S3Error as exc:
                if exc.code != "AccessDenied":
                    raise
                self.tally.failed_uploads += 1
                self._report(
                    [{"key": upload["key"], "upload_id": upload["upload_id"], "code": exc.code, "message": exc.message}]
                )
                continue
            self.tally.aborted_uploads += 1
            self.progress.advance(1)

    def _explain(self, refused: dict) -> dict:
        if refused["code"] == "AccessDenied" and self._object_lock_enabled():
            refused = {**refused, "message": f"{refused['message']} {LOCK_HINT}".strip()}
        return refused

    def _object_lock_enabled(self) -> bool:
        if self._lock_enabled is None:
            try:
                self._lock_enabled = reads.object_lock_enabled(endpoint=self.endpoint, bucket=self.bucket)
            except s3.S3Error:
                self._lock_enabled = False
        return self._lock_enabled

    def _report(self, errors: list[dict]) -> None:
        if not self.tally.first_error:
            self.tally.first_error = errors[0]
        self.progress.fail(errors)


def _start(job: Job, progress: Progress, action: str) -> DryRun:
    """Count first (the progress bar's total), and record the start with the counts."""
    progress.note("Counting what is in the bucket…")
    counts = dry_run(job.endpoint, job.bucket)
    progress.set_total(counts.entries + counts.uploads)
    audit.record(
        progress.actor,
        action,
        outcome="ok",
        endpoint=job.endpoint,
        bucket=job.bucket,
        params={"job": str(job.pk), **counts.as_dict()},
    )
    progress.note(f"Deleting {_describe(counts)}…")
    return counts


def _empty_in_audit(job: Job, emptier: _Emptier, ev: audit.Pending, what: str) -> None:
    """Empty the bucket inside an ``audit.change`` block; raise so that the audit row says "failed"."""
    try:
        emptier.run()
    except s3.S3Error as exc:
        ev.params.update(emptier.tally.as_dict())
        ev.params["left"] = left = _left_message(job.endpoint, job.bucket, job, emptier.tally)
        raise Interrupted(exc.code, exc.message, exc.request_id, exc.status, left=left) from exc
    tally = emptier.tally
    ev.params.update(tally.as_dict())
    if tally.failed or tally.failed_uploads:
        first = tally.first_error
        raise NotEmptied(
            first.get("code") or "NotDeleted",
            f"{_entries(tally, tally.failed + tally.failed_uploads)} could not be deleted, {what}. "
            f"First: {first.get('key', '')}: {first.get('message', '')}",
        )


def _done_text(tally: Tally) -> str:
    text = f"deleted {_entries(tally, tally.deleted)} ({filesizeformat(tally.bytes)})"
    if tally.aborted_uploads:
        text += f" and aborted {_n(tally.aborted_uploads, 'incomplete upload', 'incomplete uploads')}"
    return text


def _entries(tally: Tally, count: int) -> str:
    if tally.versioned:
        return _n(count, "version or delete marker", "versions and delete markers")
    return _n(count, "object", "objects")


def _failed_text(tally: Tally) -> str:
    count = tally.failed + tally.failed_uploads
    refused = _n(count, "version", "versions") if tally.versioned else _n(count, "object", "objects")
    return f"{refused} could not be deleted (listed below, still in the bucket); {_done_text(tally)}."


def empty_bucket(job: Job, progress: Progress) -> str:
    """The work of a "bucket.empty" job: delete every object, version, delete marker and incomplete upload."""
    emptier = _Emptier(job.endpoint, job.bucket, progress)
    try:
        with audit.change(
            progress.actor, "bucket.empty", endpoint=job.endpoint, bucket=job.bucket, params={"job": str(job.pk)}
        ) as ev:
            emptier.versioning = _start(job, progress, "bucket.empty.start").versioning
            _empty_in_audit(job, emptier, ev, "the bucket is not empty")
            ev.after = {"emptied": True}
    except NotEmptied:
        return f"Not emptied: {_failed_text(emptier.tally)}"
    Bucket.objects.filter(endpoint=job.endpoint, name=job.bucket).update(
        object_count=0, total_bytes=0, counted_at=timezone.now()
    )
    return f"Emptied: {_done_text(emptier.tally)}."


def delete_bucket(job: Job, progress: Progress) -> str:
    """The work of a "bucket.delete" job: empty the bucket, DeleteBucket, then drop its record."""
    emptier = _Emptier(job.endpoint, job.bucket, progress)
    try:
        with audit.change(
            progress.actor, "bucket.delete", endpoint=job.endpoint, bucket=job.bucket, params={"job": str(job.pk)}
        ) as ev:
            emptier.versioning = _start(job, progress, "bucket.delete.start").versioning
            _empty_in_audit(job, emptier, ev, "so the bucket was not deleted")
            try:
                s3.delete_bucket(endpoint=job.endpoint, bucket=job.bucket)
            except s3.S3Error as exc:
                ev.params["left"] = left = _left_message(job.endpoint, job.bucket, job, emptier.tally)
                raise Interrupted(exc.code, exc.message, exc.request_id, exc.status, left=left) from exc
            Bucket.objects.filter(endpoint=job.endpoint, name=job.bucket).delete()
            ev.after = {"deleted": True}
    except NotEmptied:
        return f"Bucket not deleted: {_failed_text(emptier.tally)}"
    return f"Bucket “{job.bucket}” deleted: {_done_text(emptier.tally)}."


def count_objects(job: Job, progress: Progress) -> str:
    """The work of a "bucket.count" job: page ListObjectsV2 and store the count on the bucket record."""
    objects = nbytes = 0
    with audit.change(progress.actor, "bucket.count", endpoint=job.endpoint, bucket=job.bucket) as ev:
        for page in s3.iter_object_pages(endpoint=job.endpoint, bucket=job.bucket, page_size=PAGE_SIZE):
            size = sum(entry["size"] for entry in page)
            objects, nbytes = objects + len(page), nbytes + size
            progress.advance(len(page), size)
        Bucket.objects.update_or_create(
            endpoint=job.endpoint,
            name=job.bucket,
            defaults={"object_count": objects, "total_bytes": nbytes, "counted_at": timezone.now()},
        )
        ev.after = {"objects": objects, "bytes": nbytes}
    return f"{objects:,} objects, {filesizeformat(nbytes)} (current versions)."
