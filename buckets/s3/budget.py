"""Time budgets: a page waits at most its budget for S3 in all, a background job each call at most its own.

A call still running when the budget ends is left to finish on a daemon thread (its socket timeouts end
it); the caller gets ``S3Error("EndpointTimeout")`` at once, and every later call of the same page fails
fast, so a page with several S3 reads still answers within its budget. One endpoint's calls take at most
``ENDPOINT_MOST`` of the pool's threads at once, and an endpoint with ``ABANDONED_MOST`` calls left
running so is asked nothing more until some end.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass

from buckets.s3.errors import TIMEOUT_CODE, S3Error
from buckets.s3.threads import Threads


@dataclass
class _Budget:
    seconds: float
    deadline: float | None  # a total for a page; None: each call gets ``seconds`` (background jobs)
    spent: bool = False


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("s3_budget", default=None)


_executor = Threads(most=128)
# Of one endpoint's calls, at most this many on the pool at once; more wait their turn (within their budget),
# so an endpoint that takes calls and never answers holds a quarter of the threads, not all of them.
ENDPOINT_MOST = 32
# Calls to one endpoint left running past their budget (it accepts and does not answer) before it is
# asked nothing more until some end: its pages say so at once instead of waiting again.
ABANDONED_MOST = 8


@dataclass
class _Share:
    """One endpoint's part of the pool: its places (ENDPOINT_MOST), and its calls left running."""

    places: threading.BoundedSemaphore
    abandoned: int = 0


_shares: dict[tuple, _Share] = {}
_shares_lock = threading.Lock()


def endpoint_key(endpoint) -> tuple:
    """What the pool's share and the section readers know an endpoint by: a new address starts afresh."""
    return (endpoint.pk, endpoint.url)


def _share(key: tuple) -> _Share:
    with _shares_lock:
        share = _shares.get(key)
        if share is None:
            share = _shares[key] = _Share(threading.BoundedSemaphore(ENDPOINT_MOST))
        return share


def _abandon(share: _Share, future: Future) -> None:
    """The caller stopped waiting for ``future``: counted against its endpoint until the call ends."""

    def ended(_):
        with _shares_lock:
            share.abandoned -= 1

    with _shares_lock:
        share.abandoned += 1
    future.add_done_callback(ended)


@contextmanager
def time_budget(seconds: float, *, per_call: bool = False) -> Iterator[None]:
    """S3 calls inside wait at most ``seconds`` in all (a page), or each (``per_call``: a background job).

    A call still running when the budget ends is left to finish on its own thread (its socket
    timeouts end it); the caller gets ``S3Error("EndpointTimeout")`` at once, and every later call
    of the same page fails fast, so a page with several S3 reads still answers within its budget.
    """
    deadline = None if per_call else time.monotonic() + seconds
    token = _budget.set(_Budget(seconds, deadline))
    try:
        yield
    finally:
        _budget.reset(token)


def in_background() -> bool:
    """Inside a background job's budget (each call its own): work that can wait, where a page cannot."""
    budget = _budget.get()
    return budget is not None and budget.deadline is None


def _timeout_error(budget: _Budget) -> S3Error:
    return S3Error(TIMEOUT_CODE, f"The endpoint did not answer within {budget.seconds:g} s.", status=504)


def run_with_budget(function, params: dict, endpoint: tuple) -> dict:
    """``function(**params)`` within the budget, on the share of ``endpoint`` (its ``endpoint_key``)."""
    budget = _budget.get()
    if budget is None:
        return function(**params)
    if budget.spent:
        raise _timeout_error(budget)
    share = _share(endpoint)
    if share.abandoned >= ABANDONED_MOST:
        raise S3Error(
            TIMEOUT_CODE,
            f"The endpoint has left {share.abandoned} earlier calls unanswered, so the console asks it nothing"
            " more until they end: check that it is up, then reload in a minute.",
            status=504,
        )
    wait = budget.seconds if budget.deadline is None else budget.deadline - time.monotonic()
    asked = time.monotonic()
    turn = wait > 0 and share.places.acquire(timeout=wait)  # its places may all be taken: wait, within the budget
    wait -= time.monotonic() - asked
    if not turn or wait <= 0:
        if turn:
            share.places.release()
        budget.spent = budget.deadline is not None
        raise _timeout_error(budget)  # nothing was sent
    future = _executor.submit(contextvars.copy_context().run, function, **params)
    future.add_done_callback(lambda _: share.places.release())
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        _abandon(share, future)
        budget.spent = budget.deadline is not None
        error = _timeout_error(budget)
        error.sent = True
        raise error from None
