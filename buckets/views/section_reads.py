"""Reading the inline sections of a page: each section's S3 reads, several sections at the same time on
the endpoint's own readers, what the endpoint said it does not implement, and the after-read step.

``buckets.views.sections`` shows what these read (a card, the whole bucket page).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait

from buckets import s3
from buckets.s3.threads import Threads
from buckets.sections import Section
from buckets.services import sections as services
from buckets.services.sections import Target

READERS = 12  # sections of one page read at the same time
# Threads kept for those reads (starting twelve threads per page cost more than its render), each endpoint
# its own: they only wait for S3, whose calls carry the page's time budget, so a busy pool only queues
# reads, and an endpoint that never answers makes only its own pages' reads queue. Idle a minute, they end.
READERS_EACH = 3 * READERS
_readers: dict[tuple, Threads] = {}
_readers_lock = threading.Lock()


def readers_for(endpoint) -> Threads:
    """The endpoint's section readers (made at its first page; an edited address gets new ones, and the
    old ones end once idle)."""
    key = s3.endpoint_key(endpoint)
    pool = _readers.get(key)
    if pool is None:
        with _readers_lock:
            pool = _readers.get(key)
            if pool is None:
                for stale in [k for k in _readers if k[0] == endpoint.pk]:
                    del _readers[stale]
                pool = _readers[key] = Threads(READERS_EACH, f"read-{endpoint.pk}")
    return pool


def started(endpoint, read, /, *args) -> Future:
    """``read(*args)`` begun on the endpoint's readers in a copy of this context (the page's S3 time
    budget): the page does its other work while S3 answers, then takes the future's result."""
    return readers_for(endpoint).submit(contextvars.copy_context().run, read, *args)


def _read(spec: Section, target: Target) -> dict:
    try:
        return {"value": spec.read(target)}
    except s3.S3Error as exc:
        return {"error": exc}


def _read_ahead(read, target: Target) -> None:
    """One of a section's later reads, started with the others: its answer or failure is shared with the
    section when it asks (``s3.shared_reads``), which then reports it."""
    with contextlib.suppress(s3.S3Error):
        read(target)


def _settle(spec: Section, target: Target, state: dict) -> dict:
    """The database side of a read, in the request's thread: "not supported" memory, the after-read step."""
    if "error" in state:
        services.remember_unsupported(target.endpoint, spec.slug, state["error"])
    elif spec.after_read:
        spec.after_read(target, state["value"])
    return state


def read_state(spec: Section, target: Target) -> dict:
    """{value} or {error}, or {unsupported} when the endpoint said earlier it does not implement this."""
    return read_states([spec], target)[0]


def read_states(specs: list[Section], target: Target, wait: float | None = None) -> list[dict] | None:
    """The states of several sections; their S3 reads run at the same time (a page's budget covers all).

    With ``wait``, None when the reads are not all answered within that many seconds: those still
    running finish on their own (within the budget) and nothing of them is kept.
    """
    consulted = [slug for spec in specs for slug in spec.consults]
    known = services.known_unsupported_all(target.endpoint, [spec.slug for spec in specs] + consulted)
    target.unsupported = frozenset(known)
    pending = {i: spec for i, spec in enumerate(specs) if spec.slug not in known}
    if len(pending) > 1 or (wait is not None and pending) or any(spec.ahead for spec in pending.values()):
        with s3.shared_reads():
            for spec in pending.values():
                for read in spec.ahead:
                    started(target.endpoint, _read_ahead, read, target)
            futures = {i: started(target.endpoint, _read, spec, target) for i, spec in pending.items()}
            if wait is not None and futures_wait(futures.values(), timeout=wait).not_done:
                return None
            reads = {i: f.result() for i, f in futures.items()}
    else:
        reads = {i: _read(spec, target) for i, spec in pending.items()}
    states = []
    for i, spec in enumerate(specs):
        if spec.slug in known:
            found = known[spec.slug]
            states.append({"error": s3.S3Error(found.code or "NotImplemented", status=501), "unsupported": found})
        else:
            states.append(_settle(spec, target, reads[i]))
    return states
