"""Server-side copies that take more than one S3 call: above 5 GB, keeping an ACL, working around servers.

Used by the services that change objects (metadata, storage class, restore a version) and that
transfer them (copy, move, rename). They run inside the caller's audited change.
"""

from __future__ import annotations

import contextvars
import logging
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from buckets import s3
from console.models import Endpoint

log = logging.getLogger(__name__)

# CopyObject copies at most 5 GB; above, the copy goes part by part (UploadPartCopy).
MULTIPART_COPY_THRESHOLD = 5 * 1024**3
MULTIPART_COPY_PART_SIZE = 512 * 1024**2
MULTIPART_COPY_WORKERS = 4
MAX_PARTS = 10_000


def _tagging(endpoint: Endpoint, bucket: str, key: str, version_id: str = "") -> str:
    """The object's tags as the x-amz-tagging value a new object takes ("" when none, or not supported)."""
    try:
        tags = s3.get_object_tags(endpoint=endpoint, bucket=bucket, key=key, version_id=version_id)
    except s3.S3Error as exc:
        if not exc.not_supported:
            raise
        tags = []
    return urllib.parse.urlencode([(t["key"], t["value"]) for t in tags])


def attributes_of(head: dict) -> dict[str, Any]:
    """What a new object needs to look like the source: metadata, content headers, storage class, SSE."""
    attributes: dict[str, Any] = {"Metadata": head["metadata"]}
    attributes.update({name: value for name, value in head["headers"].items() if value})
    if head["storage_class"] != "STANDARD":
        attributes["StorageClass"] = head["storage_class"]
    if head["encryption"]:
        attributes["ServerSideEncryption"] = head["encryption"]
        if head["kms_key_id"]:
            attributes["SSEKMSKeyId"] = head["kms_key_id"]
    return attributes


