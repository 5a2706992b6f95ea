"""Reads that several services and views share: small answers composed from one or two S3 calls."""

from __future__ import annotations

import time

from django.core.cache import cache

from buckets import s3, vocabulary
from console.models import Endpoint


def versioning_status(*, endpoint: Endpoint, bucket: str) -> str:
    """'Enabled', 'Suspended', or '' for a bucket that never had versioning (or an endpoint without it)."""
    try:
        return s3.get_bucket_versioning(endpoint=endpoint, bucket=bucket)["status"]
    except s3.S3Error as exc:
        if exc.not_supported:
            return ""
        raise


def object_lock_enabled(*, endpoint: Endpoint, bucket: str) -> bool:
    try:
        config = s3.get_object_lock(endpoint=endpoint, bucket=bucket)
    except s3.S3Error as exc:
        if exc.not_supported:
            return False
        raise
    return bool(config and config["enabled"])


def object_exists(*, endpoint: Endpoint, bucket: str, key: str) -> bool:
    """HeadObject: True when the key exists (its latest version is not a delete marker)."""
    return s3.head_object(endpoint=endpoint, bucket=bucket, key=key) is not None


KEY_VERSIONS_PAGE = 1000


def key_versions_page(
    *, endpoint: Endpoint, bucket: str, key: str, key_marker: str = "", version_id_marker: str = ""
) -> dict:
    """The versions of exactly ``key`` (newest first), one ListObjectVersions page: {versions, next}.

    Keys that merely start with ``key`` sort after it, so the first foreign key ends the listing.
    """
    page = s3.list_versions_page(
        endpoint=endpoint, bucket=bucket, prefix=key, delimiter="/", key_marker=key_marker,
        version_id_marker=version_id_marker, max_keys=KEY_VERSIONS_PAGE,
    )  # fmt: skip
    versions = [v for v in page["versions"] if v["key"] == key]
    foreign = len(versions) < len(page["versions"]) or bool(page["prefixes"])
    versions.sort(key=lambda v: (not v["is_latest"], -(v["last_modified"].timestamp() if v["last_modified"] else 0)))
    following = page["next"]
    if foreign or not following or following["key_marker"] != key:
        following = None
    return {"versions": versions, "next": following}


def latest_version(*, endpoint: Endpoint, bucket: str, key: str) -> dict | None:
    """The latest entry (version or delete marker) of ``key``, from the first versions page; None if none."""
    page = key_versions_page(endpoint=endpoint, bucket=bucket, key=key)
    return next((v for v in page["versions"] if v["is_latest"]), None)


def rewrites_keys(*, endpoint: Endpoint, bucket: str) -> bool:
    """Whether the endpoint stores some keys under another name (SeaweedFS): learnt from its Server header."""
    server = s3.server_software(endpoint)
    if not server:
        try:
            s3.head_bucket(endpoint=endpoint, bucket=bucket)
        except s3.S3Error:
            return False
        server = s3.server_software(endpoint)
    return vocabulary.rewrites_keys(server)


# Bucket facts that pages and uploads ask for often and that rarely change: kept a minute, in the
# shared cache when there is one (REDIS_URL; a change made in one instance is then seen by all) or
# in each process. One cache entry per bucket holds all its facts, so a change forgets them at once.
_FACT_TTL = 60.0


def _facts_key(endpoint: Endpoint, bucket: str) -> str:
    return f"bucket-facts:{endpoint.pk}:{bucket}"


def remembered(name: str, endpoint: Endpoint, bucket: str, compute, *, fresh: bool = False):
    """``compute()``, or what it gave less than a minute ago for the same bucket (unless ``fresh``)."""
    key = _facts_key(endpoint, bucket)
    facts = cache.get(key) or {}
    now = time.time()
    if not fresh and name in facts and now - facts[name][0] < _FACT_TTL:
        return facts[name][1]
    value = compute()
    facts = cache.get(key) or {}  # what another request added meanwhile
    facts[name] = (now, value)
    cache.set(key, facts, _FACT_TTL)
    return value


def forget_facts(*, endpoint: Endpoint, bucket: str) -> None:
    """After a change of the bucket's ownership, object lock or CORS settings."""
    cache.delete(_facts_key(endpoint, bucket))


def ownership_enforced(*, endpoint: Endpoint, bucket: str, fresh: bool = False) -> bool:
    """Whether the bucket's object ownership is "bucket owner enforced" (ACLs disabled).

    ``fresh``: asked of S3 now (an ACL save: a remembered answer may be a minute old, or predate a change
    made through another console process that does not share this one's cache)."""

    def compute() -> bool:
        try:
            return s3.get_bucket_ownership(endpoint=endpoint, bucket=bucket) == "BucketOwnerEnforced"
        except s3.S3Error:
            return False  # not supported, or not readable: the ACL section says what S3 answers

    return remembered("ownership", endpoint, bucket, compute, fresh=fresh)


def default_retention(*, endpoint: Endpoint, bucket: str) -> bool:
    """Whether new objects of the bucket get an object-lock retention by default.

    Then AWS accepts a write only with an integrity header (Content-MD5 or a checksum), which a
    browser's presigned PUT cannot add: such uploads go through the console, where botocore adds it.
    """

    def compute() -> bool:
        try:
            config = s3.get_object_lock(endpoint=endpoint, bucket=bucket)
        except s3.S3Error:
            return False
        return bool(config and config["enabled"] and config["mode"])

    return remembered("retention", endpoint, bucket, compute)
