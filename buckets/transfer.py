"""Copy, move, rename and delete of objects, selections and prefixes.

The services here are shared by the views (one object, small selections: inline) and the
background tasks (whole prefixes, big selections: ``run_transfer_job`` / ``run_delete_job``).
Everything stays on one endpoint: copies are server-side (``s3.copy_object_any_size``), a move
deletes its source only after the copy succeeded, and listings go page by page (never a whole
prefix in memory).
"""

from __future__ import annotations

import contextvars
import os.path
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from buckets import s3
from buckets.models import Job
from buckets.services import copying, reads
from console import audit
from console.models import Endpoint

INLINE_LIMIT = 50  # selections up to this many keys run inside the request; bigger ones as a job
COPY_WORKERS = 8
MAX_DRY_RUN_PAGES = 200  # a dry run counts up to 200,000 keys, then says "more than"
SELECTION_LISTING_PAGES = 5  # sizes of a selection come from listing its common prefix, if that is short
AUDIT_KEYS_KEPT = 100


class TransferError(Exception):
    """A refusal before anything changed; the message is for the page."""


class DestinationExists(TransferError):
    pass


# --- naming -------------------------------------------------------------------------
def name_of(key: str) -> str:
    """The last segment of a key, keeping a trailing "/" (``a/b/`` → ``b/``)."""
    stripped = key.rstrip("/")
    return stripped.rsplit("/", 1)[-1] + key[len(stripped) :]


def destination_key(key: str, source_prefix: str, dest_prefix: str) -> str:
    """Where ``key`` lands: its part below ``source_prefix`` appended to ``dest_prefix``."""
    rest = key[len(source_prefix) :] if source_prefix and key.startswith(source_prefix) else name_of(key)
    return dest_prefix + rest


def object_destination(source_key: str, dest: str) -> str:
    """A destination typed for one object: ending in "/" means "into that folder, same name"."""
    return dest + name_of(source_key) if dest.endswith("/") else dest


def check_prefix_target(source_bucket: str, source_prefix: str, dest_bucket: str, dest_prefix: str) -> None:
    if source_bucket == dest_bucket and dest_prefix == source_prefix:
        raise TransferError("The destination is the source itself.")
    if source_bucket == dest_bucket and dest_prefix.startswith(source_prefix):
        raise TransferError(f"“{dest_prefix}” is inside “{source_prefix}”: a folder cannot be copied into itself.")


def common_prefix(keys: list[str]) -> str:
    """The longest folder ("…/") all keys share."""
    shared = os.path.commonprefix(keys) if keys else ""
    return shared[: shared.rfind("/") + 1]


# --- listing --------------------------------------------------------------------------
def _list_after(*, endpoint: Endpoint, bucket: str, prefix: str = "", start_after: str = "", max_keys: int = 1000):
    page = s3.list_objects_page(
        endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=start_after, max_keys=max_keys
    )
    return {"objects": page["objects"], "truncated": page["truncated"] and bool(page["objects"])}


def delete_keys(*, endpoint: Endpoint, bucket: str, keys: list[str]) -> list[dict]:
    """DeleteObjects in batches of 1,000 (Quiet): the keys S3 refused, as [{key, code, message}]."""
    errors: list[dict] = []
    for start in range(0, len(keys), 1000):
        batch = [{"key": k} for k in keys[start : start + 1000]]
        errors += s3.delete_objects(endpoint=endpoint, bucket=bucket, entries=batch)
    return errors


def iter_pages(endpoint: Endpoint, bucket: str, prefix: str) -> Iterator[list[dict]]:
    """Pages of {key, size} under ``prefix``; only keys that really start with it."""
    start_after = ""
    while True:
        page = _list_after(endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=start_after)
        objects = [o for o in page["objects"] if o["key"].startswith(prefix)]
        if objects:
            yield objects
        if not page["truncated"]:
            return
        start_after = page["objects"][-1]["key"]


@dataclass
class Count:
    count: int = 0
    bytes: int | None = 0
    complete: bool = True
    missing: list[str] = field(default_factory=list)


def count_prefix(endpoint: Endpoint, bucket: str, prefix: str, max_pages: int = MAX_DRY_RUN_PAGES) -> Count:
    """Keys and bytes under a prefix, counted page by page; stops after ``max_pages`` (complete=False)."""
    result = Count()
    for number, page in enumerate(iter_pages(endpoint, bucket, prefix), start=1):
        result.count += len(page)
        result.bytes += sum(o["size"] for o in page)
        if number >= max_pages:
            result.complete = not _list_after(
                endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=page[-1]["key"], max_keys=1
            )["objects"]
            break
    return result


