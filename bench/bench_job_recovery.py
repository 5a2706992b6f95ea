"""From a worker's death to its job being resumed by another worker, against the configured bound.

Two `manage.py db_worker` processes (the console's own command, default options) on a database of
their own (a SQLite file, or a new PostgreSQL database when DATABASE_URL names a PostgreSQL server) and a
private SeaweedFS behind a loopback proxy that makes each DeleteObjects take a second, so that emptying a
5,000-object bucket lasts long enough to be interrupted. The worker running the job is SIGKILLed after
its first 1,000 deletions; the other one must take the job over and resume it from its checkpoint within
1.25 × JOB_LEASE_SECONDS (the lease, plus the sweep interval) plus its poll interval (1 s).

    .venv/bin/python bench/run.py job_recovery                       # the default lease (60 s): ~2 minutes
    JOB_LEASE_SECONDS=10 .venv/bin/python bench/run.py job_recovery  # a shorter one
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import check, seaweed  # noqa: E402
from tests import job_processes as procs  # noqa: E402

OBJECTS = 5000
POLL_INTERVAL = 1.0  # db_worker's default --interval


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    lease = float(os.environ.get("JOB_LEASE_SECONDS", "60"))
    bound = lease * 1.25 + POLL_INTERVAL
    with (
        tempfile.TemporaryDirectory(prefix="s3console-bench-recovery-") as tmp,
        seaweed() as server,
        procs.Proxy(server.url) as proxy,
        procs.database(Path(tmp), os.environ.get("DATABASE_URL", "")) as db,
    ):
        client = server.boto3_client()
        bucket = f"bench-recovery-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        keys = [f"logs/{i // 500:02d}/part-{i:05d}.json" for i in range(OBJECTS)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"{}"), keys))
        procs.helper(db, "setup", proxy.url, server.ids.access_key, server.ids.secret_key)
        proxy.rules.delay = lambda op, path: 1.0 if op == "DeleteObjects" else 0.0

        env = {"JOB_LEASE_SECONDS": str(lease)}
        workers = [procs.start_worker(db, name, interval=str(POLL_INTERVAL), **env) for name in ("a", "b")]
        try:
            for worker in workers:
                worker.wait_ready()
            job_id = procs.helper(db, "empty", bucket)
            running = wait(lambda: (j := db.job(job_id))["done"] >= 1000 and j["status"] == "running" and j, 120, "")
            victim = next(w for w in workers if w.pid == procs.owner_pid(running["lease_owner"]))
            victim.kill()
            died = time.monotonic()
            print(f"(killed worker {victim.pid} after {running['done']:,} of {OBJECTS:,} deletions)", flush=True)
            wait(lambda: (j := db.job(job_id))["attempts"] == 2 and j["status"] != "queued", bound * 3, "the resume")
            resumed = time.monotonic() - died
            done = wait(lambda: (j := db.job(job_id))["finished_at"] and j, 600, "the end of the job")
            finished = time.monotonic() - died
        finally:
            for worker in workers:
                worker.stop()
        left = client.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
        outcomes = db.events("bucket.empty")
        if not left:
            client.delete_bucket(Bucket=bucket)

    print(f"job {done['status']}, {left} objects left, {len(outcomes)} outcome event(s), finished {finished:.1f} s "
          f"after the death", flush=True)  # fmt: skip
    whole = done["status"] == "done" and not left and len(outcomes) == 1
    met = check(
        f"worker death → job resumed vs the bound (1.25 × JOB_LEASE_SECONDS={lease:g} + {POLL_INTERVAL:g} s poll)"
        + ("" if whole else ", but the job did not finish whole"),
        resumed, bound if whole else 0.0, at_most=1, unit="s",
    )  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
