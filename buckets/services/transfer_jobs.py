"""The work of the copy/move/delete background jobs (folders and big selections), batch by batch.

A batch is one listing page (up to 1,000 keys). In a batch, existing destinations are refused (unless
overwrite), the rest copied in parallel (progress counts each copy as it lands), the copies looked up in
the destination (a success is only counted for a key that is there as typed), and for a move the
copied sources deleted. Then a checkpoint: the listing position after the batch.

Resuming after a lost worker repeats at most the batch that was in flight, harmlessly: a copy is made
again (or, without overwrite, a destination identical to its source — size and ETag — is taken as the
lost run's own copy), a source already moved is no longer listed, a key already deleted is not there.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from buckets import s3
from buckets.jobs import JobFailed, Outcome, Progress
from buckets.models import Job
from buckets.services import copying, prefixes, reads, transfer
from buckets.services.prefixes import ExistingKeys, common_prefix, count_prefix, delete_keys, iter_pages
from catalog.services import follow  # the bucket index follows the changes below (catalog app)
from console.models import Endpoint

COPY_WORKERS = 8
BATCH = 1000
VERBS = {"copy": "Copied", "move": "Moved", "delete": "Deleted"}


def _selection_pages(keys: list[str], start: int) -> Iterator[tuple[list[dict], dict]]:
    for index in range(start, len(keys), BATCH):
        yield [{"key": k, "size": None, "etag": ""} for k in keys[index : index + BATCH]], {"index": index + BATCH}


def _prefix_pages(endpoint: Endpoint, bucket: str, prefix: str, after: str) -> Iterator[tuple[list[dict], dict]]:
    for page in iter_pages(endpoint, bucket, prefix, start_after=after):
        yield page, {"after": page[-1]["key"]}


def _failed(failed: int) -> JobFailed | None:
    if not failed:
        return None
    return JobFailed("SomeKeysFailed", f"{failed} key(s) were not processed; see the job.")


def _message(op: str, done: int, failed: int, missing: int = 0) -> str:
    text = f"{VERBS[op]} {done} object(s)" + (f"; {failed} not processed." if failed else ".")
    if missing:
        text += f" {missing} selected key(s) were not there: nothing to delete."
    return text


@dataclass
class _Plan:
    """One transfer job's parameters, and what to do with one batch of source objects."""

    endpoint: Endpoint
    op: str
    source_bucket: str
    source_prefix: str
    dest_bucket: str
    dest_prefix: str
    overwrite: bool
    keys: list[str] | None
    rewrites: bool = False

    @classmethod
    def of(cls, job: Job) -> _Plan:
        p = job.params
        plan = cls(
            job.endpoint,
            p["op"],
            p["source_bucket"],
            p["source_prefix"],
            p["dest_bucket"],
            p["dest_prefix"],
            p["overwrite"],
            p.get("keys"),
        )
        plan.rewrites = reads.rewrites_keys(endpoint=plan.endpoint, bucket=plan.dest_bucket)
        return plan

    @property
    def move(self) -> bool:
        return self.op == "move"

    def pages(self, progress: Progress) -> Iterator[tuple[list[dict], dict]]:
        state = progress.state
        if self.keys is None:
            if progress.job.total is None:
                progress.set_total(count_prefix(self.endpoint, self.source_bucket, self.source_prefix, 10**9).count)
            return _prefix_pages(self.endpoint, self.source_bucket, self.source_prefix, state.get("after", ""))
        ordered = sorted(self.keys, key=lambda k: transfer.destination_key(k, self.source_prefix, self.dest_prefix))
        return _selection_pages(ordered, state.get("index", 0))

    def target(self, key: str) -> str:
        return transfer.destination_key(key, self.source_prefix, self.dest_prefix)

    def refusal(self, key: str, target: str) -> dict | None:
        """Why this key is not copied: its destination is in the source, or is not a key the console writes."""
        if self.source_bucket == self.dest_bucket and (
            target == key or (self.keys is None and target.startswith(self.source_prefix))
        ):
            return {"key": key, "code": "Refused", "message": f"The destination “{target}” is inside the source."}
        if why := transfer.key_refusal(target, source_key=key, rewrites=self.rewrites):
            return {"key": key, "code": "InvalidKey", "message": why}
        return None

    def is_own_copy(self, obj: dict, existing: dict) -> bool:
        """A destination identical to its source: the copy of the run that was lost (size and ETag)."""
        etag, size = obj.get("etag"), obj.get("size")
        if not etag or size is None:
            head = s3.head_object(endpoint=self.endpoint, bucket=self.source_bucket, key=obj["key"])
            if head is None:
                return False
            etag, size = head["etag"], head["size"]
        return existing["etag"] == etag and existing["size"] == size

    def copy(self, item: tuple[dict, str]) -> tuple[dict, str, dict | None]:
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
            return obj, target, {"key": obj["key"], "code": exc.code, "message": exc.user_message}
        return {**obj, "size": result["size"]}, target, None

    def verify(self, copied: list[tuple[dict, str]]) -> tuple[list[dict], list[dict]]:
        """The copies that are in the destination as typed, and an error for each one that is not."""
        there = ExistingKeys(self.endpoint, self.dest_bucket, self.dest_prefix)
        landed, errors = [], []
        for obj, target in sorted(copied, key=lambda item: item[1]):
            # A key some server renames cannot be looked up from a listing after it (see key_exists).
            plain = prefixes.plain_key(target)
            if (
                (target in there)
                if plain
                else prefixes.key_exists(endpoint=self.endpoint, bucket=self.dest_bucket, key=target)
            ):
                landed.append(obj)
            else:
                message = transfer.NOT_AS_TYPED.format(key=target, bucket=self.dest_bucket)
                errors.append({"key": obj["key"], "code": "NotStoredAsTyped", "message": message})
        return landed, errors

    def delete_sources(self, landed: list[dict]) -> tuple[list[dict], list[dict]]:
        """Move: delete the sources whose copy landed; returns (moved, errors)."""
        if not self.move or not landed:
            return landed, []
        errors = delete_keys(endpoint=self.endpoint, bucket=self.source_bucket, keys=[o["key"] for o in landed])
        refused = {e["key"] for e in errors}
        errors = [{**e, "message": f"Copied, but the source was not deleted: {e['message']}"} for e in errors]
        return [o for o in landed if o["key"] not in refused], errors


