"""Crawling a bucket into the index: a background job over ListObjectsV2 pages (and ListObjectVersions
when asked), throttled, resumable from its last key after a worker dies (``buckets.jobs`` checkpoints).

Memory holds one page at a time. Each page is written with one upsert; rows the crawl did not see
again (``Entry.seen`` below the crawl's generation) are what was deleted outside the console. A
re-crawl counts what changed outside the console per top-level prefix (:class:`OutsideChange`).
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from buckets import jobs, s3
from buckets.job_recovery import active_job
from buckets.jobs import Outcome, Progress
from buckets.models import Job
from buckets.pace import Throttle
from catalog.models import Entry, IndexedBucket, OutsideChange
from catalog.services import stats, upsert
from console import audit

CRAWL = "index.crawl"
INVENTORY = "index.inventory"
KINDS = (CRAWL, INVENTORY)
MAX_PREFIXES_COUNTED = 500  # outside changes are counted for this many top-level prefixes, the rest together
OTHER = "(other prefixes)"
PAGE_KEYS = 1000  # keys a ListObjectsV2 call asks for (S3 answers at most 1,000)
UPLOADS_MEASURED = 1000  # incomplete uploads whose parts are listed (one request each); the rest are counted


def rate_of(indexed: IndexedBucket) -> float:
    return (
        indexed.requests_per_second if indexed.requests_per_second is not None else settings.INDEX_REQUESTS_PER_SECOND
    )


# --- starting ------------------------------------------------------------------------------------
def running(indexed: IndexedBucket) -> Job | None:
    return active_job(endpoint=indexed.endpoint, bucket=indexed.bucket, kinds=KINDS)


def index_crawl_start(*, actor: audit.Actor, indexed: IndexedBucket, foreground: bool = False) -> Job:
    """Start a crawl (audited ``index.crawl.start``); the one already queued or running if there is one.

    ``foreground``: not enqueued — the caller runs it (``manage.py index_bucket``); its task is recorded
    all the same, so a worker resumes it if the foreground process dies.
    """
    from catalog import tasks

    if (job := running(indexed)) is not None:
        return job
    params = {"bucket": indexed.bucket, "versions": indexed.with_versions, "details": indexed.with_details}
    return _start(tasks.index_crawl, CRAWL, f"Index {indexed.bucket}", actor, indexed, params, foreground)


def _start(task, kind, title, actor, indexed, params, foreground) -> Job:
    if foreground:
        with audit.change(
            actor, f"{kind}.start", endpoint=indexed.endpoint, bucket=indexed.bucket, params=params
        ) as ev:
            job = Job.objects.create(
                kind=kind, title=title, endpoint=indexed.endpoint, bucket=indexed.bucket, params=params,
                actor_id=actor.user_id, actor_data=actor.to_json(), task_path=task.module_path,
            )  # fmt: skip
            ev.params["job_id"] = str(job.pk)
    else:
        job = jobs.start(task, kind=kind, title=title, actor=actor, endpoint=indexed.endpoint,
                         bucket=indexed.bucket, params=params)  # fmt: skip
    IndexedBucket.objects.filter(pk=indexed.pk).update(last_job=job)
    return job


def due_buckets() -> list[IndexedBucket]:
    """Indexed buckets whose last crawl is older than their re-crawl interval (and none runs)."""
    now = timezone.now()
    due = []
    for indexed in IndexedBucket.objects.select_related("endpoint").exclude(source=IndexedBucket.Source.INVENTORY):
        hours = indexed.recrawl_hours if indexed.recrawl_hours is not None else settings.INDEX_RECRAWL_HOURS
        if not hours:
            continue
        old = indexed.indexed_at is None or indexed.indexed_at < now - timedelta(hours=hours)
        if old and running(indexed) is None:
            due.append(indexed)
    return due


SCHEDULER = audit.Actor(user_id=None, username="system:index-recrawl")


def start_due() -> int:
    started = 0
    for indexed in due_buckets():
        if running(indexed) is None:
            index_crawl_start(actor=SCHEDULER, indexed=indexed)
            started += 1
    return started


# --- writing pages ----------------------------------------------------------------------------------
class Changes:
    """Outside changes per top-level prefix, bounded: {prefix: [added, changed, removed]}."""

    def __init__(self, saved: dict | None = None):
        self.by_prefix: dict[str, list[int]] = {k: list(v) for k, v in (saved or {}).items()}

    def count(self, key: str, what: int) -> None:
        top = stats.top_of(key) or "/"
        if top not in self.by_prefix and len(self.by_prefix) >= MAX_PREFIXES_COUNTED:
            top = OTHER
        self.by_prefix.setdefault(top, [0, 0, 0])[what] += 1

    def as_json(self) -> dict:
        return self.by_prefix


def write_page(indexed: IndexedBucket, generation: int, objects: list[dict], changes: Changes | None) -> None:
    """Upsert one page of listed objects (one query to compare, one to write)."""
    if not objects:
        return
    if changes is not None:
        known = dict(
            (k, (e, s))
            for k, e, s in Entry.objects.filter(indexed=indexed, key__in=[o["key"] for o in objects]).values_list(
                "key", "etag", "size"
            )
        )
        for o in objects:
            was = known.get(o["key"])
            if was is None:
                changes.count(o["key"], 0)
            elif was != (o["etag"].strip('"')[:96], o["size"]):
                changes.count(o["key"], 1)
    details = any("tags" in o for o in objects)
    rows = [
        (indexed.pk, o["key"], o["size"] or 0, upsert.when(o["last_modified"]), o["storage_class"] or "STANDARD",
         (o["etag"] or "").strip('"')[:96], generation, o.get("tags", ""), o.get("metadata", ""))
        for o in objects
    ]  # fmt: skip
    upsert.entries(rows, details=details)


def lines(pairs: dict[str, str] | list[dict]) -> str:
    """Tags or metadata as searchable "\\nname=value\\n" lines."""
    items = [(p["key"], p["value"]) for p in pairs] if isinstance(pairs, list) else list(pairs.items())
    return "".join(f"\n{k}={v}" for k, v in sorted(items)) + "\n" if items else ""


def add_details(endpoint, bucket: str, objects: list[dict], throttle: Throttle) -> None:
    """Tags and user metadata of each object: a HeadObject and a GetObjectTagging each, throttled."""
    for o in objects:
        throttle.wait()
        head = s3.head_object(endpoint=endpoint, bucket=bucket, key=o["key"])
        throttle.wait()
        tags = s3.get_object_tags(endpoint=endpoint, bucket=bucket, key=o["key"]) if head else []
        o["metadata"] = lines(head["metadata"]) if head else ""
        o["tags"] = lines(tags)


def finish_crawl(indexed: IndexedBucket, generation: int, changes: Changes | None) -> int:
    """Drop what the crawl did not see again (deleted outside), record the changes, rebuild the sums."""
    stale = Entry.objects.filter(indexed=indexed, seen__lt=generation)
    if changes is not None:
        for key in stale.values_list("key", flat=True).iterator(chunk_size=2000):
            changes.count(key, 2)
    removed = stale.delete()[0]
    stats.rebuild(indexed)
    with transaction.atomic():
        if changes is not None:
            OutsideChange.objects.bulk_create(
                OutsideChange(indexed=indexed, prefix=p, added=a, changed=c, removed=r)
                for p, (a, c, r) in sorted(changes.by_prefix.items())
            )
        IndexedBucket.objects.filter(pk=indexed.pk).update(state=IndexedBucket.State.FRESH, indexed_at=timezone.now())
    stats.snapshot(indexed)
    return removed


# --- the job's work -------------------------------------------------------------------------------
def run_crawl(job: Job, progress: Progress) -> Outcome:
    indexed = IndexedBucket.objects.select_related("endpoint").get(endpoint=job.endpoint, bucket=job.bucket)
    state = progress.state
    if not state:  # a first run: a new generation
        indexed.generation += 1
        IndexedBucket.objects.filter(pk=indexed.pk).update(
            generation=indexed.generation, state=IndexedBucket.State.CRAWLING, source=IndexedBucket.Source.LISTING
        )
        state = {"generation": indexed.generation, "phase": "objects", "after": "", "changes": {}}
        if indexed.object_count:
            progress.set_total(indexed.object_count)
    generation = state["generation"]
    indexed.generation = generation
    recrawl = indexed.stats_generation > 0
    changes = Changes(state.get("changes")) if recrawl else None
    throttle = Throttle(rate_of(indexed))
    try:
        if state["phase"] == "objects":
            _objects(indexed, generation, state, changes, throttle, progress)
        if state["phase"] == "versions":
            _versions(indexed, state, throttle, progress)
        if state["phase"] == "uploads":
            _uploads(indexed, throttle)
    except s3.S3Error:
        IndexedBucket.objects.filter(pk=indexed.pk).update(state=IndexedBucket.State.FAILED)
        raise
    removed = finish_crawl(indexed, generation, changes)
    indexed.refresh_from_db()
    after = {"objects": indexed.object_count, "bytes": indexed.total_bytes, "removed_outside": removed}
    message = f"Indexed {indexed.object_count:,} objects ({indexed.total_bytes:,} bytes)."
    if changes is not None:
        found = [sum(v[i] for v in changes.by_prefix.values()) for i in range(3)]
        after["outside"] = dict(zip(("added", "changed", "removed"), found, strict=True))
        message += (
            f" Changed outside the console since the last crawl: {found[0]:,} added, {found[1]:,} changed,"
            f" {found[2]:,} removed."
        )
    return Outcome(message, after=after)


def _objects(indexed, generation, state, changes, throttle, progress) -> None:
    """ListObjectsV2 pages from the checkpoint's key on; the next page is asked for while this one is written."""
    endpoint, bucket = indexed.endpoint, indexed.bucket

    def fetch(after: str) -> dict:
        throttle.wait()
        return s3.list_objects_page(endpoint=endpoint, bucket=bucket, start_after=after, max_keys=PAGE_KEYS)

    # The listing thread runs in a copy of this context: the job's S3 budget and audit scope cover it too.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl-list") as pool:
        ahead = pool.submit(contextvars.copy_context().run, fetch, state["after"])
        while True:
            page = ahead.result()
            objects = page["objects"]
            last = not page["truncated"] or not objects
            if not last:
                ahead = pool.submit(contextvars.copy_context().run, fetch, objects[-1]["key"])
            if indexed.with_details:
                add_details(endpoint, bucket, objects, throttle)
            write_page(indexed, generation, objects, changes)
            progress.advance(len(objects), sum(o["size"] or 0 for o in objects))
            if objects:
                state["after"] = objects[-1]["key"]
            if changes is not None:
                state["changes"] = changes.as_json()
            if last:
                state["phase"] = "versions" if indexed.with_versions else "uploads"
            progress.save(state)  # the key written last: a resumed run lists after it
            if last:
                return


