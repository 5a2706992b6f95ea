"""Bulk actions over many objects, as background jobs: tags, storage class, a content header, a canned ACL,
restore from an archive, copy, move, delete.

Where the keys come from is a :class:`KeySource`: a kind, a JSON-safe spec the worker rebuilds its pages
from, and a description for the start page and the audit row. ``prefix`` (a folder, or the whole bucket,
listed page by page) and ``selection`` (keys and folders ticked in the object list) are built in; another
source (e.g. the results of a search) registers a pager with :func:`register_source`: a function
``(endpoint, bucket, spec, position) -> iterator of (entries, position)``, where entries are dicts with at
least ``key`` (``size``/``storage_class`` when known) and ``position`` is JSON that starts the pages again
just after them. :func:`key_pages` turns any iterable of keys into such pages.

Every entry is checked against the role of whoever started the job, on that key (``console.access``):
an entry outside the user's scope is neither touched nor counted, in the dry run as in the job. A job
saves a checkpoint after each page (and every ``CHECKPOINT_EVERY`` objects inside one), so a worker
that dies repeats at most that many objects, and a pause stops right there. Failures are kept with the
job (``JobFailure``); the audit trail gets one ``<kind>.start`` and one outcome event per job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from buckets import jobs, s3, tasks, vocabulary
from buckets.jobs import JobFailed, Outcome, Progress
from buckets.models import Job
from buckets.services import copying, reads, transfer_jobs
from buckets.services.prefixes import MAX_DRY_RUN_PAGES, ExistingKeys, common_prefix, delete_keys, iter_pages
from catalog.services import follow
from console import access, audit
from console.models import Endpoint, Role

BATCH = 1000
CHECKPOINT_EVERY = 100  # objects between checkpoints inside a page of one-by-one actions
RESTORE_TIERS = ("Standard", "Bulk", "Expedited")
HEADERS = {  # the content headers a bulk job sets: S3's name → the HTTP header
    "CacheControl": "Cache-Control",
    "ContentType": "Content-Type",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "Expires": "Expires",
}


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    verb: str
    role: Role = Role.OPERATOR
    destructive: bool = False  # asks for a typed confirmation


ACTIONS = {
    a.name: a
    for a in (
        Action("tag", "Set tags", "Tagged"),
        Action("untag", "Remove tags", "Untagged"),
        Action("storage_class", "Change storage class", "Changed the storage class of"),
        Action("header", "Set a content header", "Changed the header of"),
        Action("acl", "Apply a canned ACL", "Applied the ACL to"),
        Action("restore", "Restore archived objects", "Asked S3 to restore"),
        Action("copy", "Copy", "Copied", role=Role.VIEWER),  # and operator on the destination (the view checks)
        Action("move", "Move", "Moved", destructive=True),
        Action("delete", "Delete", "Deleted", destructive=True),
    )
}


def needed_role(action: str, options: dict) -> Role:
    """The role needed on every key: a public canned ACL is an admin's decision (as on the object page)."""
    if action == "acl" and options.get("canned") in vocabulary.PUBLIC_CANNED_ACLS:
        return Role.ADMIN
    return ACTIONS[action].role


def is_bulk(job: Job) -> bool:
    """Bulk jobs look at pause and cancel requests; other jobs run to their end."""
    return job.kind.startswith("bulk.")


# --- where the keys come from ---------------------------------------------------------------------
Pager = Callable[[Endpoint, str, dict, dict], Iterator[tuple[list[dict], dict]]]
PAGERS: dict[str, Pager] = {}


@dataclass(frozen=True)
class KeySource:
    kind: str
    spec: dict
    description: str
    base_prefix: str = ""  # copy/move: what is below it lands below the destination folder
    keys: list[str] = field(default_factory=list)  # explicit keys (kept in the job's params, audited by count)

    def to_params(self) -> dict:
        return {"kind": self.kind, "spec": self.spec, "description": self.description, "base_prefix": self.base_prefix}


def register_source(kind: str, pager: Pager) -> None:
    PAGERS[kind] = pager


def key_pages(entries: Iterable[str | dict], size: int = BATCH) -> Iterator[tuple[list[dict], dict]]:
    """Pages of at most ``size`` entries out of keys (or listing entries), each with {"after": its last key}."""
    page: list[dict] = []
    for entry in entries:
        page.append({"key": entry, "size": None} if isinstance(entry, str) else entry)
        if len(page) >= size:
            yield page, {"after": page[-1]["key"]}
            page = []
    if page:
        yield page, {"after": page[-1]["key"]}


