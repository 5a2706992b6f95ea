"""S3 throttling one bucket (SlowDown) slows only the calls to it: the console's calls on that endpoint,
every user's page and every job of the process, share one client, which must not slow itself down for all.
A page says so at once; a background job waits and asks again."""

from __future__ import annotations

import time

import pytest

from buckets import s3
from tests.bucket_helpers import seaweed_endpoint, url
from tests.job_processes import Proxy


@pytest.fixture
def throttled(db, seaweed, make_bucket, settings):
    """(endpoint through a proxy that answers SlowDown to every request for the hot bucket, hot, calm, proxy)."""
    settings.S3_MAX_ATTEMPTS = 2  # one retry each: the test stays short
    hot, calm = make_bucket("hot"), make_bucket("calm")
    with Proxy(seaweed.url) as proxy:
        proxy.rules.throttle = lambda op, path: f"/{hot}" in path
        yield seaweed_endpoint(seaweed, "throttled", proxy.url), hot, calm, proxy


def test_a_throttled_bucket_slows_no_call_to_another(throttled):
    endpoint, hot, calm, _ = throttled
    s3.get_bucket_versioning(endpoint=endpoint, bucket=calm)  # the client, made
    for _ in range(3):
        with pytest.raises(s3.S3Error) as refused:
            s3.get_bucket_versioning(endpoint=endpoint, bucket=hot)
        assert refused.value.code == "SlowDown"
        assert "slow down" in refused.value.user_message
    started = time.monotonic()
    for _ in range(20):
        s3.get_bucket_versioning(endpoint=endpoint, bucket=calm)
    # ~1 ms each on loopback. With botocore's adaptive retry mode the client's own rate limiter, once it
    # had seen the SlowDowns, held these 20 calls 5-6 s in all.
    assert time.monotonic() - started < 1.0


def test_the_page_of_a_throttled_bucket_says_so_and_another_bucket_s_page_lists(admin_client, throttled):
    endpoint, hot, calm, _ = throttled
    page = admin_client.get(url("object_list", endpoint, hot))
    assert page.status_code == 200
    assert "The S3 server asks to slow down (too many requests); try again in a moment." in page.text
    listed = admin_client.get(url("object_list", endpoint, calm))
    assert listed.status_code == 200 and "This bucket is empty." in listed.text


def _emptied_through_a_proxy(admin_client, seaweed, bucket: str, **rules):
    """The bucket emptied by its page's job through a proxy with ``rules``: (the job, DeleteObjects sent)."""
    from django.urls import reverse

    from buckets.models import Bucket, Job

    with Proxy(seaweed.url) as proxy:
        for name, rule in rules.items():
            setattr(proxy.rules, name, rule)
        endpoint = seaweed_endpoint(seaweed, "proxied", proxy.url)
        Bucket.objects.create(endpoint=endpoint, name=bucket)
        sent = admin_client.post(reverse("bucket_empty", args=[endpoint.pk, bucket]), {"confirm": bucket})
        assert sent.status_code == 302, sent.content.decode()[:500]
        return Job.objects.get(pk=sent["Location"].rstrip("/").rsplit("/", 1)[1]), proxy.rules.seen["DeleteObjects"]


