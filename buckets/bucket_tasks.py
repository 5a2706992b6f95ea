"""Background tasks for a whole bucket: thin wrappers that run a service through ``jobs.run``.

Arguments are JSON-safe (the job id as a string) so the database worker can run them.
"""

from __future__ import annotations

from django_tasks import task

from buckets import emptying, jobs


@task()
def empty_bucket_task(job_id: str) -> None:
    jobs.run(job_id, emptying.empty_bucket)


@task()
def delete_bucket_task(job_id: str) -> None:
    jobs.run(job_id, emptying.delete_bucket)


@task()
def count_objects_task(job_id: str) -> None:
    jobs.run(job_id, emptying.count_objects)