def prefix_source(prefix: str) -> KeySource:
    where = f"every object under “{prefix}”" if prefix else "every object in the bucket"
    return KeySource("prefix", {"prefix": prefix}, where, base_prefix=prefix)


def selection_source(*, keys: list[str], folders: list[str], base_prefix: str) -> KeySource:
    """Keys and folders ticked in one folder; a key or folder inside a ticked folder comes with that folder."""
    folders = sorted(f for f in set(folders) if f.endswith("/"))
    folders = [f for f in folders if not any(f != o and f.startswith(o) for o in folders)]
    keys = sorted(k for k in set(keys) if not any(k.startswith(f) for f in folders))
    parts = []
    if keys:
        parts.append(f"{len(keys):,} selected object" + ("s" if len(keys) != 1 else ""))
    if folders:
        parts.append(
            f"everything in {len(folders):,} folder(s)" if len(folders) > 1 else f"everything in “{folders[0]}”"
        )
    return KeySource("selection", {"folders": folders}, " and ".join(parts), base_prefix=base_prefix, keys=keys)


def _prefix_pager(endpoint: Endpoint, bucket: str, spec: dict, position: dict):
    for page in iter_pages(endpoint, bucket, spec["prefix"], start_after=position.get("after", "")):
        yield page, {"after": page[-1]["key"]}


def _selection_pager(endpoint: Endpoint, bucket: str, spec: dict, position: dict):
    keys, folders = spec.get("keys") or [], spec.get("folders") or []
    for index in range(position.get("index", 0), len(keys), BATCH):
        yield [{"key": k, "size": None} for k in keys[index : index + BATCH]], {"index": index + BATCH}
    first = position.get("folder", 0)
    for number in range(first, len(folders)):
        after = position.get("after", "") if number == first else ""
        for page in iter_pages(endpoint, bucket, folders[number], start_after=after):
            yield page, {"index": len(keys), "folder": number, "after": page[-1]["key"]}


register_source("prefix", _prefix_pager)
register_source("selection", _selection_pager)


def _pages(endpoint: Endpoint, bucket: str, source: dict, keys: list[str], position: dict):
    pager = PAGERS.get(source["kind"])
    if pager is None:
        raise s3.S3Error("UnknownSource", f"This console cannot list keys from “{source['kind']}”.")
    return pager(endpoint, bucket, {**source["spec"], "keys": keys}, position)


def _phase(position: dict) -> object:
    """Which listing a page comes from (the explicit keys, or one folder): lookups restart at each."""
    return position.get("folder", -1) if "index" in position else 0


# --- who may touch what ---------------------------------------------------------------------------
class Scope:
    """The keys the actor may act on with ``need``: their role on each key, read once from the database."""

    def __init__(self, user_id: int | None, endpoint: Endpoint, bucket: str, need: Role):
        self.user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        self.endpoint, self.bucket, self.need = endpoint, bucket, need

    def allows(self, key: str) -> bool:
        if self.user is None:
            return False
        role = access.effective_role(self.user, endpoint=self.endpoint, bucket=self.bucket, key=key)
        return role is not None and role.rank >= self.need.rank

    def keep(self, page: list[dict]) -> list[dict]:
        return [entry for entry in page if self.allows(entry["key"])]


# --- what is done to one object -------------------------------------------------------------------
class Unchanged(Exception):
    """Nothing to do for this object (it already is so, or the action does not apply): not counted."""


def applies(action: str, options: dict, entry: dict) -> bool:
    """From the listing entry alone: would the action change this object? (True when it cannot tell.)"""
    known = entry.get("storage_class")
    if action == "restore" and known:
        return known in vocabulary.ARCHIVE_CLASSES
    if action == "storage_class" and known:
        return known != options["storage_class"]
    return True


def _head(endpoint: Endpoint, bucket: str, key: str) -> dict:
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key)
    if head is None:
        raise s3.S3Error("NoSuchKey", "The object does not exist (any more).")
    return head


