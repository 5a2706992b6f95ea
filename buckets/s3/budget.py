"""Time budgets: a page waits at most its budget for S3 in all, a background job each call at most its own.

A call still running when the budget ends is left to finish on a daemon thread (its socket timeouts end
it); the caller gets ``S3Error("EndpointTimeout")`` at once, and every later call of the same page fails
fast, so a page with several S3 reads still answers within its budget.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass

from buckets.s3.errors import TIMEOUT_CODE, S3Error


@dataclass
class _Budget:
    seconds: float
    deadline: float | None  # a total for a page; None: each call gets ``seconds`` (background jobs)
    spent: bool = False


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("s3_budget", default=None)


class _DaemonPool:
    """Threads for calls under a budget. Daemon threads: a call left hanging on an endpoint that never
    answers must not keep the process alive at exit (a ThreadPoolExecutor joins its threads)."""

    def __init__(self, most: int):
        self.most, self.idle, self.threads = most, 0, 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def submit(self, function, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.queue.put((future, function, args, kwargs))
        with self.lock:
            if self.idle == 0 and self.threads < self.most:
                self.threads += 1
                threading.Thread(target=self._work, name=f"s3-call-{self.threads}", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            with self.lock:
                self.idle += 1
            future, function, args, kwargs = self.queue.get()
            with self.lock:
                self.idle -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)


_executor = _DaemonPool(most=64)


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


def _timeout_error(budget: _Budget) -> S3Error:
    return S3Error(TIMEOUT_CODE, f"The endpoint did not answer within {budget.seconds:g} s.", status=504)


def run_with_budget(function, params: dict) -> dict:
    budget = _budget.get()
    if budget is None:
        return function(**params)
    if budget.spent:
        raise _timeout_error(budget)
    wait = budget.seconds if budget.deadline is None else budget.deadline - time.monotonic()
    if wait <= 0:
        budget.spent = True
        raise _timeout_error(budget)
    future = _executor.submit(contextvars.copy_context().run, function, **params)
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        budget.spent = budget.deadline is not None
        error = _timeout_error(budget)
        error.sent = True
        raise error from None
