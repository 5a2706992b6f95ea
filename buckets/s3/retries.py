"""Retries: each S3 call its own attempts (``S3_MAX_ATTEMPTS``), whatever other calls of the process met."""

from __future__ import annotations

import logging

import botocore
from botocore.retries import standard as retry_standard

log = logging.getLogger("buckets.s3")


class _NeverRunsOut:
    """A retry quota each call's own attempts bound instead (S3_MAX_ATTEMPTS, within the page's budget)."""

    def acquire(self, capacity_amount: int) -> bool:
        return True

    def release(self, capacity_amount: int) -> None:
        pass


def retries_of_its_own(client) -> None:
    """Every call keeps its retries (the client's ``total_max_attempts``), whatever other calls of the
    process met.

    botocore's standard mode keeps one retry quota per client (500; 5 a retry, 10 after a timeout), and
    every page and job of the process shares its endpoint's client: a throttled bucket's retries used it
    up, and then a call to any other bucket that met one passing SlowDown or 503 failed at once.
    """
    client.meta.events.unregister("needs-retry.s3", unique_id="retry-config-s3")
    attempts = client.meta.config.retries["total_max_attempts"]
    handler = retry_standard.register_retry_handler(client, max_attempts=attempts)
    checker = getattr(handler, "_retry_quota", None)
    if checker is None or not hasattr(checker, "_quota"):  # another botocore: its own quota stays
        log.warning("botocore %s keeps its retry quota elsewhere: its clients share retries", botocore.__version__)
        return
    checker._quota = _NeverRunsOut()