def apply_one(endpoint: Endpoint, bucket: str, action: str, options: dict, entry: dict) -> None:
    """Change one object (inside the job's audited writes); raises Unchanged or S3Error."""
    key = entry["key"]
    if not applies(action, options, entry):
        raise Unchanged
    if action in ("tag", "untag"):
        tags = {t["key"]: t["value"] for t in s3.get_object_tags(endpoint=endpoint, bucket=bucket, key=key)}
        wanted = dict(tags)
        if action == "tag":
            wanted.update(options["tags"])
        else:
            wanted = {k: v for k, v in tags.items() if k not in set(options["tag_keys"])}
        if wanted == tags:
            raise Unchanged
        if len(wanted) > vocabulary.MAX_OBJECT_TAGS:
            raise s3.S3Error("TooManyTags", f"The object would have {len(wanted)} tags; S3 allows at most 10.")
        tag_list = [{"key": k, "value": v} for k, v in wanted.items()]
        s3.put_object_tags(endpoint=endpoint, bucket=bucket, key=key, tags=tag_list)
    elif action == "storage_class":
        head = _head(endpoint, bucket, key)
        if head["storage_class"] == options["storage_class"]:
            raise Unchanged
        copying.copy_onto_itself(
            endpoint=endpoint, bucket=bucket, key=key, head=head, storage_class=options["storage_class"]
        )
        follow.object_reclassed(endpoint=endpoint, bucket=bucket, key=key, storage_class=options["storage_class"])
    elif action == "header":
        head = _head(endpoint, bucket, key)
        name, value = options["header"], options["value"]
        if (head["headers"].get(name) or "") == value:
            raise Unchanged
        headers = {**head["headers"], name: value}
        copying.copy_onto_itself(endpoint=endpoint, bucket=bucket, key=key, head=head, headers=headers)
        follow.object_stored(  # the bucket index (catalog): same size and class, a new modification time
            endpoint=endpoint, bucket=bucket, key=key, size=head["size"], storage_class=head["storage_class"]
        )
    elif action == "acl":
        s3.put_object_acl(endpoint=endpoint, bucket=bucket, key=key, canned=options["canned"])
    elif action == "restore":
        if not entry.get("storage_class"):
            entry = {**entry, "storage_class": _head(endpoint, bucket, key)["storage_class"]}
            if not applies(action, options, entry):
                raise Unchanged
        s3.restore_object(endpoint=endpoint, bucket=bucket, key=key, days=options["days"], tier=options["tier"])
    else:
        raise ValueError(f"Not a one-by-one action: {action}")


# --- throttling -----------------------------------------------------------------------------------
class Throttle:
    """At most ``rate`` objects a second on average (0: as fast as S3 answers)."""

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self.clock, self.sleep = clock, sleep
        self.next = clock()

    def wait(self, count: int = 1) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next > now:
            self.sleep(self.next - now)
        self.next = max(self.next, now) + count * self.interval

    def chunk(self, page: list[dict]) -> Iterator[list[dict]]:
        """A page in pieces of about a second's worth, each after its wait."""
        size = max(1, int(1 / self.interval)) if self.interval else len(page) or 1
        for start in range(0, len(page), size):
            piece = page[start : start + size]
            self.wait(len(piece))
            yield piece


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
    for number, (page, _) in enumerate(_pages(endpoint, bucket, source.to_params(), source.keys, {}), start=1):
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
    """Start a bulk job (audited as ``bulk.<action>.start``); the work is :func:`run_bulk`."""
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
    return {"endpoint": job.endpoint, "bucket": job.bucket, "key": job.prefix, "params": {"job_id": str(job.pk)}}


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
            total = f" of {job.total:,}" if job.total is not None else ""
            failure = JobFailed("Cancelled", f"Cancelled on request after {job.done:,}{total} done.")
            message = f"Cancelled: {job.done:,}{total} done, {job.failed:,} failed; the rest was not processed."
            ended = jobs.finish(job, owner="", failure=failure, message=message)
        asked = ended or bool(
            Job.objects.filter(pk=job.pk, finished_at__isnull=True)
            .exclude(status=Job.Status.PAUSED)
            .update(control="cancel")
        )
        ev.after = {"ended": ended, "asked": asked}
    return asked


