"""Background tasks for objects: thin wrappers that run a service from ``buckets.transfer`` as a Job."""

from __future__ import annotations

from django_tasks import task

from buckets import jobs, transfer


@task()
def transfer_objects(job_id: str) -> None:
    """Copy or move a prefix or a big selection (see ``transfer.run_transfer_job``)."""
    jobs.run(job_id, transfer.run_transfer_job)


@task()
def delete_objects(job_id: str) -> None:
    """Delete a prefix or a big selection (see ``transfer.run_delete_job``)."""
    jobs.run(job_id, transfer.run_delete_job)
