"""The job layer in one process: leases, take-over of lost jobs, resuming from a checkpoint, one outcome.

A worker's death is what SIGKILL leaves behind: a "running" row whose lease nobody renews (the real
processes are in test_job_recovery.py). Jobs run in the request here (the immediate task backend).
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import reverse
from django.utils import timezone

from buckets import job_lease, job_recovery, jobs, s3
from buckets.models import Job
from buckets.services import emptying, transfer, transfer_jobs
from console import audit
from console.models import AuditEvent
from tests.transfer_fixtures import calls_fixture, list_keys, put_many, url  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def _lost_job(endpoint, bucket: str, kind: str, task: str, *, attempts: int = 1, **fields) -> Job:
    """A job as a killed worker leaves it: running, its lease run out a while ago."""
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    actor = {"user_id": None, "username": "alice", "ip": None, "role": "admin"}
    return Job.objects.create(
        kind=kind, title="lost", endpoint=endpoint, bucket=bucket, status=Job.Status.RUNNING, actor_data=actor,
        task_path=f"buckets.tasks.{task}", lease_owner="gone-host:4242:dead", lease_expires_at=long_ago,
        heartbeat_at=long_ago, started_at=long_ago, attempts=attempts, **fields,
    )  # fmt: skip


def test_manage_py_db_worker_is_the_one_that_takes_over_lost_jobs():
    assert get_commands()["db_worker"] == "buckets"


def test_a_lost_job_resumes_from_its_checkpoint(endpoint, s3client, make_bucket, monkeypatch, calls):
    bucket = make_bucket("resume")
    put_many(s3client, bucket, [f"p/{i:02d}" for i in range(25)], body=b"abcd")
    monkeypatch.setattr(emptying, "PAGE_SIZE", 10)
    checkpoint = {"state": {"start_after": "p/09", "objects": 10, "bytes": 40}, "counters": {"done": 10}}
    job = _lost_job(endpoint, bucket, "bucket.count", "bucket_count", checkpoint=checkpoint, done=14)
    calls.clear()

    assert job_recovery.recover_lost() == 1
    job.refresh_from_db()
    assert (job.status, job.done, job.attempts) == (Job.Status.DONE, 25, 2)
    assert calls["ListObjectsV2"] == 2  # p/10… and p/20…: not from the start again
    (outcome,) = AuditEvent.objects.filter(action="bucket.count")
    assert outcome.outcome == "ok" and outcome.after == {"objects": 25, "bytes": 100} and outcome.params["runs"] == 2
    assert job_recovery.recover_lost() == 0 and AuditEvent.objects.filter(action="bucket.count").count() == 1


def test_a_job_lost_too_often_ends_failed_once_and_frees_the_bucket(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("lost")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"1")
    job = _lost_job(endpoint, bucket, "bucket.empty", "bucket_empty", attempts=3, done=1000, total=5000)

    page = admin_client.get(reverse("bucket_empty", args=[endpoint.pk, bucket]))  # was: a redirect to the job
    assert page.status_code == 200 and f"Type “{bucket}” to confirm" in page.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at and not job.lease_owner
    assert job.message.startswith("Stopped: The worker running this job stopped answering")
    assert "Done: 1,000 of 5,000" in job.message
    (outcome,) = AuditEvent.objects.filter(action="bucket.empty")
    assert (outcome.outcome, outcome.error_code, outcome.params["done"]) == ("failed", "WorkerLost", 1000)
    assert outcome.actor_name == "alice"
    assert job_recovery.recover_lost() == 0 and not job_recovery.recover(job)
    assert AuditEvent.objects.filter(action="bucket.empty").count() == 1
    assert "stopped answering" in admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()

    # Emptying it again works.
    response = admin_client.post(reverse("bucket_empty", args=[endpoint.pk, bucket]), {"confirm": bucket})
    again = Job.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/jobs/{again.pk}/" and again.status == Job.Status.DONE
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_the_empty_page_takes_over_a_dead_job_at_once(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("dead")
    put_many(s3client, bucket, [f"x/{i}" for i in range(12)])
    job = _lost_job(endpoint, bucket, "bucket.empty", "bucket_empty")  # it died while counting

    # Opening the page queues it again at once; the immediate backend of the tests resumes it in the request
    # (with a worker, the page sends the user to the job), so the page then offers to empty an empty bucket.
    response = admin_client.get(reverse("bucket_empty", args=[endpoint.pk, bucket]))
    assert response.status_code == 200 and "The bucket is empty." in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done, job.total) == (Job.Status.DONE, 2, 12, 12)
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert [e.outcome for e in AuditEvent.objects.filter(action="bucket.empty")] == ["ok"]


def test_a_worker_that_lost_its_lease_writes_nothing_more(endpoint, make_bucket):
    bucket = make_bucket("fence")
    actor = {"user_id": None, "username": "alice", "ip": None, "role": "operator"}
    job = Job.objects.create(kind="bucket.count", title="t", endpoint=endpoint, bucket=bucket, actor_data=actor)
    assert job_lease.claim(str(job.pk), "me") is not None
    assert job_lease.claim(str(job.pk), "you") is None  # two workers never both run it
    job.refresh_from_db()
    progress = jobs.Progress(job, "me")
    Job.objects.filter(pk=job.pk).update(lease_owner="you")  # taken over while "me" looked dead
    with pytest.raises(jobs.LeaseLost):
        progress.note("still here")
    progress.lost.set()  # what the heartbeat does when it sees the take-over: the next count stops the run
    with pytest.raises(jobs.LeaseLost):
        progress.advance(1)
    assert not jobs.finish(job, owner="me", outcome=jobs.Outcome("done"))
    assert jobs.finish(job, owner="you", outcome=jobs.Outcome("done"))
    assert not jobs.finish(job, owner="you", outcome=jobs.Outcome("done again"))
    assert AuditEvent.objects.filter(action="bucket.count").count() == 1


class Killed(BaseException):
    """What SIGKILL does to a run: it stops where it is, no except or finally of ours writes anything."""


def test_a_move_killed_mid_batch_resumes_without_harm(admin_client, endpoint, s3client, make_bucket, monkeypatch):
    bucket = make_bucket("move")
    keys = [f"in/{i:02d}.txt" for i in range(30)]
    put_many(s3client, bucket, keys, body=b"data")
    s3client.put_object(Bucket=bucket, Key="out/15.txt", Body=b"someone else's")  # not ours: never overwritten
    monkeypatch.setattr(transfer, "INLINE_LIMIT", 5)
    monkeypatch.setattr(transfer_jobs, "BATCH", 10)
    real = transfer_jobs._Plan.delete_sources
    batches = []

    def dies_in_the_second_batch(self, landed):
        batches.append(len(landed))
        if len(batches) == 2:  # its copies landed, its sources are not deleted yet
            raise Killed
        return real(self, landed)

    monkeypatch.setattr(transfer_jobs._Plan, "delete_sources", dies_in_the_second_batch)
    form = {"key": keys, "prefix": "in/", "dest_bucket": bucket, "dest_prefix": "out/"}
    admin_client.post(url("selection_move_run", endpoint, bucket), form)
    job = Job.objects.get()
    assert job.status == Job.Status.RUNNING and job.checkpoint["state"] == {"index": 10}
    assert len(list_keys(s3client, bucket, "out/")) == 20  # batch 2 copied, its sources still there

    monkeypatch.setattr(transfer_jobs._Plan, "delete_sources", real)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert job_recovery.recover_lost() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done, job.failed) == (Job.Status.FAILED, 2, 29, 1)
    assert job.errors == [
        {"key": "in/15.txt", "code": "DestinationExists", "message": "“out/15.txt” already exists; not overwritten."}
    ]
    assert list_keys(s3client, bucket, "in/") == ["in/15.txt"]
    assert list_keys(s3client, bucket, "out/") == [f"out/{i:02d}.txt" for i in range(30)]
    assert s3client.get_object(Bucket=bucket, Key="out/15.txt")["Body"].read() == b"someone else's"
    (outcome,) = AuditEvent.objects.filter(action="object.move")
    assert (outcome.outcome, outcome.error_code, outcome.params["runs"]) == ("failed", "SomeKeysFailed", 2)
    assert outcome.after == {"op": "move", "done": 29, "failed": 1, "bytes": 29 * 4}


def test_starting_a_job_is_audited_in_the_job_layer_for_every_kind(endpoint, make_bucket):
    bucket = make_bucket("start")
    actor = audit.Actor(user_id=None, username="alice", role="admin")
    started = [
        emptying.bucket_count_start(actor=actor, endpoint=endpoint, bucket=bucket),
        emptying.bucket_empty_start(actor=actor, endpoint=endpoint, bucket=bucket),
        transfer.prefix_delete_start(actor=actor, endpoint=endpoint, bucket=bucket, prefix="a/"),
    ]
    for job in started:
        (start,) = AuditEvent.objects.filter(action=f"{job.kind}.start")
        (outcome,) = AuditEvent.objects.filter(action=job.kind)
        assert start.params["job_id"] == str(job.pk) == outcome.params["job_id"] and start.pk < outcome.pk
        assert job.status == Job.Status.DONE and job.finished_at


def test_job_views_and_tasks_write_nothing_themselves():
    """Views and tasks of this area call services: no S3 write, no audit.change/record of their own."""
    modules = ["buckets/views/transfer.py", "buckets/views/empty.py", "buckets/views/jobs.py", "buckets/tasks.py"]
    for path in modules:
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                called = (node.value.id, node.attr)
                assert not (called[0] == "s3" and called[1] in s3.WRITES), (path, called)
                assert called not in {("audit", "change"), ("audit", "record"), ("audit", "job_writes")}, (path, called)


def test_a_queued_job_whose_worker_died_before_starting_it_is_queued_again(endpoint, s3client, make_bucket):
    from django_tasks_db.models import DBTaskResult

    bucket = make_bucket("stranded")
    s3client.put_object(Bucket=bucket, Key="k", Body=b"1")
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    actor = {"user_id": None, "username": "alice", "ip": None, "role": "operator"}
    job = Job.objects.create(kind="bucket.count", title="t", endpoint=endpoint, bucket=bucket, actor_data=actor,
                             task_path="buckets.tasks.bucket_count")  # fmt: skip
    Job.objects.filter(pk=job.pk).update(created_at=long_ago)
    taken = DBTaskResult.objects.create(
        status="RUNNING", started_at=long_ago, args_kwargs={"args": [str(job.pk)], "kwargs": {}},
        task_path=job.task_path, backend_name="default", run_after=long_ago, worker_ids=["dead"],
    )  # fmt: skip
    waiting = Job.objects.create(kind="bucket.count", title="t", endpoint=endpoint, bucket=bucket, actor_data=actor,
                                 task_path="buckets.tasks.bucket_count")  # fmt: skip
    Job.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    DBTaskResult.objects.create(
        status="READY", args_kwargs={"args": [str(waiting.pk)], "kwargs": {}}, task_path=job.task_path,
        backend_name="default", run_after=long_ago,
    )  # fmt: skip

    assert job_recovery.recover_lost() == 1  # the one waiting for a free worker is left alone
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == 1
    taken.refresh_from_db()
    assert taken.status == "FAILED"
    assert Job.objects.get(pk=waiting.pk).status == Job.Status.QUEUED


def test_actor_round_trips_and_a_job_without_one_still_ends():
    from console.audit import Actor

    actor = Actor(user_id=3, username="ann", ip="10.0.0.1", role="operator")
    assert Actor.from_json(actor.to_json()) == actor
    # A job row with no actor recorded (seeded, or from before actors were kept) is finished, not a 500.
    assert Actor.from_json({}) == Actor(user_id=None, username="")
    assert Actor.from_json(None).username == ""