def test_a_job_told_to_slow_down_waits_and_goes_on(admin_client, seaweed, s3client, make_bucket, settings, monkeypatch):
    """Past botocore's own retries, a background job waits and asks again (JOB_SLOWDOWN_PAUSES) instead of
    failing its objects: every object goes, none is reported failed."""
    from buckets.models import Job
    from buckets.s3 import client

    settings.S3_MAX_ATTEMPTS = 1  # botocore does not retry: each SlowDown reaches the console
    monkeypatch.setattr(client, "JOB_SLOWDOWN_PAUSES", (0.05, 0.05, 0.05, 0.05, 0.05))
    bucket = make_bucket("slow")
    for i in range(5):
        s3client.put_object(Bucket=bucket, Key=f"k/{i}", Body=b"x")
    refused = []

    def throttle(op: str, path: str) -> bool:  # the first three deletes are told to slow down
        if op == "DeleteObjects" and len(refused) < 3:
            refused.append(path)
            return True
        return False

    job, deletes = _emptied_through_a_proxy(admin_client, seaweed, bucket, throttle=throttle)
    assert deletes >= 4 and len(refused) == 3
    assert job.status == Job.Status.DONE and (job.done, job.failed) == (5, 0), job.message
    assert s3client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def _delete_answer(keys: list[str], code: str) -> tuple[int, dict, bytes]:
    """DeleteObjects answered 200 with every key refused with ``code`` (nothing deleted): S3 busy per key."""
    errors = "".join(
        f"<Error><Key>{key}</Key><Code>{code}</Code><Message>Please reduce your request rate.</Message></Error>"
        for key in keys
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{errors}</DeleteResult>'
    return 200, {"Content-Type": "application/xml"}, body.encode()


@pytest.mark.parametrize(("code", "failed"), [("SlowDown", 0), ("AccessDenied", 5)])
def test_keys_deleteobjects_was_too_busy_for_are_sent_again_by_a_job(
    admin_client, seaweed, s3client, make_bucket, monkeypatch, code, failed
):
    """DeleteObjects answers 200 and names keys it did not delete with SlowDown (AWS under load on one
    prefix): an empty-bucket job sends those keys again after a pause, and every object goes. A refusal
    (AccessDenied) is not sent again: the job reports those keys failed."""
    from buckets.models import Job
    from buckets.s3 import client

    monkeypatch.setattr(client, "JOB_SLOWDOWN_PAUSES", (0.05, 0.05, 0.05, 0.05, 0.05))
    bucket = make_bucket("busy")
    keys = [f"k/{i}" for i in range(5)]
    for key in keys:
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    busy = []

    def answer(op: str, path: str, headers) -> tuple[int, dict, bytes] | None:
        if op == "DeleteObjects" and (len(busy) < 2 or code != "SlowDown"):
            busy.append(path)
            return _delete_answer(keys, code)
        return None

    job, deletes = _emptied_through_a_proxy(admin_client, seaweed, bucket, answer=answer)
    assert (job.done, job.failed) == (5 - failed, failed), job.message
    left = s3client.list_objects_v2(Bucket=bucket).get("KeyCount")
    if code == "SlowDown":
        assert job.status == Job.Status.DONE and (deletes, left) == (3, 0)  # twice busy, then every key went
    else:  # a refusal is final, and said
        assert job.status == Job.Status.FAILED and (deletes, left) == (1, 5)
        assert "5 objects could not be deleted" in job.message


def test_a_throttled_bucket_leaves_another_bucket_s_calls_their_retries(throttled):
    """botocore's standard mode keeps one retry quota per client (500, 5 a retry), and every page and job of
    the process shares the endpoint's client: a hot bucket's retries would use it up, and then a call to
    another bucket that meets one passing SlowDown fails at once instead of asking again. Each call keeps
    its own attempts (S3_MAX_ATTEMPTS, 2 here: one retry)."""
    from concurrent.futures import ThreadPoolExecutor

    endpoint, hot, calm, proxy = throttled

    def hot_call(_):
        with pytest.raises(s3.S3Error):
            s3.get_bucket_versioning(endpoint=endpoint, bucket=hot)

    with ThreadPoolExecutor(25) as pool:
        list(pool.map(hot_call, range(120)))  # 120 retries, more than the quota's 100
    assert proxy.rules.seen["GET"] == 240  # each call: its first attempt and one retry
    passing: list[str] = []

    def throttle(op: str, path: str) -> bool:
        if f"/{calm}" in path and not passing:
            passing.append(path)  # once
            return True
        return f"/{hot}" in path

    proxy.rules.throttle = throttle
    assert s3.get_bucket_versioning(endpoint=endpoint, bucket=calm)["status"] == ""
    assert passing  # the calm bucket met its SlowDown, and asked again
