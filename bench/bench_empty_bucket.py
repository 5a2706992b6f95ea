"""Emptying a 10,000-object bucket: the console's job versus `aws s3 rm --recursive`.

Both run against the same private SeaweedFS in the same run, each on its own bucket of
10,000 small objects. The console side starts the real "bucket.empty" job in-process
(immediate task backend), so its time includes the dry-run count, the audit rows and
the progress updates. The AWS CLI lives in its own virtualenv (bench/.venv-awscli,
created here when missing) because awscli pins a botocore other than the console's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import aws_binary, check, seaweed, setup_django  # noqa: E402

GOAL = 1.0  # the job (dry-run count, audit rows, progress) no slower than the CLI
OBJECTS = 10_000


def fill(client, bucket: str) -> None:
    client.create_bucket(Bucket=bucket)
    keys = [f"logs/{i // 500:03d}/part-{i:05d}.json" for i in range(OBJECTS)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b'{"ok":1}'), keys))


def count(client, bucket: str) -> int:
    return sum(page.get("KeyCount", 0) for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket))


def main() -> None:
    aws = aws_binary()
    setup_django()
    from buckets.models import Job
    from buckets.services import emptying
    from console import audit

    with seaweed() as server:
        client = server.boto3_client()
        endpoint = server.endpoint()
        ours, theirs = f"bench-empty-{uuid.uuid4().hex[:8]}", f"bench-rm-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        fill(client, ours)
        fill(client, theirs)
        print(f"(filled 2 × {OBJECTS:,} objects in {time.perf_counter() - started:.1f} s)", flush=True)

        actor = audit.Actor(user_id=None, username="bench")
        started = time.perf_counter()
        job = emptying.bucket_empty_start(actor=actor, endpoint=endpoint, bucket=ours)
        console = time.perf_counter() - started
        job.refresh_from_db()
        assert job.status == Job.Status.DONE and job.done == OBJECTS, (job.status, job.done, job.message)
        assert count(client, ours) == 0

        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config"
            config.write_text("[default]\ns3 =\n  addressing_style = path\n")
            env = {**server.aws_env(), "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
            command = [str(aws), "s3", "rm", f"s3://{theirs}", "--recursive", "--quiet", "--endpoint-url", server.url]
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True)
            cli = time.perf_counter() - started
        assert count(client, theirs) == 0

    met = check(
        f"empty {OBJECTS:,} objects: console job vs aws s3 rm --recursive", console, cli, at_most=GOAL, unit="s"
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
