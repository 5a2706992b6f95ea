"""Threads that wait for S3: the pool of calls under a time budget, and each endpoint's section readers.

Daemon threads (a call left hanging on an endpoint that never answers must not keep the process alive at
exit, and a ThreadPoolExecutor joins its threads), made as calls come and ended once idle for
``IDLE_SECONDS`` (a process that served one busy minute, or met many endpoints, does not keep their threads
for its life).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

IDLE_SECONDS = 60.0


class Threads:
    """Each call is given a thread when it is submitted: an idle one (counted down at once, so two calls
    submitted together never count on the same idle thread and wait for each other), else a new one up to
    ``most``, else the next thread to finish its call (``waiting``). A thread idle for ``idle_seconds``
    ends, unless a call was given to it meanwhile.
    """

    def __init__(self, most: int, name: str = "s3-call", idle_seconds: float = IDLE_SECONDS):
        self.most, self.name, self.idle_seconds = most, name, idle_seconds
        self.idle = self.threads = self.waiting = 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def submit(self, function, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self.lock:
            if self.idle:
                self.idle -= 1
            elif self.threads < self.most:
                self.threads += 1
                threading.Thread(target=self._work, name=f"{self.name}-{self.threads}", daemon=True).start()
            else:
                self.waiting += 1
            self.queue.put((future, function, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            try:
                future, function, args, kwargs = self.queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self.lock:
                    if self.idle:  # no call counts on this thread: it ends
                        self.idle -= 1
                        self.threads -= 1
                        return
                continue  # a call was just given to an idle thread and is in the queue: take it
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(*args, **kwargs))
                except BaseException as exc:  # handed to the waiting caller
                    future.set_exception(exc)
            del future, function, args, kwargs  # an idle thread holds nothing of its last call
            with self.lock:
                if self.waiting:
                    self.waiting -= 1  # the queue holds a call no thread was given: this one takes it
                else:
                    self.idle += 1