def _size(objects: list[dict]) -> int:
    return sum(o["size"] or 0 for o in objects)


def _transfer_batch(plan: _Plan, page: list[dict], existing, progress: Progress, pool, first_resumed: bool) -> None:
    errors, todo, copied = [], [], []
    for obj in page:
        target = plan.target(obj["key"])
        if refusal := plan.refusal(obj["key"], target):
            errors.append(refusal)
        elif existing is not None and (entry := existing.get(target)) is not None:
            if first_resumed and plan.is_own_copy(obj, entry):
                copied.append(({**obj, "size": entry["size"]}, target))
                progress.advance(1, entry["size"])
            else:
                message = f"“{target}” already exists; not overwritten."
                errors.append({"key": obj["key"], "code": "DestinationExists", "message": message})
        else:
            todo.append((obj, target))
    # Each copy in a copy of this context: the job's audited writes and its S3 budget cover the threads too.
    futures = [pool.submit(contextvars.copy_context().run, plan.copy, item) for item in todo]
    for future in as_completed(futures):
        obj, target, error = future.result()
        if error:
            errors.append(error)
        else:
            copied.append((obj, target))
            progress.advance(1, obj["size"] or 0)  # the bar moves per copy, even while S3 throttles
    landed, not_there = plan.verify(copied)
    moved, not_deleted = plan.delete_sources(landed)
    _follow(plan, copied, landed, moved)
    moved_keys = {o["key"] for o in moved}
    undone = [obj for obj, _ in copied if obj["key"] not in moved_keys]
    progress.advance(-len(undone), -_size(undone))  # counted as they landed, but they failed after all
    progress.fail(errors + not_there + not_deleted)


def _follow(plan: _Plan, copied: list[tuple[dict, str]], landed: list[dict], moved: list[dict]) -> None:
    """The bucket index (catalog) follows the batch: the copies that landed, the sources a move deleted."""
    there = {o["key"] for o in landed}
    stored = [{**obj, "key": target} for obj, target in copied if obj["key"] in there]
    follow.objects_stored(endpoint=plan.endpoint, bucket=plan.dest_bucket, objects=stored)
    if plan.move:
        follow.objects_removed(endpoint=plan.endpoint, bucket=plan.source_bucket, keys=[o["key"] for o in moved])


def run_transfer(job: Job, progress: Progress) -> Outcome:
    """Copy or move a prefix (or a selection) to another prefix/bucket on the same endpoint."""
    plan = _Plan.of(job)
    existing = None if plan.overwrite else ExistingKeys(plan.endpoint, plan.dest_bucket, plan.dest_prefix)
    first_resumed = progress.resumed
    with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
        for page, position in plan.pages(progress):
            _transfer_batch(plan, page, existing, progress, pool, first_resumed)
            first_resumed = False
            progress.save(position)
    progress.flush()
    job.refresh_from_db(fields=["done", "failed", "done_bytes"])
    after = {"op": plan.op, "done": job.done, "failed": job.failed, "bytes": job.done_bytes}
    return Outcome(_message(plan.op, job.done, job.failed), after=after, error=_failed(job.failed))


def run_delete(job: Job, progress: Progress) -> Outcome:
    """Delete a prefix (or a selection): a DeleteObjects call per page of at most 1,000 keys.

    A selection is looked up first (one listing page serves many keys): a key that is not there is
    reported as such, not as deleted, and gets no delete marker on a versioned bucket.
    """
    endpoint, bucket, prefix = job.endpoint, job.params["bucket"], job.params["prefix"]
    keys, state = job.params.get("keys"), progress.state
    missing = state.get("missing", 0)
    if keys is None:
        if not prefix.endswith("/"):
            raise ValueError("A prefix delete needs a prefix ending with '/'.")
        if job.total is None:
            progress.set_total(count_prefix(endpoint, bucket, prefix, max_pages=10**9).count)
        pages, existing = _prefix_pages(endpoint, bucket, prefix, state.get("after", "")), None
    else:
        ordered = sorted(keys)
        pages, existing = (
            _selection_pages(ordered, state.get("index", 0)),
            ExistingKeys(endpoint, bucket, common_prefix(ordered)),
        )
    for page, position in pages:
        if existing is not None:
            found = [(o, existing.get(o["key"])) for o in page]
            page = [{**o, "size": entry["size"]} for o, entry in found if entry is not None]
            missing += len(found) - len(page)
        errors = delete_keys(endpoint=endpoint, bucket=bucket, keys=[o["key"] for o in page])
        refused = {e["key"] for e in errors}
        gone = [o for o in page if o["key"] not in refused]
        follow.objects_removed(endpoint=endpoint, bucket=bucket, keys=[o["key"] for o in gone])  # the index
        progress.advance(len(gone), _size(gone))
        progress.fail(errors)
        progress.save({**position, "missing": missing})
    progress.flush()
    job.refresh_from_db(fields=["done", "failed", "done_bytes"])
    after = {"op": "delete", "done": job.done, "failed": job.failed, "bytes": job.done_bytes}
    if missing:
        after["not_found"] = missing
    return Outcome(_message("delete", job.done, job.failed, missing), after=after, error=_failed(job.failed))
