"""Many keys at once, never a whole prefix in memory: listing page by page, counting, looking keys up in
order, deleting in batches. Shared by the copy/move/delete services and their background jobs.
"""

from __future__ import annotations

import os.path
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from buckets import s3, vocabulary
from console.models import Endpoint

MAX_DRY_RUN_PAGES = 200  # a dry run counts up to 200,000 keys, then says "more than"
SELECTION_LISTING_PAGES = 5  # sizes of a selection come from listing its common prefix, if that is short
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys
STILL_THERE = "The endpoint answered that it was deleted, but it is still there."


def common_prefix(keys: list[str]) -> str:
    """The longest folder ("…/") all keys share."""
    shared = os.path.commonprefix(keys) if keys else ""
    return shared[: shared.rfind("/") + 1]


def list_after(*, endpoint: Endpoint, bucket: str, prefix: str = "", start_after: str = "", max_keys: int = 1000):
    """One ListObjectsV2 page after ``start_after``: {objects, truncated}."""
    page = s3.list_objects_page(
        endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=start_after, max_keys=max_keys
    )
    return {"objects": page["objects"], "truncated": page["truncated"] and bool(page["objects"])}


def iter_pages(endpoint: Endpoint, bucket: str, prefix: str, start_after: str = "") -> Iterator[list[dict]]:
    """Pages of objects ({key, size, etag, …}) under ``prefix`` after ``start_after``; only keys that really
    start with the prefix. StartAfter (not a token) keeps the listing right while its keys are deleted."""
    while True:
        page = list_after(endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=start_after)
        objects = [o for o in page["objects"] if o["key"].startswith(prefix)]
        if objects:
            yield objects
        if not page["truncated"]:
            return
        start_after = page["objects"][-1]["key"]


@dataclass
class Count:
    count: int = 0
    bytes: int | None = 0
    complete: bool = True
    missing: list[str] = field(default_factory=list)


def count_prefix(endpoint: Endpoint, bucket: str, prefix: str, max_pages: int = MAX_DRY_RUN_PAGES) -> Count:
    """Keys and bytes under a prefix, counted page by page; stops after ``max_pages`` (complete=False)."""
    result = Count()
    for number, page in enumerate(iter_pages(endpoint, bucket, prefix), start=1):
        result.count += len(page)
        result.bytes += sum(o["size"] for o in page)
        if number >= max_pages:
            result.complete = not list_after(
                endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=page[-1]["key"], max_keys=1
            )["objects"]
            break
    return result


def measure_selection(endpoint: Endpoint, bucket: str, keys: list[str]) -> Count:
    """Count a selection; its bytes too when listing its common prefix takes a few pages at most."""
    if len(keys) == 1:  # the key itself is the first entry of a listing with it as the prefix
        page = list_after(endpoint=endpoint, bucket=bucket, prefix=keys[0], max_keys=1)
        hit = [o for o in page["objects"] if o["key"] == keys[0]]
        return Count(count=len(hit), bytes=sum(o["size"] for o in hit), missing=[] if hit else list(keys))
    wanted = set(keys)
    found: dict[str, int] = {}
    base = common_prefix(keys)
    for number, page in enumerate(iter_pages(endpoint, bucket, base), start=1):
        found.update((o["key"], o["size"]) for o in page if o["key"] in wanted)
        if len(found) == len(wanted):
            break
        if number >= SELECTION_LISTING_PAGES:
            return Count(count=len(wanted), bytes=None)
    missing = sorted(wanted - set(found))
    return Count(count=len(wanted) - len(missing), bytes=sum(found.values()), missing=missing)


