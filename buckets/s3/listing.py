"""Listings, one call a page (S3 answers at most 1,000 entries a call): buckets, objects, versions, uploads.

One shape per kind of entry:

- object: {key, size, last_modified, storage_class, etag}
- version: {key, version_id, is_latest, delete_marker, size, last_modified, storage_class, etag}
- upload: {key, upload_id, initiated, storage_class, initiator}

Pages come back as {entries..., next} where ``next`` is what to pass to get the following page,
or None at the end (also when a server pages without moving its markers, which would loop forever).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from buckets.s3.client import call, given

if TYPE_CHECKING:
    from console.models import Endpoint

PAGE_SIZE = 1000


def list_buckets(*, endpoint: Endpoint) -> list[dict]:
    """Every bucket the endpoint's credentials own: [{name, created, region}], following pages."""
    buckets: list[dict] = []
    params: dict[str, Any] = {}
    while True:
        page = call(endpoint, "list_buckets", **params)
        for item in page.get("Buckets", []):
            buckets.append(
                {"name": item["Name"], "created": item.get("CreationDate"), "region": item.get("BucketRegion", "")}
            )
        token = page.get("ContinuationToken")
        if not token:
            return buckets
        params = {"ContinuationToken": token}


def check_connection(*, endpoint: Endpoint) -> dict:
    """ListBuckets once; returns {count, names (the first 20)} or raises S3Error."""
    buckets = list_buckets(endpoint=endpoint)
    return {"count": len(buckets), "names": [b["name"] for b in buckets[:20]]}


# --- paging --------------------------------------------------------------------------------------------
def _listing(bucket: str, prefix: str, delimiter: str, max_keys: int) -> dict[str, Any]:
    """What ListObjectsV2 and ListObjectVersions take alike."""
    return {"Bucket": bucket, "MaxKeys": min(max_keys, PAGE_SIZE), **given(Prefix=prefix, Delimiter=delimiter)}


def _following(page: dict, before: dict[str, str], **fields: str) -> dict[str, str] | None:
    """The markers of the next page ({name: the answer's field}); None at the end, or when the server
    answered none or the ones it was given (paging would loop forever)."""
    following = {name: page.get(field) or "" for name, field in fields.items()}
    stuck = not any(following.values()) or following == before
    return following if page.get("IsTruncated") and not stuck else None


def _follow(list_page, entries: str, **query) -> Iterator:
    """Every page of a listing that answers {entries..., next}, following ``next`` to the end."""
    markers: dict[str, str] = {}
    while True:
        page = list_page(**query, **markers)
        yield page[entries]
        if not page["next"]:
            return
        markers = page["next"]


# --- objects ----------------------------------------------------------------------------------------
def _object(entry: dict) -> dict:
    return {
        "key": entry["Key"],
        "size": entry.get("Size") or 0,
        "last_modified": entry.get("LastModified"),
        "storage_class": entry.get("StorageClass") or "STANDARD",
        "etag": entry.get("ETag", ""),
    }


def list_objects_page(
    *,
    endpoint: Endpoint,
    bucket: str,
    prefix: str = "",
    delimiter: str = "",
    token: str = "",
    start_after: str = "",
    max_keys: int = PAGE_SIZE,
) -> dict:
    """One ListObjectsV2 call: {prefixes, objects, next_token}. ``next_token`` is "" on the last page.

    ``start_after`` (instead of a token) keeps a listing right while its keys are deleted.
    """
    markers = given(ContinuationToken=token) or given(StartAfter=start_after)
    page = call(endpoint, "list_objects_v2", **_listing(bucket, prefix, delimiter, max_keys), **markers)
    objects = [_object(o) for o in page.get("Contents", [])]
    following = (page.get("NextContinuationToken") or "") if page.get("IsTruncated") else ""
    if following == token:
        following = ""  # a server that pages without moving its token would loop forever
    return {
        "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
        "objects": objects,
        "next_token": following,
        "truncated": bool(page.get("IsTruncated")) and bool(objects or page.get("CommonPrefixes")),
    }


def iter_object_pages(*, endpoint: Endpoint, bucket: str, prefix: str = "", page_size: int = PAGE_SIZE) -> Iterator:
    """Every object under ``prefix``, a list per page; paged with StartAfter, so deleting along the way is safe."""
    start_after = ""
    while True:
        page = list_objects_page(
            endpoint=endpoint, bucket=bucket, prefix=prefix, start_after=start_after, max_keys=page_size
        )
        objects = [o for o in page["objects"] if o["key"].startswith(prefix)]
        if objects:
            yield objects
        if not page["truncated"] or not page["objects"]:
            return
        start_after = page["objects"][-1]["key"]