def measure_selection(endpoint: Endpoint, bucket: str, keys: list[str]) -> Count:
    """Count a selection; its bytes too when listing its common prefix takes a few pages at most."""
    if len(keys) == 1:  # the key itself is the first entry of a listing with it as the prefix
        page = _list_after(endpoint=endpoint, bucket=bucket, prefix=keys[0], max_keys=1)
        hit = [o for o in page["objects"] if o["key"] == keys[0]]
        return Count(count=len(hit), bytes=sum(o["size"] for o in hit), missing=[] if hit else list(keys))
    wanted = set(keys)
    found: dict[str, int] = {}
    base = common_prefix(keys)
    for number, page in enumerate(iter_pages(endpoint, bucket, base), start=1):
        found.update((o["key"], o["size"]) for o in page if o["key"] in wanted)
        if len(found) == len(wanted):
            break
        if number >= SELECTION_LISTING_PAGES:
            return Count(count=len(wanted), bytes=None)
    missing = sorted(wanted - set(found))
    return Count(count=len(wanted) - len(missing), bytes=sum(found.values()), missing=missing)


class ExistingKeys:
    """Answers "does this key exist?" for increasing keys, listing the destination lazily.

    One ListObjectsV2 page serves up to 1,000 lookups; a gap jumps ahead with StartAfter, so a
    big unrelated destination is not listed whole.
    """

    def __init__(self, endpoint: Endpoint, bucket: str, prefix: str):
        self.endpoint, self.bucket, self.prefix = endpoint, bucket, prefix
        self.buffer: deque[str] = deque()
        self.last = ""
        self.exhausted = False

    def __contains__(self, key: str) -> bool:
        while True:
            while self.buffer and self.buffer[0] < key:
                self.buffer.popleft()
            if self.buffer:
                return self.buffer[0] == key
            if self.exhausted:
                return False
            # Everything before key[:-1] is of no interest: start there (or after what was seen).
            start_after = max(self.last, key[:-1])
            page = _list_after(endpoint=self.endpoint, bucket=self.bucket, prefix=self.prefix, start_after=start_after)
            keys = [o["key"] for o in page["objects"]]
            self.buffer.extend(keys)
            if keys:
                self.last = keys[-1]
            self.exhausted = not page["truncated"]


# --- one object (inline) ------------------------------------------------------------------
def transfer_object(
    actor: audit.Actor,
    endpoint: Endpoint,
    *,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    move: bool,
    overwrite: bool = False,
    rename: bool = False,
) -> dict:
    """Copy (or move) one object; audited as ``object.copy`` / ``object.move``. Returns {etag, size, method}."""
    if (source_bucket, source_key) == (bucket, key):
        raise TransferError("The destination is the object itself.")
    if key.endswith("/") and not source_key.endswith("/"):
        # A key ending in "/" is a folder marker; some servers (SeaweedFS) keep it empty, losing the data.
        raise TransferError(f"“{key}” ends with “/”, which names a folder: give the object a name.")
    if not overwrite and reads.object_exists(endpoint=endpoint, bucket=bucket, key=key):
        raise DestinationExists(f"“{key}” already exists in {bucket}. Tick “overwrite” to replace it.")
    params = {
        "source": {"bucket": source_bucket, "key": source_key},
        "destination": {"bucket": bucket, "key": key},
        "overwrite": overwrite,
    }
    if rename:
        params["rename"] = True
    action = "object.move" if move else "object.copy"
    with audit.change(actor, action, endpoint=endpoint, bucket=source_bucket, key=source_key, params=params) as ev:
        result = copying.copy_any_size(
            endpoint=endpoint, source_bucket=source_bucket, source_key=source_key, bucket=bucket, key=key
        )
        if move:
            errors = delete_keys(endpoint=endpoint, bucket=source_bucket, keys=[source_key])
            if errors:
                raise s3.S3Error(
                    errors[0]["code"] or "DeleteFailed",
                    f"Copied to the destination, but the source was not deleted: {errors[0]['message']}",
                )
        ev.after = result
    return result


@dataclass
class Outcome:
    done: int = 0
    bytes: int = 0
    errors: list[dict] = field(default_factory=list)


def transfer_selection(
    actor: audit.Actor,
    endpoint: Endpoint,
    *,
    source_bucket: str,
    keys: list[str],
    base_prefix: str,
    bucket: str,
    dest_prefix: str,
    move: bool,
    overwrite: bool,
) -> Outcome:
    """A small selection, key by key, each audited on its own; refusals are collected, not raised."""
    outcome = Outcome()
    for key in keys:
        target = destination_key(key, base_prefix, dest_prefix)
        try:
            result = transfer_object(
                actor,
                endpoint,
                source_bucket=source_bucket,
                source_key=key,
                bucket=bucket,
                key=target,
                move=move,
                overwrite=overwrite,
            )
        except TransferError as exc:
            outcome.errors.append({"key": key, "code": "Refused", "message": str(exc)})
        except s3.S3Error as exc:
            outcome.errors.append({"key": key, "code": exc.code, "message": exc.user_message})
        else:
            outcome.done += 1
            outcome.bytes += result["size"] or 0
    return outcome


