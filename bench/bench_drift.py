"""One drift pass over 1,000 buckets (moto) and over 200 buckets (SeaweedFS).

Baseline: the same S3 calls the pass made (ListBuckets and each bucket's Get* calls), made directly
with a plain boto3 client, as many at the same time as the pass reads buckets (DRIFT_CHECK_THREADS).
The ratio is what the console adds: its S3 layer, comparing, the snapshots and the audit lookups in
the database. A few buckets are changed outside first, so the pass also records some events.
Logs at WARNING (the S3 layer logs every "there is none" answer at INFO: 13 lines per bucket).

    python bench/bench_drift.py            # both
    python bench/bench_drift.py moto       # only the 1,000 buckets on moto
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import check, seaweed, setup_django  # noqa: E402

MOTO_BUCKETS = 1000
SEAWEED_BUCKETS = 200
CHANGED = 10


def _pass(endpoint):
    from django.conf import settings

    from buckets import s3
    from watch.services import drift

    s3.CALL_COUNTS.clear()
    start = time.perf_counter()
    with s3.time_budget(settings.S3_JOB_CALL_BUDGET, per_call=True):  # as the task and the command run it
        result = drift.drift_check(endpoints=[endpoint], trigger="command")
    return time.perf_counter() - start, result, dict(s3.CALL_COUNTS)


def _raw(client, names: list[str], calls: dict[str, int]) -> float:
    """The same calls with a plain boto3 client: per bucket, each Get* operation the pass made."""
    from botocore import xform_name
    from botocore.exceptions import ClientError
    from django.conf import settings

    per_bucket = [xform_name(op) for op, n in calls.items() if op.startswith("Get")]
    assert all(calls[op] == len(names) for op in calls if op.startswith("Get")), calls

    def one(name: str) -> None:
        for operation in per_bucket:
            with contextlib.suppress(ClientError):  # "there is none" answers are errors in S3's API
                getattr(client, operation)(Bucket=name)

    start = time.perf_counter()
    client.list_buckets()
    with ThreadPoolExecutor(max_workers=settings.DRIFT_CHECK_THREADS) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - start


def _measure(label: str, endpoint, client, names: list[str]) -> bool:
    _pass(endpoint)  # the first snapshots
    for name in names[:CHANGED]:
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "changed", "Value": "outside"}]})
    measured, result, calls = _pass(endpoint)
    assert len(result.events) == CHANGED, [e.action for e in result.events]
    baseline = min(_raw(client, names, calls) for _ in range(2))
    total = sum(calls.values())
    return check(f"drift pass, {label} ({total} S3 calls)", measured, baseline, at_most=1.3, unit="s")


def moto_pass() -> bool:
    import boto3
    from moto import mock_aws

    from console.models import Endpoint

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        names = [f"drift-bench-{i:04d}" for i in range(MOTO_BUCKETS)]
        for name in names:
            client.create_bucket(Bucket=name)
        endpoint = Endpoint.objects.create(name="bench-moto", region="us-east-1")
        return _measure(f"{MOTO_BUCKETS:,} buckets on moto", endpoint, client, names)


def seaweed_pass() -> bool:
    with seaweed() as server:
        client = server.boto3_client()
        names = [f"drift-bench-{i:04d}" for i in range(SEAWEED_BUCKETS)]
        for name in names:
            client.create_bucket(Bucket=name)
        return _measure(f"{SEAWEED_BUCKETS} buckets on SeaweedFS", server.endpoint("bench-weed"), client, names)


def main(which: list[str]) -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django()
    if not which or "moto" in which:
        moto_pass()
    if not which or "seaweed" in which:
        seaweed_pass()


if __name__ == "__main__":
    main(sys.argv[1:])