# --- versions -----------------------------------------------------------------------------------------
def list_versions_page(
    *,
    endpoint: Endpoint,
    bucket: str,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = PAGE_SIZE,
) -> dict:
    """One ListObjectVersions call: {prefixes, versions, next: {key_marker, version_id_marker} | None}.

    S3 answers versions and delete markers in two lists: they are merged in key order, each key's latest
    entry first, the rest in the server's order (SeaweedFS stamps versions to the second, so dates cannot
    order them).
    """
    markers = given(KeyMarker=key_marker, VersionIdMarker=version_id_marker) if key_marker else {}
    page = call(endpoint, "list_object_versions", **_listing(bucket, prefix, delimiter, max_keys), **markers)
    entries = [(v, False) for v in page.get("Versions", [])] + [(m, True) for m in page.get("DeleteMarkers", [])]
    versions = [
        {
            "key": e["Key"],
            "version_id": e.get("VersionId") or "null",
            "is_latest": bool(e.get("IsLatest")),
            "delete_marker": marker,
            "size": 0 if marker else e.get("Size") or 0,
            "last_modified": e.get("LastModified"),
            "storage_class": "" if marker else e.get("StorageClass") or "STANDARD",
            "etag": "" if marker else e.get("ETag", ""),
        }
        for e, marker in entries
    ]
    versions.sort(key=lambda v: (v["key"], not v["is_latest"]))  # stable: the server's order within a key
    before = {"key_marker": key_marker, "version_id_marker": version_id_marker}
    following = _following(page, before, key_marker="NextKeyMarker", version_id_marker="NextVersionIdMarker")
    if following and not following["key_marker"]:
        following = None  # without a key marker the version id marker is ignored: the listing would restart
    return {"prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])], "versions": versions, "next": following}


def iter_version_pages(*, endpoint: Endpoint, bucket: str, prefix: str = "", page_size: int = PAGE_SIZE) -> Iterator:
    """Every version and delete marker under ``prefix``, a list per page."""
    return _follow(list_versions_page, "versions", endpoint=endpoint, bucket=bucket, prefix=prefix, max_keys=page_size)


# --- incomplete multipart uploads ----------------------------------------------------------------------
def list_uploads_page(
    *,
    endpoint: Endpoint,
    bucket: str,
    prefix: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    max_uploads: int = PAGE_SIZE,
) -> dict:
    """One ListMultipartUploads page: {uploads, next: {key_marker, upload_id_marker} | None}."""
    # AWS pages by key then upload id; SeaweedFS by upload id alone (its NextKeyMarker stays empty).
    markers = given(Prefix=prefix, KeyMarker=key_marker, UploadIdMarker=upload_id_marker)
    page = call(endpoint, "list_multipart_uploads", Bucket=bucket, MaxUploads=max_uploads, **markers)
    uploads = [
        {
            "key": u["Key"],
            "upload_id": u["UploadId"],
            "initiated": u.get("Initiated"),
            "storage_class": u.get("StorageClass") or "",
            "initiator": (u.get("Initiator") or {}).get("DisplayName") or (u.get("Initiator") or {}).get("ID", ""),
        }
        for u in page.get("Uploads", [])
    ]
    before = {"key_marker": key_marker, "upload_id_marker": upload_id_marker}
    following = _following(page, before, key_marker="NextKeyMarker", upload_id_marker="NextUploadIdMarker")
    return {"uploads": uploads, "next": following if uploads else None}


def iter_upload_pages(*, endpoint: Endpoint, bucket: str, prefix: str = "", page_size: int = PAGE_SIZE) -> Iterator:
    """Every incomplete multipart upload under ``prefix``, a list per page."""
    return _follow(list_uploads_page, "uploads", endpoint=endpoint, bucket=bucket, prefix=prefix, max_uploads=page_size)


def upload_bytes(*, endpoint: Endpoint, bucket: str, key: str, upload_id: str, max_pages: int = 10) -> int:
    """Bytes an incomplete multipart upload holds so far (ListParts, following at most ``max_pages`` pages)."""
    total, marker = 0, 0
    for _ in range(max_pages):
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "MaxParts": PAGE_SIZE}
        if marker:
            params["PartNumberMarker"] = marker
        page = call(endpoint, "list_parts", **params)
        total += sum(p.get("Size") or 0 for p in page.get("Parts", []))
        following = int(page.get("NextPartNumberMarker") or 0)
        if not page.get("IsTruncated") or following <= marker:
            break
        marker = following
    return total