def delete_selection(actor: audit.Actor, endpoint: Endpoint, *, bucket: str, keys: list[str]) -> list[dict]:
    """Delete keys (one or a small selection) with DeleteObjects; audited as one ``object.delete``."""
    params = {"count": len(keys), "keys": keys[:AUDIT_KEYS_KEPT]}
    key = keys[0] if len(keys) == 1 else ""
    with audit.change(actor, "object.delete", endpoint=endpoint, bucket=bucket, key=key, params=params) as ev:
        errors = delete_keys(endpoint=endpoint, bucket=bucket, keys=keys)
        if errors and len(errors) == len(keys):
            first = errors[0]
            raise s3.S3Error(first["code"] or "DeleteFailed", first["message"])
        ev.after = {"deleted": len(keys) - len(errors), "failed": errors[:AUDIT_KEYS_KEPT]}
    return errors


# --- jobs -------------------------------------------------------------------------
def job_params_for_transfer(
    *,
    move: bool,
    source_bucket: str,
    source_prefix: str,
    bucket: str,
    dest_prefix: str,
    overwrite: bool,
    keys: list[str] | None = None,
) -> dict:
    """What a transfer job needs (JSON-safe). With ``keys``, a selection below ``source_prefix``."""
    params = {
        "op": "move" if move else "copy",
        "source_bucket": source_bucket,
        "source_prefix": source_prefix,
        "dest_bucket": bucket,
        "dest_prefix": dest_prefix,
        "overwrite": overwrite,
    }
    if keys is not None:
        params["keys"] = keys
    return params


def _selection_pages(keys: list[str]) -> Iterator[list[dict]]:
    for start in range(0, len(keys), 1000):
        yield [{"key": k, "size": None} for k in keys[start : start + 1000]]


def _audited_job(job: Job, progress, action: str, work) -> str:
    """Run the job's work and record its outcome event (counts) whatever happens."""
    where = {"endpoint": job.endpoint, "bucket": job.bucket, "key": job.prefix}
    base = {"job_id": str(job.pk), **{k: v for k, v in job.params.items() if k != "keys"}}
    if "keys" in job.params:
        base["count"] = len(job.params["keys"])
        base["keys"] = job.params["keys"][:AUDIT_KEYS_KEPT]
    try:
        with s3.audited_scope(action):  # the outcome event below audits what the work changes
            counts = work()
    except Exception as exc:  # the outcome event is written whatever stopped the job
        job.refresh_from_db(fields=["done", "failed"])
        is_s3 = isinstance(exc, s3.S3Error)
        audit.record(
            progress.actor,
            action,
            outcome="failed",
            params={**base, "done": job.done, "failed": job.failed},
            error_code=exc.code if is_s3 else type(exc).__name__,
            error_message=exc.message if is_s3 else str(exc)[:500],
            request_id=exc.request_id if is_s3 else "",
            **where,
        )
        raise
    failed = counts.get("failed", 0)
    audit.record(
        progress.actor,
        action,
        outcome="failed" if failed else "ok",
        params=base,
        after=counts,
        error_code="SomeKeysFailed" if failed else "",
        error_message=f"{failed} key(s) were not processed; see the job." if failed else "",
        **where,
    )
    verb = {"copy": "Copied", "move": "Moved", "delete": "Deleted"}[counts["op"]]
    text = f"{verb} {counts['done']} object(s)"
    return text + (f"; {failed} not processed." if failed else ".")