class ExistingKeys:
    """Answers "does this key exist, and as what?" for increasing keys, listing the bucket lazily.

    One ListObjectsV2 page serves up to 1,000 lookups; a gap jumps ahead with StartAfter, so a
    big unrelated bucket or folder is not listed whole.
    """

    def __init__(self, endpoint: Endpoint, bucket: str, prefix: str):
        self.endpoint, self.bucket, self.prefix = endpoint, bucket, prefix
        self.buffer: deque[dict] = deque()
        self.last = ""
        self.exhausted = False

    def get(self, key: str) -> dict | None:
        """The listing entry of ``key`` ({key, size, etag, …}), or None; keys must come in increasing order."""
        while True:
            while self.buffer and self.buffer[0]["key"] < key:
                self.buffer.popleft()
            if self.buffer:
                return self.buffer[0] if self.buffer[0]["key"] == key else None
            if self.exhausted:
                return None
            # Everything before key[:-1] is of no interest: start there (or after what was seen).
            start_after = max(self.last, key[:-1])
            page = list_after(endpoint=self.endpoint, bucket=self.bucket, prefix=self.prefix, start_after=start_after)
            self.buffer.extend(page["objects"])
            if page["objects"]:
                self.last = page["objects"][-1]["key"]
            self.exhausted = not page["truncated"]

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


def plain_key(key: str) -> bool:
    """A key no known server stores under another name (no "//", "\\", "." segments, control characters)."""
    return not vocabulary.key_errors(key, rewrites=True, folder=key.endswith("/"))


def key_exists(*, endpoint: Endpoint, bucket: str, key: str, max_pages: int = 5) -> bool:
    """Whether a listing shows exactly ``key``: how a write is checked to have landed as typed.

    Neither HEAD nor a listing from or under the key as typed will do: SeaweedFS answers both for "a//b"
    from the "a/b" it stored (and HEAD of a folder whose marker is gone). So the listing starts from the
    nearest folder above the key that no server rewrites, and shows what is really stored there.
    """
    if key.endswith("/") and plain_key(key):  # a folder marker is the first entry of its own listing
        page = list_after(endpoint=endpoint, bucket=bucket, prefix=key, max_keys=1)
        return any(o["key"] == key for o in page["objects"])
    folder = key[: key.rstrip("/").rfind("/") + 1]
    while folder and not plain_key(folder):
        folder = folder[: folder[:-1].rfind("/") + 1]
    after, token = (key[:-1] if plain_key(key) else ""), ""
    for _ in range(max_pages):
        page = s3.list_objects_page(
            endpoint=endpoint, bucket=bucket, prefix=folder, start_after=after, token=token, max_keys=1000
        )
        for entry in page["objects"]:
            if entry["key"] >= key:
                return entry["key"] == key
        if not page["next_token"]:
            return False
        token = page["next_token"]
    return s3.head_object(endpoint=endpoint, bucket=bucket, key=key) is not None


def delete_keys(*, endpoint: Endpoint, bucket: str, keys: list[str]) -> list[dict]:
    """Delete keys (inside the caller's audited change): the ones S3 refused, as [{key, code, message}].

    Plain keys go by DeleteObjects, 1,000 a call (Quiet). A folder marker (a key ending in "/") goes by
    its own DeleteObject and is looked up afterwards: SeaweedFS reports such keys deleted by
    DeleteObjects while they stay.
    """
    markers = [k for k in keys if k.endswith("/")]
    plain = [k for k in keys if not k.endswith("/")]
    errors: list[dict] = []
    for start in range(0, len(plain), DELETE_BATCH):
        batch = [{"key": k} for k in plain[start : start + DELETE_BATCH]]
        errors += s3.delete_objects(endpoint=endpoint, bucket=bucket, entries=batch)
    for key in markers:
        try:
            s3.delete_object(endpoint=endpoint, bucket=bucket, key=key)
            if key_exists(endpoint=endpoint, bucket=bucket, key=key):
                errors.append({"key": key, "code": "NotDeleted", "message": STILL_THERE})
        except s3.S3Error as exc:
            errors.append({"key": key, "code": exc.code, "message": exc.user_message})
    return errors