def multipart_copy(
    endpoint: Endpoint, bucket: str, key: str, source: dict, if_match: str, size: int, attributes: dict
) -> str:
    """Copy ``size`` bytes of ``source`` part by part (UploadPartCopy, each conditioned on its ETag); version id."""
    part_size = min(max(MULTIPART_COPY_PART_SIZE, -(-size // MAX_PARTS)), 5 * 1024**3)
    ranges = [(n, start, min(start + part_size, size) - 1) for n, start in enumerate(range(0, size, part_size), 1)]
    upload_id = s3.create_multipart_upload(endpoint=endpoint, bucket=bucket, key=key, attributes=attributes)

    def copy_part(part: tuple[int, int, int]) -> tuple[int, str]:
        number, first, last = part
        etag = s3.upload_part_copy(
            endpoint=endpoint, bucket=bucket, key=key, upload_id=upload_id, part_number=number, source=source,
            first=first, last=last, if_match=if_match,
        )  # fmt: skip
        return number, etag

    try:
        with ThreadPoolExecutor(MULTIPART_COPY_WORKERS) as pool:
            # Each part in a copy of this context: the audited change covers the threads' calls too.
            futures = [pool.submit(contextvars.copy_context().run, copy_part, r) for r in ranges]
            parts = [f.result() for f in futures]
        answer = s3.complete_multipart_upload(
            endpoint=endpoint, bucket=bucket, key=key, upload_id=upload_id, parts=parts
        )
    except BaseException:
        try:
            s3.abort_multipart_upload(endpoint=endpoint, bucket=bucket, key=key, upload_id=upload_id)
        except s3.S3Error:
            log.warning("Could not abort the multipart copy %s of %s/%s", upload_id, bucket, key)
        raise
    return answer["version_id"]


def copy_any_size(
    *, endpoint: Endpoint, source_bucket: str, source_key: str, bucket: str, key: str, size: int | None = None
) -> dict:
    """Copy one object server-side, keeping metadata, content headers and tags: {etag, size, method}.

    Up to MULTIPART_COPY_THRESHOLD one CopyObject; above it a multipart upload of UploadPartCopy ranges
    with the metadata, headers and tags read from the source and set explicitly. ``size`` (known from a
    listing) saves the HeadObject for small objects.
    """
    source = {"Bucket": source_bucket, "Key": source_key}
    if size is None or size > MULTIPART_COPY_THRESHOLD:
        head = s3.head_object(endpoint=endpoint, bucket=source_bucket, key=source_key)
        if head is None:
            raise s3.S3Error("NoSuchKey", "The source object does not exist (any more).")
        size = head["size"]
        if size > MULTIPART_COPY_THRESHOLD:
            attributes = attributes_of(head)
            if tagging := _tagging(endpoint, source_bucket, source_key):
                attributes["Tagging"] = tagging
            multipart_copy(endpoint, bucket, key, source, head["etag"], size, attributes)
            return {"etag": "", "size": size, "method": "multipart"}
    try:
        answer = s3.copy_object(endpoint=endpoint, source=source, bucket=bucket, key=key)
    except s3.S3Error as exc:
        # SeaweedFS keeps keys ending in "/" as directories and answers NoSuchKey to copying them;
        # such a marker is empty, so writing an empty object with the same attributes is the same copy.
        if exc.code == "NoSuchKey" and source_key.endswith("/"):
            recreated = _recreate_empty(endpoint, source_bucket, source_key, bucket, key)
            if recreated is not None:
                return recreated
        raise
    return {"etag": answer["etag"], "size": size, "method": "copy"}


def _recreate_empty(endpoint: Endpoint, source_bucket: str, source_key: str, bucket: str, key: str) -> dict | None:
    head = s3.head_object(endpoint=endpoint, bucket=source_bucket, key=source_key)
    if head is None or head["size"]:
        return None
    attributes = attributes_of(head)
    if tagging := _tagging(endpoint, source_bucket, source_key):
        attributes["Tagging"] = tagging
    answer = s3.put_object(endpoint=endpoint, bucket=bucket, key=key, body=b"", attributes=attributes)
    return {"etag": answer["etag"].strip('"'), "size": 0, "method": "put"}


def _readable_acl(endpoint: Endpoint, bucket: str, key: str) -> dict | None:
    """The current ACL, to put back after a copy (a copy gets the default ACL); None when not available."""
    try:
        return s3.get_object_acl(endpoint=endpoint, bucket=bucket, key=key)
    except s3.S3Error as exc:
        if exc.not_supported or exc.code in ("AccessControlListNotSupported", "AccessDenied", *s3.ABSENT_OBJECT_CODES):
            return None
        raise


def _acl_is_default(acl: dict) -> bool:
    """Only the owner's FULL_CONTROL: what a copy gets anyway."""
    owner = acl["owner"]["id"]
    return all(g["type"] == "CanonicalUser" and g["grantee"] == owner for g in acl["grants"])


def copy_onto_itself(
    *,
    endpoint: Endpoint,
    bucket: str,
    key: str,
    head: dict,
    metadata: dict[str, str] | None = None,
    headers: dict[str, Any] | None = None,
    storage_class: str = "",
    source_version_id: str = "",
) -> dict:
    """Rewrite an object in place with new metadata/headers/storage class, only if its ETag is still head's.

    ``head`` is the HeadObject of the source (the current version, or ``source_version_id`` when
    restoring an older one). Tags, encryption and a non-default ACL are kept. Objects above
    MULTIPART_COPY_THRESHOLD are copied part by part. A changed object raises S3Error("PreconditionFailed").
    Returns {version_id} of the new version.
    """
    source: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if source_version_id:
        source["VersionId"] = source_version_id
    metadata = head["metadata"] if metadata is None else metadata
    headers = head["headers"] if headers is None else headers
    attributes: dict[str, Any] = {"Metadata": metadata, "StorageClass": storage_class or head["storage_class"]}
    attributes.update({name: headers[name] for name in s3.CONTENT_HEADERS if headers.get(name)})
    if head["encryption"]:
        attributes["ServerSideEncryption"] = head["encryption"]
        if head["kms_key_id"]:
            attributes["SSEKMSKeyId"] = head["kms_key_id"]
    acl = _readable_acl(endpoint, bucket, key)
    if head["size"] > MULTIPART_COPY_THRESHOLD:
        if tagging := _tagging(endpoint, bucket, key, source_version_id):
            attributes["Tagging"] = tagging
        version_id = multipart_copy(endpoint, bucket, key, source, head["etag"], head["size"], attributes)
    else:
        answer = s3.copy_object(
            endpoint=endpoint, source=source, bucket=bucket, key=key, replace=attributes, if_match=head["etag"]
        )
        version_id = answer["version_id"]
    if acl is not None and not _acl_is_default(acl):
        s3.put_object_acl(endpoint=endpoint, bucket=bucket, key=key, grants=acl["grants"], owner_id=acl["owner"]["id"])
    return {"version_id": version_id}
