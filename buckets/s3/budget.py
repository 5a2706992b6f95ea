"""Time budgets: a page waits at most its budget for S3 in all, a background job each call at most its own.

A call still running when the budget ends is left to finish on a daemon thread (its socket timeouts end
it); the caller gets ``S3Error("EndpointTimeout")`` at once, and every later call of the same page fails
fast, so a page with several S3 reads still answers within its budget. One endpoint's calls take at most
``ENDPOINT_MOST`` of the pool's threads at once, and an endpoint with ``ABANDONED_MOST`` calls left
running so is asked nothing more until some end.
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
    answers must not keep the process alive at exit (a ThreadPoolExecutor joins its threads).

    Each call is given a thread when it is submitted: an idle one (counted down at once, so two calls
    submitted together never count on the same idle thread and wait for each other), else a new one up to
    ``most``, else the next thread to finish its call (``waiting``).
    """

    def __init__(self, most: int):
        self.most, self.idle, self.threads, self.waiting = most, 0, 0, 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def submit(self, function, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self.lock:
            if self.idle:
                self.idle -= 1
            elif self.threads < self.most:
                self.threads += 1
                threading.Thread(target=self._work, name=f"s3-call-{self.threads}", daemon=True).start()
            else:
                self.waiting += 1
            self.queue.put((future, function, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            future, function, args, kwargs = self.queue.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(*args, **kwargs))
                except BaseException as exc:  # handed to the waiting caller
                    future.set_exception(exc)
            with self.lock:
                if self.waiting:
                    self.waiting -= 1  # the queue holds a call no thread was given: this one takes it
                else:
                    self.idle += 1


_executor = _DaemonPool(most=128)
# Of one endpoint's calls, at most this many on the pool at once; more wait their turn (within their budget),
# so an endpoint that takes calls and never answers holds a quarter of the threads, not all of them.
ENDPOINT_MOST = 32


class _Turns:
    """One semaphore of ENDPOINT_MOST places per endpoint, made when the endpoint is first called."""

    def __init__(self):
        self.lock = threading.Lock()
        self.places: dict = {}

    def take(self, key, timeout: float) -> bool:
        if key is None:
            return True
        with self.lock:
            places = self.places.get(key)
            if places is None:
                places = self.places[key] = threading.BoundedSemaphore(ENDPOINT_MOST)
        return places.acquire(timeout=timeout)

    def give(self, key) -> None:
        if key is not None:
            self.places[key].release()


_turns = _Turns()

# Calls to one endpoint left running past their budget (it accepts and does not answer) before it is
# asked nothing more until some end: a hung endpoint must not take every thread of the pool, or the
# pages of every other endpoint of the process would wait for a thread until their own budget ends.
ABANDONED_MOST = 8


class _Abandoned:
    """Calls whose caller stopped waiting, by endpoint, counted until each ends (answer or socket timeout)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict = {}

    def add(self, key, future: Future) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
        future.add_done_callback(lambda _: self._ended(key))

    def _ended(self, key) -> None:
        with self.lock:
            left = self.counts.pop(key) - 1
            if left:
                self.counts[key] = left

    def count(self, key) -> int:
        return self.counts.get(key, 0)


_abandoned = _Abandoned()


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


def run_with_budget(function, params: dict, endpoint_key=None) -> dict:
    """``function(**params)`` within the budget; ``endpoint_key`` names the endpoint (its hung calls counted)."""
    budget = _budget.get()
    if budget is None:
        return function(**params)
    if budget.spent:
        raise _timeout_error(budget)
    if (hung := _abandoned.count(endpoint_key)) >= ABANDONED_MOST:
        raise S3Error(
            TIMEOUT_CODE,
            f"The endpoint has left {hung} earlier calls unanswered, so the console asks it nothing more until"
            " they end: check that it is up, then reload in a minute.",
            status=504,
        )
    wait = budget.seconds if budget.deadline is None else budget.deadline - time.monotonic()
    if wait <= 0:
        budget.spent = True
        raise _timeout_error(budget)
    asked = time.monotonic()
    turn = _turns.take(endpoint_key, wait)  # the endpoint's places may all be taken: wait, within the budget
    wait -= time.monotonic() - asked
    if not turn or wait <= 0:
        if turn:
            _turns.give(endpoint_key)
        budget.spent = budget.deadline is not None
        raise _timeout_error(budget)  # nothing was sent
    future = _executor.submit(contextvars.copy_context().run, function, **params)
    future.add_done_callback(lambda _: _turns.give(endpoint_key))
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        if endpoint_key is not None:
            _abandoned.add(endpoint_key, future)
        budget.spent = budget.deadline is not None
        error = _timeout_error(budget)
        error.sent = True
        raise error from None