def _versions(indexed, state, throttle, progress) -> None:
    """Noncurrent versions and delete markers: counted and summed (the index keeps current objects only)."""
    sums = state.setdefault("noncurrent", [0, 0, 0])
    markers = state.get("markers") or {}
    while True:
        throttle.wait()
        page = s3.list_versions_page(endpoint=indexed.endpoint, bucket=indexed.bucket, **markers)
        for v in page["versions"]:
            if v["delete_marker"]:
                sums[2] += 1
            elif not v["is_latest"]:
                sums[0] += 1
                sums[1] += v["size"] or 0
        markers = page["next"] or {}
        state["markers"] = markers
        if not page["next"]:
            state["phase"] = "uploads"
            IndexedBucket.objects.filter(pk=indexed.pk).update(
                noncurrent_count=sums[0], noncurrent_bytes=sums[1], delete_markers=sums[2]
            )
        progress.save(state)
        if state["phase"] != "versions":
            return


def _uploads(indexed, throttle) -> None:
    """Incomplete multipart uploads: how many, and the bytes their parts hold."""
    count = size = 0
    try:
        for page in s3.iter_upload_pages(endpoint=indexed.endpoint, bucket=indexed.bucket):
            for upload in page:
                count += 1
                if count <= UPLOADS_MEASURED:
                    throttle.wait()
                    size += s3.upload_bytes(
                        endpoint=indexed.endpoint, bucket=indexed.bucket, key=upload["key"],
                        upload_id=upload["upload_id"],
                    )  # fmt: skip
            throttle.wait()
    except s3.S3Error as exc:
        if not exc.not_supported:
            raise
        return
    IndexedBucket.objects.filter(pk=indexed.pk).update(uploads_count=count, uploads_bytes=size)
