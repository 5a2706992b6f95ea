"""A background job's pace: at most so many requests (or objects) a second, spaced evenly.

One ``Throttle`` a job run, shared by its threads: a bulk action's workers, an index crawl's listing and
its details requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator


class Throttle:
    """At most ``rate`` a second on average (0: as fast as S3 answers), spaced evenly."""

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.next = clock()
        self.lock = threading.Lock()  # two threads never take the same turn

    def wait(self, count: int = 1) -> None:
        """Until the turn of the next ``count`` (requests, objects) comes."""
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            turn = max(now, self.next)
            self.next = turn + count * self.interval
        if turn > now:
            self.sleep(turn - now)

    def chunk(self, page: list[dict]) -> Iterator[list[dict]]:
        """A page in pieces of about a second's worth, each after its wait."""
        size = max(1, int(1 / self.interval)) if self.interval else len(page) or 1
        for start in range(0, len(page), size):
            piece = page[start : start + size]
            self.wait(len(piece))
            yield piece