@dataclass
class _TransferPlan:
    """One transfer job's parameters, and what to do with one page of source objects."""

    endpoint: Endpoint
    op: str
    source_bucket: str
    source_prefix: str
    dest_bucket: str
    dest_prefix: str
    overwrite: bool
    keys: list[str] | None

    @property
    def move(self) -> bool:
        return self.op == "move"

    def pages(self, progress) -> Iterator[list[dict]]:
        if self.keys is None:
            progress.set_total(count_prefix(self.endpoint, self.source_bucket, self.source_prefix, 10**9).count)
            return iter_pages(self.endpoint, self.source_bucket, self.source_prefix)
        ordered = sorted(self.keys, key=lambda k: destination_key(k, self.source_prefix, self.dest_prefix))
        return _selection_pages(ordered)

    def refusal(self, key: str, target: str, existing: ExistingKeys | None) -> dict | None:
        """Why this key is not copied: its destination is in the source, or exists (without overwrite)."""
        if self.source_bucket == self.dest_bucket and (
            target == key or (self.keys is None and target.startswith(self.source_prefix))
        ):
            return {"key": key, "code": "Refused", "message": f"The destination “{target}” is inside the source."}
        if existing is not None and target in existing:
            return {"key": key, "code": "DestinationExists", "message": f"“{target}” already exists; not overwritten."}
        return None

    def copy(self, item: tuple[dict, str]) -> tuple[dict, dict | None]:
        obj, target = item
        try:
            result = copying.copy_any_size(
                endpoint=self.endpoint,
                source_bucket=self.source_bucket,
                source_key=obj["key"],
                bucket=self.dest_bucket,
                key=target,
                size=obj["size"],
            )
        except s3.S3Error as exc:
            return obj, {"key": obj["key"], "code": exc.code, "message": exc.user_message}
        return {**obj, "size": result["size"]}, None

    def delete_sources(self, copied: list[dict]) -> tuple[list[dict], list[dict]]:
        """Move: delete what was copied; returns (deleted, errors)."""
        if not self.move or not copied:
            return copied, []
        keys = [o["key"] for o in copied]
        errors = delete_keys(endpoint=self.endpoint, bucket=self.source_bucket, keys=keys)
        refused = {e["key"] for e in errors}
        errors = [{**e, "message": f"Copied, but the source was not deleted: {e['message']}"} for e in errors]
        return [o for o in copied if o["key"] not in refused], errors


def run_transfer_job(job: Job, progress) -> str:
    """Copy or move a prefix (or a selection) to another prefix/bucket on the same endpoint.

    Page by page: existing destinations are refused (unless overwrite), the rest copied in
    parallel, and for a move the copied sources deleted with one DeleteObjects per page.
    """
    p = job.params
    plan = _TransferPlan(
        job.endpoint,
        p["op"],
        p["source_bucket"],
        p["source_prefix"],
        p["dest_bucket"],
        p["dest_prefix"],
        p["overwrite"],
        p.get("keys"),
    )

    def work() -> dict:
        existing = None if plan.overwrite else ExistingKeys(plan.endpoint, plan.dest_bucket, plan.dest_prefix)
        totals = {"op": plan.op, "done": 0, "failed": 0, "bytes": 0}
        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            for page in plan.pages(progress):
                errors, todo = [], []
                for obj in page:
                    target = destination_key(obj["key"], plan.source_prefix, plan.dest_prefix)
                    refusal = plan.refusal(obj["key"], target, existing)
                    if refusal:
                        errors.append(refusal)
                    else:
                        todo.append((obj, target))
                copied = []
                # Each copy in a copy of this context: the audited scope covers the threads' calls too.
                futures = [pool.submit(contextvars.copy_context().run, plan.copy, item) for item in todo]
                for obj, error in (f.result() for f in futures):
                    errors += [error] if error else []
                    copied += [] if error else [obj]
                finished, not_deleted = plan.delete_sources(copied)
                errors += not_deleted
                page_bytes = sum(o["size"] or 0 for o in finished)
                progress.advance(len(finished), page_bytes)
                progress.fail(errors)
                totals["done"] += len(finished)
                totals["failed"] += len(errors)
                totals["bytes"] += page_bytes
        return totals

    action = ("prefix." if plan.keys is None else "object.") + plan.op
    return _audited_job(job, progress, action, work)


def run_delete_job(job: Job, progress) -> str:
    """Delete a prefix (or a selection): a DeleteObjects call per page of at most 1,000 keys."""
    endpoint, bucket, prefix = job.endpoint, job.params["bucket"], job.params["prefix"]
    keys = job.params.get("keys")

    def work() -> dict:
        if keys is None:
            if not prefix.endswith("/"):
                raise ValueError("A prefix delete needs a prefix ending with '/'.")
            progress.set_total(count_prefix(endpoint, bucket, prefix, max_pages=10**9).count)
            pages = iter_pages(endpoint, bucket, prefix)
        else:
            pages = _selection_pages(keys)
        done = failed = nbytes = 0
        for page in pages:
            errors = delete_keys(endpoint=endpoint, bucket=bucket, keys=[o["key"] for o in page])
            refused = {e["key"] for e in errors}
            gone = [o for o in page if o["key"] not in refused]
            page_bytes = sum(o["size"] or 0 for o in gone)
            progress.advance(len(gone), page_bytes)
            progress.fail(errors)
            done, failed, nbytes = done + len(gone), failed + len(errors), nbytes + page_bytes
        return {"op": "delete", "done": done, "failed": failed, "bytes": nbytes}

    action = "prefix.delete" if keys is None else "object.delete"
    return _audited_job(job, progress, action, work)
