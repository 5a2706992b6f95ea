"""The work of the "bucket.empty" and "bucket.delete" jobs: delete every entry of a bucket, page by page.

Everything goes page by page (``emptying.PAGE_SIZE`` entries a listing and a DeleteObjects), counting as
it goes, so a bucket of any size is never held in memory. After each page the job saves a checkpoint
(the listing's position and the tally): a run resumed after its worker died lists on from there, and
whatever the lost run deleted after its last checkpoint is simply no longer listed. Entries S3 refuses
to delete (object lock) are reported by key; an error that stops the work says what is left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.utils import timezone

from buckets import s3
from buckets.jobs import Outcome, Progress
from buckets.models import Bucket, Job
from buckets.services import emptying, reads
from catalog.services import follow  # the bucket index follows the changes below (catalog app)
from console.sizes import human_size

LOCK_HINT = "The version is probably protected by object lock (retention or legal hold)."


@dataclass
class Tally:
    """What the job did so far (for its message and the audit row); saved with every checkpoint."""

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
    """Some entries were refused one by one: the outcome says "failed" with the first refusal."""


@dataclass
class Interrupted(s3.S3Error):
    """An S3 error stopped the work half way; ``left`` says what is still in the bucket."""

    left: str = ""

    @property
    def user_message(self) -> str:
        return f"{super().user_message} {self.left}".strip()


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"


def _describe(counts: emptying.DryRun) -> str:
    parts = [_n(counts.objects, "object", "objects")]
    if counts.versioned:
        parts += [_n(counts.versions, "older version", "older versions")]
        parts += [_n(counts.delete_markers, "delete marker", "delete markers")]
    parts.append(_n(counts.uploads, "incomplete upload", "incomplete uploads"))
    more = "" if counts.complete else "at least "
    return more + ", ".join(parts)


class _Emptier:
    """Deletes every entry of one bucket, page by page, from where the job's last checkpoint left off.

    Its state (JSON, in the checkpoint): the dry run's counts, the phase ("entries", "uploads",
    "bucket"), the listing's position in that phase, and the tally.
    """

    def __init__(self, job: Job, progress: Progress):
        self.endpoint, self.bucket, self.job, self.progress = job.endpoint, job.bucket, job, progress
        state = progress.state
        self.counts = emptying.DryRun(**state["counts"]) if "counts" in state else None
        self.phase: str = state.get("phase", "entries")
        self.marker: dict = state.get("marker", {})
        self.tally = Tally(**state.get("tally", {}))
        self._lock_enabled: bool | None = None

    def count(self) -> None:
        """Count first (the progress bar's total); a resumed run has the counts already."""
        if self.counts is None:
            self.progress.note("Counting what is in the bucket…")
            self.counts = emptying.dry_run(self.endpoint, self.bucket)
            self.progress.set_total(self.counts.entries + self.counts.uploads)
            self.tally.versioned = self.counts.versioned
            self.save()
        self.progress.note(f"Deleting {_describe(self.counts)}…")

    def save(self) -> None:
        state = {"counts": self.counts.as_dict(), "phase": self.phase, "marker": self.marker}
        self.progress.save({**state, "tally": asdict(self.tally)})

    def run(self) -> None:
        if self.phase == "entries":
            self._entries()
            self.phase, self.marker = "uploads", {}
            self.save()
        if self.phase == "uploads":
            self._uploads()

    def _entries(self) -> None:
        while True:
            if self.counts.versioned:
                page = s3.list_versions_page(
                    endpoint=self.endpoint, bucket=self.bucket, max_keys=emptying.PAGE_SIZE, **self.marker
                )
                entries, following = page["versions"], page["next"]
            else:
                page = s3.list_objects_page(
                    endpoint=self.endpoint,
                    bucket=self.bucket,
                    max_keys=emptying.PAGE_SIZE,
                    start_after=self.marker.get("start_after", ""),
                )
                entries = page["objects"]
                following = {"start_after": entries[-1]["key"]} if page["truncated"] and entries else None
            self._delete_page(entries)
            if not following:
                return
            self.marker = following
            self.save()

    def _delete_page(self, page: list[dict]) -> None:
        if not page:
            return
        # Every version is named on a versioned bucket (a plain key would only add a delete marker).
        batch = [{"key": e["key"], "version_id": e["version_id"] if self.counts.versioned else ""} for e in page]
        refused = s3.delete_objects(endpoint=self.endpoint, bucket=self.bucket, entries=batch)
        refused_ids = {(r["key"], r["version_id"] if self.counts.versioned else "") for r in refused}
        nbytes = sum(
            e["size"] for e, b in zip(page, batch, strict=True) if (b["key"], b["version_id"]) not in refused_ids
        )
        self.tally.deleted += len(page) - len(refused)
        self.tally.failed += len(refused)
        self.tally.bytes += nbytes
        self.progress.advance(len(page) - len(refused), nbytes)
        if refused:
            self._report([self._explain(r) for r in refused])

    def _uploads(self) -> None:
        while True:
            page = s3.list_uploads_page(
                endpoint=self.endpoint, bucket=self.bucket, max_uploads=emptying.PAGE_SIZE, **self.marker
            )
            for upload in page["uploads"]:
                self._abort(upload)
            if not page["next"]:
                return
            self.marker = page["next"]
            self.save()

    def _abort(self, upload: dict) -> None:
        try:  # an upload already gone (aborted by the run before a resume) is not an error
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
            return
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

    # --- the outcome ---
    def params(self, **extra) -> dict:
        counted = self.counts.as_dict() if self.counts else {}
        return {"counted": counted, **self.tally.as_dict(), **extra}

    def interrupted(self, exc: s3.S3Error) -> Outcome:
        """An S3 error stopped the work: say what is left (re-counted, or estimated if S3 fails again)."""
        left = self._left()
        error = Interrupted(exc.code, exc.message, exc.request_id, exc.status, left=left)
        return Outcome(message=f"Stopped: {error.user_message}", params=self.params(left=left), error=error)

    def _left(self) -> str:
        try:
            left = emptying.dry_run(self.endpoint, self.bucket, limit=emptying.CONFIRM_COUNT_LIMIT)
        except s3.S3Error:
            tally = self.tally
            done = tally.deleted + tally.failed + tally.aborted_uploads + tally.failed_uploads
            if self.job.total is None:
                return f"Deleted {_entries(tally, tally.deleted)} before it stopped; the rest is still in the bucket."
            return f"About {_entries(tally, max(self.job.total - done, 0))} still in the bucket (could not re-count)."
        return f"Still in the bucket: {_describe(left)}. Start it again to continue."

    def refusals(self, what: str) -> NotEmptied | None:
        tally = self.tally
        if not (tally.failed or tally.failed_uploads):
            return None
        first = tally.first_error
        return NotEmptied(
            first.get("code") or "NotDeleted",
            f"{_entries(tally, tally.failed + tally.failed_uploads)} could not be deleted, {what}. "
            f"First: {first.get('key', '')}: {first.get('message', '')}",
        )


def _done_text(tally: Tally) -> str:
    text = f"deleted {_entries(tally, tally.deleted)} ({human_size(tally.bytes)})"
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


def empty_bucket(job: Job, progress: Progress) -> Outcome:
    """The work of a "bucket.empty" job: delete every object, version, delete marker and incomplete upload."""
    emptier = _Emptier(job, progress)
    emptier.count()
    try:
        emptier.run()
    except s3.S3Error as exc:
        return emptier.interrupted(exc)
    if refused := emptier.refusals("the bucket is not empty"):
        return Outcome(f"Not emptied: {_failed_text(emptier.tally)}", params=emptier.params(), error=refused)
    Bucket.objects.filter(endpoint=job.endpoint, name=job.bucket).update(
        object_count=0, total_bytes=0, counted_at=timezone.now()
    )
    follow.bucket_emptied(endpoint=job.endpoint, bucket=job.bucket)  # the bucket index (catalog)
    return Outcome(f"Emptied: {_done_text(emptier.tally)}.", after={"emptied": True}, params=emptier.params())


def delete_bucket(job: Job, progress: Progress) -> Outcome:
    """The work of a "bucket.delete" job: empty the bucket, DeleteBucket, then drop its record."""
    emptier = _Emptier(job, progress)
    try:
        if emptier.phase != "bucket":
            emptier.count()
            emptier.run()
            if refused := emptier.refusals("so the bucket was not deleted"):
                return Outcome(
                    f"Bucket not deleted: {_failed_text(emptier.tally)}", params=emptier.params(), error=refused
                )
            emptier.phase = "bucket"
            emptier.save()
        try:
            s3.delete_bucket(endpoint=job.endpoint, bucket=job.bucket)
        except s3.S3Error as exc:
            # Resumed after DeleteBucket went through but before the job could say so: it is gone, as asked.
            if not (progress.resumed and exc.code == "NoSuchBucket"):
                raise
    except s3.S3Error as exc:
        return emptier.interrupted(exc)
    Bucket.objects.filter(endpoint=job.endpoint, name=job.bucket).delete()
    follow.bucket_emptied(endpoint=job.endpoint, bucket=job.bucket, deleted=True)  # its index goes too
    return Outcome(
        f"Bucket “{job.bucket}” deleted: {_done_text(emptier.tally)}.", after={"deleted": True}, params=emptier.params()
    )
