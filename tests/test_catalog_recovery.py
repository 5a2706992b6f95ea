"""A crawl whose worker is SIGKILLed half way, with real processes (tests/job_processes.py): another worker
takes the job over and resumes the crawl after the last key it saved, and the index ends complete.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests import job_processes as procs
from tests.job_processes import wait_for
from tests.objects_fixtures import fast_client, put_many

LEASE = 3
KEYS = 3000  # three ListObjectsV2 pages


@pytest.fixture(scope="module")
def world(seaweed, tmp_path_factory):
    with (
        procs.Proxy(seaweed.url) as proxy,
        procs.database(tmp_path_factory.mktemp("indexprocs"), os.environ.get("DATABASE_URL", "")) as db,
    ):
        procs.helper(db, "setup", proxy.url, seaweed.ids.access_key, seaweed.ids.secret_key)
        yield db, proxy


def test_a_killed_crawl_is_resumed_from_its_last_key_by_another_worker(world, seaweed, make_bucket):
    db, proxy = world
    bucket = make_bucket("crawlkill")
    keys = [f"data/{i // 1000}/obj-{i:05d}" for i in range(KEYS)]
    put_many(fast_client(seaweed), bucket, keys, b"12")
    # Every listing page takes 1.5 s: the crawl is still on its second page when its worker is killed.
    proxy.rules = procs.Rules(delay=lambda op, path: 1.5 if op == "ListObjectsV2" else 0.0)
    env = {"JOB_LEASE_SECONDS": str(LEASE), "INDEX_REQUESTS_PER_SECOND": "0"}
    first = procs.start_worker(db, "crawl-a", **env)
    second = None
    try:
        first.wait_ready()
        job_id = procs.helper(db, "index", bucket)
        wait_for(lambda: db.job(job_id)["done"] >= 1000, 60, "the first page to be checkpointed")
        assert procs.owner_pid(db.job(job_id)["lease_owner"]) == first.pid
        first.kill()
        # Counted once it is dead: right after its checkpoint it may already be asking for the next page.
        time.sleep(0.3)  # a request it sent just before dying reaches the proxy's count
        listed_before_kill = proxy.rules.seen.get("ListObjectsV2", 0)
        second = procs.start_worker(db, "crawl-b", **env)
        second.wait_ready()
        job = wait_for(lambda: (j := db.job(job_id))["finished_at"] and j, 90, "the crawl to finish")
        assert job["status"] == "done", job["message"]
        assert job["attempts"] == 2 and job["done"] == KEYS
        # Resumed after the saved key: the pages already written are not listed again.
        assert proxy.rules.seen["ListObjectsV2"] - listed_before_kill <= 2
        ((entries, size),) = db.query("SELECT count(*), sum(size) FROM catalog_entry")
        assert (entries, size) == (KEYS, 2 * KEYS)
        ((count, total, state),) = db.query("SELECT object_count, total_bytes, state FROM catalog_indexedbucket")
        assert (count, total, state) == (KEYS, 2 * KEYS, "fresh")
        (outcome,) = db.events("index.crawl")
        assert outcome[0] == "ok"
        params = outcome[2] if isinstance(outcome[2], dict) else json.loads(outcome[2])
        assert params["runs"] == 2
    finally:
        first.stop()
        if second is not None:
            second.stop()
