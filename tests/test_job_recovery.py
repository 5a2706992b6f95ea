"""A worker that dies, with real processes: `db_worker` processes on a database of their own (a SQLite file,
or PostgreSQL when DATABASE_URL names one), the test SeaweedFS behind a loopback proxy that slows chosen
requests. SIGKILL a worker mid-job: another one resumes the job from its checkpoint within the bound.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests import job_processes as procs
from tests.job_processes import wait_for
from tests.objects_fixtures import fast_client, put_many

LEASE = 3  # JOB_LEASE_SECONDS of the workers here: a lost job is taken over within 1.25 × 3 s
BOUND = LEASE * 1.25
SLACK = 3.0  # the worker's poll interval (0.5 s), a database under load, the polling of this test


@pytest.fixture(scope="module")
def world(seaweed, tmp_path_factory):
    """A migrated database, the proxy in front of SeaweedFS, an endpoint to it and a user."""
    with (
        procs.Proxy(seaweed.url) as proxy,
        procs.database(tmp_path_factory.mktemp("jobprocs"), os.environ.get("DATABASE_URL", "")) as db,
    ):
        procs.helper(db, "setup", proxy.url, seaweed.ids.access_key, seaweed.ids.secret_key)
        yield db, proxy


@pytest.fixture
def workers(world):
    db, proxy = world
    proxy.rules = procs.Rules()  # each test says what its S3 does
    started: list[procs.Worker] = []

    def start(name: str) -> procs.Worker:
        worker = procs.start_worker(db, name, JOB_LEASE_SECONDS=str(LEASE))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _remaining(client, bucket: str) -> int:
    return sum(p.get("KeyCount", 0) for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket))


def test_a_killed_worker_s_empty_job_is_resumed_by_another_within_the_bound(world, workers, seaweed, make_bucket):
    db, proxy = world
    bucket = make_bucket("killed")
    keys = [f"logs/{i // 500:02d}/part-{i:05d}.json" for i in range(4000)]
    put_many(fast_client(seaweed), bucket, keys, b"{}")
    # Each DeleteObjects (1,000 keys) takes a second: the job runs long enough to be killed half way.
    proxy.rules.delay = lambda op, path: 1.0 if op == "DeleteObjects" else 0.0
    first, second = workers("a"), workers("b")
    first.wait_ready()
    second.wait_ready()

    job_id = procs.helper(db, "empty", bucket)
    running = wait_for(lambda: (j := db.job(job_id))["done"] >= 1000 and j["status"] == "running" and j, 60, "progress")
    owner = procs.owner_pid(running["lease_owner"])
    victim, survivor = (first, second) if owner == first.pid else (second, first)
    assert owner == victim.pid
    victim.kill()
    killed_at = time.monotonic()

    resumed = wait_for(lambda: (j := db.job(job_id))["attempts"] == 2 and j["status"] != "queued" and j, 30, "resume")
    took = time.monotonic() - killed_at
    assert took <= BOUND + SLACK, f"resumed {took:.1f} s after the kill; the bound is {BOUND:.1f} s"
    assert procs.owner_pid(resumed["lease_owner"] or "") in (survivor.pid, None)

    done = wait_for(lambda: (j := db.job(job_id))["finished_at"] and j, 60, "the end of the job")
    assert done["status"] == "done", done["message"]
    assert (done["total"], done["failed"], done["attempts"]) == (4000, 0, 2)
    assert done["done"] >= 3000  # from the checkpoint on; deletions between it and the kill are not listed again
    assert _remaining(seaweed.client(), bucket) == 0

    (outcome,) = db.events("bucket.empty")  # exactly one outcome, written by the worker that finished it
    params = outcome[2] if isinstance(outcome[2], dict) else json.loads(outcome[2])
    assert outcome[0] == "ok" and params["runs"] == 2 and params["job_id"] == job_id
    assert len(db.events("bucket.empty.start")) == 1
    # The dead worker's task result does not stay "running" for ever.
    running_results = "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
    wait_for(lambda: db.query(running_results) == [(0,)], 10, "no task result left running")


KEYS = 60


def test_progress_moves_per_copy_while_s3_throttles_and_a_slow_call_keeps_its_lease(
    world, workers, seaweed, make_bucket
):
    db, proxy = world
    bucket = make_bucket("slow")
    put_many(fast_client(seaweed), bucket, [f"src/{i:03d}.txt" for i in range(KEYS)], b"x")
    throttled: set[str] = set()

    def throttle(op: str, path: str) -> bool:
        """One copy in six is answered SlowDown once (then it goes through on botocore's retry; more
        throttling would only make the test longer)."""
        if op != "CopyObject" or hash(path) % 6 or path in throttled:
            return False
        throttled.add(path)
        return True

    copies = iter(range(10**6))
    # Every copy is slow; the first eight (all the copy threads at once) take longer than the lease, with
    # nothing else to write meanwhile: only the heartbeat keeps the job from looking dead.
    proxy.rules.delay = lambda op, path: (2 * LEASE if next(copies) < 8 else 0.2) if op == "CopyObject" else 0.0
    proxy.rules.throttle = throttle
    first, second = workers("c"), workers("d")
    first.wait_ready()
    second.wait_ready()

    job_id = procs.helper(db, "copy", bucket, "src/", "dst/")
    seen = []
    while not (job := db.job(job_id))["finished_at"]:
        seen.append(job["done"])
        time.sleep(0.05)
    assert job["status"] == "done" and job["done"] == KEYS, job["message"]
    assert job["attempts"] == 1  # never taken over: the heartbeat renewed the lease through the slow calls
    # One listing page (all the keys) is one batch: the old per-page progress showed 0 until the very end.
    between = sorted({d for d in seen if 0 < d < KEYS})
    assert len(between) >= 2, seen[-20:]
    assert throttled and proxy.rules.seen["CopyObject"] >= KEYS + len(throttled)
    assert _remaining(seaweed.client(), bucket) == 2 * KEYS
    (outcome,) = db.events("prefix.copy")
    assert outcome[0] == "ok"
