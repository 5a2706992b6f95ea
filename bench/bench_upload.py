"""A 1 GiB upload: the console's direct flow versus `aws s3 cp`, on the same SeaweedFS in the same run.

The console side is what the browser does (static/console/upload/job.js): the console's own endpoints
start the multipart upload, hand out presigned part URLs in batches of 20 and complete it; the
parts go straight to S3, 4 at a time, with `requests`. The AWS CLI (its own virtualenv,
bench/.venv-awscli, since awscli pins its own botocore) uploads the same file with its defaults.
Each side runs twice, alternating; the better run of each counts. Goal: the console ≥ 0.8× the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import admin_client, aws_binary, check, seaweed, setup_django  # noqa: E402

MiB = 1024 * 1024
SIZE = 1024 * MiB
PARALLEL = 4  # as the browser
URL_BATCH = 20  # as the browser
ROUNDS = 2


def make_file(path: Path) -> None:
    with open(path, "wb") as fh:
        for _ in range(SIZE // (64 * MiB)):
            fh.write(os.urandom(64 * MiB))


def post(client, name: str, endpoint, bucket: str, data: dict) -> dict:
    from django.urls import reverse

    response = client.post(reverse(name, args=[endpoint.pk, bucket]), json.dumps(data), content_type="application/json")
    if response.status_code >= 300:
        raise RuntimeError(f"{name}: {response.status_code} {response.content[:300]!r}")
    return response.json() if response.content else {}


def console_direct(client, endpoint, bucket: str, key: str, path: Path) -> None:
    """The browser's flow: start, part URLs in batches, parallel PUTs straight to S3, complete."""
    import requests

    plan = post(client, "upload_start", endpoint, bucket, {"key": key, "size": SIZE, "method": "direct"})
    count, part_size, token = plan["part_count"], plan["part_size"], plan["token"]
    urls: dict[int, str] = {}
    for first in range(1, count + 1, URL_BATCH):
        numbers = list(range(first, min(first + URL_BATCH, count + 1)))
        answer = post(client, "upload_part_urls", endpoint, bucket, {"token": token, "parts": numbers})
        urls.update({int(n): u for n, u in answer["urls"].items()})
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=PARALLEL, pool_maxsize=PARALLEL))

    def put(number: int) -> dict:
        with open(path, "rb") as fh:
            fh.seek((number - 1) * part_size)
            body = fh.read(part_size)
        answer = session.put(urls[number], data=body, timeout=120)
        answer.raise_for_status()
        return {"part": number, "etag": answer.headers["ETag"]}

    with ThreadPoolExecutor(PARALLEL) as pool:
        parts = list(pool.map(put, range(1, count + 1)))
    post(client, "upload_complete", endpoint, bucket, {"token": token, "parts": parts, "method": "direct"})


def aws_cp(aws: Path, server, bucket: str, key: str, path: Path) -> None:
    command = [
        str(aws),
        "--endpoint-url",
        server.url,
        "s3",
        "cp",
        "--only-show-errors",
        str(path),
        f"s3://{bucket}/{key}",
    ]
    subprocess.run(command, env=server.aws_env(), check=True)


def main() -> None:
    aws = aws_binary()
    setup_django()
    with seaweed() as server, tempfile.TemporaryDirectory(prefix="s3console-bench-upload-") as tmp:
        endpoint = server.endpoint()
        client = admin_client()
        s3 = server.boto3_client()
        bucket = "bench-upload"
        s3.create_bucket(Bucket=bucket)
        path = Path(tmp) / "one-gib.bin"
        make_file(path)
        best = {"console": float("inf"), "aws": float("inf")}
        for round_ in range(ROUNDS):
            for side in ("console", "aws"):
                key = f"{side}-{round_}.bin"
                started = time.perf_counter()
                if side == "console":
                    console_direct(client, endpoint, bucket, key, path)
                else:
                    aws_cp(aws, server, bucket, key, path)
                elapsed = time.perf_counter() - started
                size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
                assert size == SIZE, f"{side} uploaded {size} bytes"
                s3.delete_object(Bucket=bucket, Key=key)
                print(f"  round {round_ + 1} {side:7}: {SIZE / MiB / elapsed:7.1f} MiB/s ({elapsed:.1f} s)", flush=True)
                best[side] = min(best[side], elapsed)
        console_rate, aws_rate = SIZE / MiB / best["console"], SIZE / MiB / best["aws"]
        print(f"1 GiB upload, console direct flow: {console_rate:.1f} MiB/s", flush=True)
        print(f"1 GiB upload, aws s3 cp:           {aws_rate:.1f} MiB/s", flush=True)
        met = check(
            "1 GiB upload, console direct flow vs aws s3 cp", console_rate, aws_rate, at_least=0.8, unit="MiB/s"
        )
        sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
