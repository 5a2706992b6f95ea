"""Background tasks: thin wrappers that run a service's job work through ``jobs.run``.

Arguments are JSON-safe (the job id as a string) so the database worker can run them. A job that
loses its worker is enqueued again with the same task (``Job.task_path``) and resumes where it was.
"""

from __future__ import annotations

from django_tasks import task

from buckets import jobs
from buckets.services import bulk_run, emptier, emptying, transfer_jobs


@task()
def bucket_empty(job_id: str) -> None:
    jobs.run(job_id, emptier.empty_bucket)


@task()
def bucket_delete(job_id: str) -> None:
    jobs.run(job_id, emptier.delete_bucket)


@task()
def bucket_count(job_id: str) -> None:
    jobs.run(job_id, emptying.count_objects)


@task()
def objects_transfer(job_id: str) -> None:
    """Copy or move a prefix or a big selection."""
    jobs.run(job_id, transfer_jobs.run_transfer)


@task()
def objects_delete(job_id: str) -> None:
    """Delete a prefix or a big selection."""
    jobs.run(job_id, transfer_jobs.run_delete)


@task()
def objects_bulk(job_id: str) -> None:
    """A bulk action (tags, storage class, header, ACL, restore, copy, move, delete) over many objects."""
    jobs.run(job_id, bulk_run.run_bulk)