# --- the work -------------------------------------------------------------------------------------
@dataclass
class _Run:
    job: Job
    progress: Progress
    scope: Scope
    throttle: Throttle
    unchanged: int = 0
    missing: int = 0

    @property
    def action(self) -> str:
        return self.job.params["action"]

    @property
    def options(self) -> dict:
        return self.job.params.get("options") or {}

    def save(self, position: dict, in_page: int = 0) -> None:
        state = {"position": position, "unchanged": self.unchanged, "missing": self.missing}
        if in_page:
            state["in_page"] = in_page
        self.progress.save(state)

    def one_by_one(self, page: list[dict], position: dict, start: int) -> None:
        """Each object in turn; a checkpoint every CHECKPOINT_EVERY, and a pause or stop as soon as asked."""
        endpoint, bucket = self.job.endpoint, self.job.bucket
        for index in range(start, len(page)):
            if index > start and (index % CHECKPOINT_EVERY == 0 or self.progress.asked()):
                self.save(position, in_page=index)
                self.progress.stop_if_asked()
            self.throttle.wait()
            entry = page[index]
            try:
                apply_one(endpoint, bucket, self.action, self.options, entry)
            except Unchanged:
                self.unchanged += 1
            except s3.S3Error as exc:
                self.progress.fail([{"key": entry["key"], "code": exc.code, "message": exc.user_message}])
            else:
                self.progress.advance(1)  # no bytes: nothing is moved, and a selected key's size is not known

    def delete(self, page: list[dict], existing: ExistingKeys | None) -> None:
        if existing is not None:  # explicit keys: only what is there (no delete marker for a key that is not)
            found = [(entry, existing.get(entry["key"])) for entry in page]
            page = [{**entry, "size": there["size"]} for entry, there in found if there is not None]
            self.missing += len(found) - len(page)
        for piece in self.throttle.chunk(page):
            errors = delete_keys(endpoint=self.job.endpoint, bucket=self.job.bucket, keys=[e["key"] for e in piece])
            refused = {e["key"] for e in errors}
            gone = [e for e in piece if e["key"] not in refused]
            follow.objects_removed(endpoint=self.job.endpoint, bucket=self.job.bucket, keys=[e["key"] for e in gone])
            self.progress.advance(len(gone), sum(e.get("size") or 0 for e in gone))
            self.progress.fail(errors)


def _transfer_plan(job: Job) -> transfer_jobs._Plan:
    options = job.params["options"]
    plan = transfer_jobs._Plan(
        job.endpoint, job.params["action"], job.bucket, job.params["source"]["base_prefix"],
        options["dest_bucket"], options["dest_prefix"], bool(options.get("overwrite")),
        None if job.params["source"]["kind"] == "prefix" else [],
    )  # fmt: skip
    plan.rewrites = reads.rewrites_keys(endpoint=plan.endpoint, bucket=plan.dest_bucket)
    return plan


def run_bulk(job: Job, progress: Progress) -> Outcome:
    """The work of every bulk job: the source's pages, in the actor's scope, at the job's rate."""
    progress.stop_if_asked()  # paused or cancelled before it started
    action = job.params["action"]
    scope = Scope(job.actor_id, job.endpoint, job.bucket, needed_role(action, job.params.get("options") or {}))
    run = _Run(job, progress, scope, Throttle(job.params.get("rate") or 0))
    state = progress.state
    position, in_page = state.get("position", {}), state.get("in_page", 0)
    run.unchanged, run.missing = state.get("unchanged", 0), state.get("missing", 0)
    keys = job.params.get("keys") or []
    plan = _transfer_plan(job) if action in ("copy", "move") else None
    phase, existing = None, None
    first_resumed = progress.resumed
    with ThreadPoolExecutor(max_workers=transfer_jobs.COPY_WORKERS) as pool:
        for page, following in _pages(job.endpoint, job.bucket, job.params["source"], keys, position):
            page = scope.keep(page)
            if _phase(following) != phase:  # lookups go in key order, which restarts with each listing
                phase = _phase(following)
                existing = _lookups(job, plan, following, keys)
            if plan is not None:
                for piece in run.throttle.chunk(page):
                    transfer_jobs._transfer_batch(plan, piece, existing, progress, pool, first_resumed)
                    first_resumed = False
            elif action == "delete":
                run.delete(page, existing)
            else:
                run.one_by_one(page, position, in_page)
            in_page, position = 0, following
            run.save(position)
            progress.stop_if_asked()
    progress.flush()
    job.refresh_from_db(fields=["done", "failed", "done_bytes"])
    after = {"action": action, "done": job.done, "failed": job.failed, "bytes": job.done_bytes}
    after.update(unchanged=run.unchanged, not_found=run.missing)
    text = f"{ACTIONS[action].verb} {job.done:,} object(s)."
    if run.unchanged:
        text += f" {run.unchanged:,} needed no change."
    if run.missing:
        text += f" {run.missing:,} selected key(s) were not there."
    if job.failed:
        text += f" {job.failed:,} failed: see the report."
    error = JobFailed("SomeKeysFailed", f"{job.failed} key(s) were not processed.") if job.failed else None
    return Outcome(text, after=after, error=error)


def _lookups(job: Job, plan, position: dict, keys: list[str]) -> ExistingKeys | None:
    """What answers "is it there?" for this listing: the destination (copy/move without overwrite), or the
    bucket for a delete of explicit keys (a folder's listing needs no lookup)."""
    if plan is not None:
        return None if plan.overwrite else ExistingKeys(plan.endpoint, plan.dest_bucket, plan.dest_prefix)
    if job.params["action"] == "delete" and _phase(position) == -1:
        return ExistingKeys(job.endpoint, job.bucket, common_prefix(keys))
    return None
