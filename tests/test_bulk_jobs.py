"""Bulk jobs: pause, resume and cancel (through their pages), the throttle, and a source that is not a listing."""

from __future__ import annotations

import pytest

from buckets.models import Job
from buckets.services import bulk, bulk_run, bulk_sources
from catalog.services import crawl
from console import audit
from tests.transfer_fixtures import events, put_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def asking():
    """A key source that asks its own job to pause (or stop) as its first page goes out: what a user's click
    on the job page does while it runs (the worker looks at least once a second, inside a page too)."""
    wanted = {"control": ""}

    def pager(endpoint, bucket, spec, position):
        for number, (page, following) in enumerate(bulk_sources.key_pages(spec["names"][position.get("n", 0) :], 10)):
            if wanted["control"]:
                Job.objects.filter(bucket=bucket, finished_at__isnull=True).update(control=wanted["control"])
                wanted["control"] = ""
            yield page, {"n": position.get("n", 0) + (number + 1) * 10, **following}

    bulk_sources.register_source("test-asking", pager)
    yield wanted
    del bulk_sources.PAGERS["test-asking"]


def _start(admin_user, endpoint, bucket, names) -> Job:
    source = bulk_sources.KeySource("test-asking", {"names": names}, f"{len(names)} test keys")
    actor = audit.Actor(user_id=admin_user.pk, username=admin_user.username, role="admin")
    job = bulk.bulk_start(actor=actor, endpoint=endpoint, bucket=bucket, action="tag", options={"tags": {"p": "1"}},
                          source=source, total=len(names))  # fmt: skip
    job.refresh_from_db()
    return job


def _tagged(client, bucket, names) -> list[str]:
    return [n for n in names if client.get_object_tagging(Bucket=bucket, Key=n)["TagSet"]]


def test_pause_then_resume_goes_on_from_the_checkpoint(
    admin_client, admin_user, endpoint, s3client, make_bucket, asking
):
    bucket = make_bucket("pause")
    names = [f"k/{i:02}" for i in range(30)]
    put_many(s3client, bucket, names)
    asking["control"] = "pause"
    job = _start(admin_user, endpoint, bucket, names)
    # Asked while its first page was under way: it stopped after the first object, a checkpoint there.
    assert (job.status, job.done, job.finished_at, job.control) == ("paused", 1, None, "")
    assert job.checkpoint["state"]["in_page"] == 1
    assert _tagged(s3client, bucket, names) == names[:1]
    assert events("bulk.tag") == []  # no outcome while paused
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Resume" in page and "Paused after 1 of 30 done" in page

    response = admin_client.post(f"/jobs/{job.pk}/resume/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.done, job.failed, job.attempts, job.pauses) == ("done", 30, 0, 2, 1)
    assert _tagged(s3client, bucket, names) == names
    assert [e.outcome for e in events("bulk.tag.start")] == ["ok"] and [e.outcome for e in events("bulk.tag")] == ["ok"]
    assert len(events("job.resume")) == 1
    assert admin_client.post(f"/jobs/{job.pk}/resume/").status_code == 302  # not paused: said so, nothing done
    assert Job.objects.get(pk=job.pk).status == "done"


def test_cancel_a_running_job_stops_it_with_one_outcome(admin_user, endpoint, s3client, make_bucket, asking):
    bucket = make_bucket("cancel")
    names = [f"k/{i:02}" for i in range(30)]
    put_many(s3client, bucket, names)
    asking["control"] = "cancel"
    job = _start(admin_user, endpoint, bucket, names)
    assert (job.status, job.done) == ("failed", 1) and job.message.startswith("Cancelled")
    assert _tagged(s3client, bucket, names) == names[:1]
    (outcome,) = events("bulk.tag")
    assert (outcome.outcome, outcome.error_code, outcome.params["done"]) == ("failed", "Cancelled", 1)


def test_cancel_a_paused_job_from_its_page(admin_client, admin_user, endpoint, s3client, make_bucket, asking):
    bucket = make_bucket("cancel")
    names = [f"k/{i:02}" for i in range(20)]
    put_many(s3client, bucket, names)
    asking["control"] = "pause"
    job = _start(admin_user, endpoint, bucket, names)
    assert job.status == "paused"
    assert admin_client.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert [e.error_code for e in events("bulk.tag")] == ["Cancelled"] and len(events("job.cancel")) == 1
    assert _tagged(s3client, bucket, names) == names[:1]
    page = admin_client.get(f"/jobs/{job.pk}/").text  # stopped on request: not shown as a failure
    assert "<h2>Cancelled</h2>" in page and '<span class="badge warn">Cancelled</span>' in page
    assert ">Failed<" not in page and "Cancelled: 1 of 20 done" in page


def test_pause_of_another_users_job_needs_operator(viewer_client, admin_user, endpoint, s3client, make_bucket, asking):
    bucket = make_bucket("pause")
    put_many(s3client, bucket, ["k/a"])
    job = Job.objects.create(kind="bulk.tag", title="t", endpoint=endpoint, bucket=bucket, actor_id=admin_user.pk)
    assert viewer_client.post(f"/jobs/{job.pk}/pause/").status_code == 403
    assert Job.objects.get(pk=job.pk).control == ""


def test_the_throttle_keeps_the_rate():
    """A job's pace (buckets/pace.py; bulk jobs and index crawls): requests spaced evenly, pages in a second's
    pieces, no limit at 0."""
    from buckets.pace import Throttle

    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        throttle.wait()
    assert slept == pytest.approx([0.25] * 4)  # 4 a second: the first at once, then every quarter second
    throttle = Throttle(10, clock=lambda: now[0], sleep=sleep)
    start = now[0]
    for _ in range(25):
        throttle.wait()
    assert now[0] - start == pytest.approx(2.4)  # 25 objects at 10 a second: the 25th goes at 2.4 s
    pieces = list(Throttle(10, clock=lambda: now[0], sleep=sleep).chunk([{"key": str(i)} for i in range(25)]))
    assert [len(p) for p in pieces] == [10, 10, 5]
    assert Throttle(0).interval == 0 and list(map(len, Throttle(0).chunk([{}] * 3))) == [3]
    assert bulk_run.Throttle is crawl.Throttle is Throttle


def test_key_pages_cut_any_iterable():
    pages = list(bulk_sources.key_pages((f"k{i}" for i in range(5)), size=2))
    assert [[e["key"] for e in p] for p, _ in pages] == [["k0", "k1"], ["k2", "k3"], ["k4"]]
    assert [pos for _, pos in pages] == [{"after": "k1"}, {"after": "k3"}, {"after": "k4"}]
