"""The work of every bulk job: the source's pages, in the actor's scope, at the job's rate, with checkpoints.

A job saves a checkpoint after each page (and every ``CHECKPOINT_EVERY`` objects inside one), so a worker
that dies repeats at most that many objects, and a pause stops right there. Failures are kept with the
job (``JobFailure``); copy and move go through the transfer jobs' batches (``transfer_jobs``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from buckets import s3
from buckets.jobs import JobFailed, Outcome, Progress
from buckets.models import Job
from buckets.pace import Throttle
from buckets.services import reads, transfer_jobs
from buckets.services.bulk_actions import ACTIONS, Scope, Unchanged, apply_one, needed_role
from buckets.services.bulk_sources import listing_phase, source_pages
from buckets.services.prefixes import ExistingKeys, common_prefix, delete_keys
from catalog.services import follow

CHECKPOINT_EVERY = 100  # objects between checkpoints inside a page of one-by-one actions


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
            self.progress.still_ours()
            entry = page[index]
            try:
                apply_one(endpoint, bucket, self.action, self.options, entry, holder=f"job:{self.job.pk}")
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
        for page, following in source_pages(job.endpoint, job.bucket, job.params["source"], keys, position):
            page = scope.keep(page)
            if listing_phase(following) != phase:  # lookups go in key order, which restarts with each listing
                phase = listing_phase(following)
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
    if job.params["action"] == "delete" and listing_phase(position) == -1:
        return ExistingKeys(job.endpoint, job.bucket, common_prefix(keys))
    return None
