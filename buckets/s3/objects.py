"""Objects: read them, write them, copy them server-side, upload in parts, presign links, delete.

Keys are user data, passed through untouched. Multi-step work (a copy above 5 GB, keeping an ACL
over a copy) is service logic in ``buckets.services``; this module makes single calls.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import time
from typing import TYPE_CHECKING, Any

from buckets.s3 import client as s3_client
from buckets.s3.budget import in_background
from buckets.s3.client import S3Error, call, call_unless_absent, presign, read_body

log = logging.getLogger("buckets.s3")

if TYPE_CHECKING:
    from console.models import Endpoint

# Headers S3 keeps with an object, as HeadObject names them and as PutObject/CopyObject take them.
CONTENT_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
ABSENT_OBJECT_CODES = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")
UPLOAD_URL_SECONDS = 3600


# --- reading ------------------------------------------------------------------------------------------
def _expires_text(answer: dict) -> str:
    if answer.get("ExpiresString"):
        return answer["ExpiresString"]
    expires = answer.get("Expires")
    return email.utils.format_datetime(expires, usegmt=True) if isinstance(expires, datetime.datetime) else ""


def head_object(*, endpoint: Endpoint, bucket: str, key: str, version_id: str = "") -> dict | None:
    """HeadObject with checksums; None when the key (or version) does not exist or is a delete marker."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
    if version_id:
        params["VersionId"] = version_id
    try:
        answer = call(endpoint, "head_object", **params)
    except S3Error as exc:
        # HEAD of a delete marker answers 405 Method Not Allowed.
        if exc.code in ABSENT_OBJECT_CODES or (version_id and exc.status == 405):
            return None
        raise
    headers = {name: answer.get(name) or "" for name in CONTENT_HEADERS if name != "Expires"}
    headers["Expires"] = _expires_text(answer)
    return {
        "key": key,
        "size": answer.get("ContentLength") or 0,
        "etag": answer.get("ETag", ""),
        "last_modified": answer.get("LastModified"),
        "storage_class": answer.get("StorageClass") or "STANDARD",
        "version_id": answer.get("VersionId") or "",
        "encryption": answer.get("ServerSideEncryption") or "",
        "kms_key_id": answer.get("SSEKMSKeyId") or "",
        "sse_customer_algorithm": answer.get("SSECustomerAlgorithm") or "",
        "checksums": {
            name.removeprefix("Checksum"): answer[name]
            for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")
            if answer.get(name)
        },
        "checksum_type": answer.get("ChecksumType") or "",
        "parts_count": answer.get("PartsCount"),
        "headers": headers,
        "metadata": dict(answer.get("Metadata") or {}),
        "restore": answer.get("Restore") or "",
        "lock_mode": answer.get("ObjectLockMode") or "",
        "lock_until": answer.get("ObjectLockRetainUntilDate"),
        "legal_hold": answer.get("ObjectLockLegalHoldStatus") or "",
    }


def read_object_start(*, endpoint: Endpoint, bucket: str, key: str, version_id: str = "", length: int) -> bytes:
    """The first ``length`` bytes (a Range GET); b"" for an empty object."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{length - 1}"}
    if version_id:
        params["VersionId"] = version_id
    answer = call_unless_absent(endpoint, "get_object", ("InvalidRange",), **params)
    return b"" if answer is None else read_body(answer["Body"], length)


def get_object_tags(*, endpoint: Endpoint, bucket: str, key: str, version_id: str = "") -> list[dict]:
    """[{key, value}] in the server's order; [] when the object has none."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    answer = call_unless_absent(endpoint, "get_object_tagging", ("NoSuchTagSet", "NoSuchTagSetError"), **params)
    if answer is None:
        return []
    return [{"key": t["Key"], "value": t.get("Value", "")} for t in answer.get("TagSet", [])]


def put_object_tags(*, endpoint: Endpoint, bucket: str, key: str, tags: list[dict]) -> None:
    """Replace the tag set; an empty list removes every tag."""
    if not tags:
        call(endpoint, "delete_object_tagging", Bucket=bucket, Key=key)
        return
    tag_set = [{"Key": t["key"], "Value": t["value"]} for t in tags]
    call(endpoint, "put_object_tagging", Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})


# --- access control lists (objects and buckets share one shape) -----------------------------------------
def _grant_from_s3(grant: dict) -> dict:
    grantee = grant.get("Grantee") or {}
    kind = grantee.get("Type", "")
    value = {"CanonicalUser": grantee.get("ID"), "Group": grantee.get("URI"), "AmazonCustomerByEmail": None}
    return {
        "type": kind,
        "grantee": value.get(kind) or grantee.get("EmailAddress") or grantee.get("ID") or "",
        "display_name": grantee.get("DisplayName") or "",
        "permission": grant.get("Permission", ""),
    }


def _grant_to_s3(grant: dict) -> dict:
    field = {"CanonicalUser": "ID", "Group": "URI", "AmazonCustomerByEmail": "EmailAddress"}[grant["type"]]
    return {"Grantee": {"Type": grant["type"], field: grant["grantee"]}, "Permission": grant["permission"]}


def get_acl(endpoint: Endpoint, operation: str, /, **params) -> dict:
    """{owner: {id, display_name}, grants: [{type, grantee, display_name, permission}]} of a bucket or object."""
    answer = call(endpoint, operation, **params)
    owner = answer.get("Owner") or {}
    return {
        "owner": {"id": owner.get("ID", ""), "display_name": owner.get("DisplayName", "")},
        "grants": [_grant_from_s3(g) for g in answer.get("Grants", [])],
    }


def put_acl(endpoint: Endpoint, operation: str, canned: str, grants: list[dict] | None, owner_id: str, /, **params):
    """A canned ACL, or explicit grants with the current owner (S3 requires the owner in the document)."""
    if canned:
        call(endpoint, operation, ACL=canned, **params)
        return
    document: dict[str, Any] = {"Grants": [_grant_to_s3(g) for g in grants or []]}
    if owner_id:
        document["Owner"] = {"ID": owner_id}
    call(endpoint, operation, AccessControlPolicy=document, **params)


def get_object_acl(*, endpoint: Endpoint, bucket: str, key: str) -> dict:
    return get_acl(endpoint, "get_object_acl", Bucket=bucket, Key=key)


def put_object_acl(
    *, endpoint: Endpoint, bucket: str, key: str, canned: str = "", grants: list[dict] | None = None, owner_id: str = ""
) -> None:
    put_acl(endpoint, "put_object_acl", canned, grants, owner_id, Bucket=bucket, Key=key)


# --- writing --------------------------------------------------------------------------------------------
def write_options(
    *,
    content_type: str = "",
    storage_class: str = "",
    sse: str = "",
    kms_key_id: str = "",
    metadata: dict[str, str] | None = None,
    tagging: str = "",
) -> dict[str, Any]:
    """The PutObject/CreateMultipartUpload parameters of an upload's options."""
    params: dict[str, Any] = {}
    if content_type:
        params["ContentType"] = content_type
    if storage_class:
        params["StorageClass"] = storage_class
    if sse:
        params["ServerSideEncryption"] = sse
        if sse == "aws:kms" and kms_key_id:
            params["SSEKMSKeyId"] = kms_key_id
    if metadata:
        params["Metadata"] = dict(metadata)
    if tagging:
        params["Tagging"] = tagging
    return params


_SIGNED_HEADERS = {
    "ContentType": "Content-Type",
    "StorageClass": "x-amz-storage-class",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
    "Tagging": "x-amz-tagging",
}


def _signed_headers(params: dict[str, Any]) -> dict[str, str]:
    """The request headers a presigned PUT signs for these parameters (the browser must send them as is)."""
    headers = {_SIGNED_HEADERS[k]: v for k, v in params.items() if k in _SIGNED_HEADERS}
    for name, value in (params.get("Metadata") or {}).items():
        headers[f"x-amz-meta-{name.lower()}"] = value
    return headers


def put_object(*, endpoint: Endpoint, bucket: str, key: str, body: bytes, attributes: dict | None = None) -> dict:
    """PutObject of a body in hand, with S3's parameters (see :func:`write_options`): {etag, version_id}."""
    answer = call(endpoint, "put_object", Bucket=bucket, Key=key, Body=body, **(attributes or {}))
    return {"etag": answer.get("ETag", ""), "version_id": answer.get("VersionId", "")}


def copy_object(
    *,
    endpoint: Endpoint,
    source: dict,
    bucket: str,
    key: str,
    replace: dict | None = None,
    if_match: str = "",
) -> dict:
    """One CopyObject (at most 5 GB): ``source`` {Bucket, Key, VersionId?}; without ``replace`` metadata and
    tags are copied, with it the metadata/headers/storage class/SSE are replaced by S3's parameters in it
    (tags still copied). ``if_match`` conditions the copy on the source's ETag. Returns {etag, version_id}."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "CopySource": source, "TaggingDirective": "COPY"}
    params["MetadataDirective"] = "REPLACE" if replace is not None else "COPY"
    params.update(replace or {})
    if if_match:
        params["CopySourceIfMatch"] = if_match
    answer = call(endpoint, "copy_object", **params)
    result = answer.get("CopyObjectResult") or {}
    return {"etag": (result.get("ETag") or "").strip('"'), "version_id": answer.get("VersionId") or ""}


def restore_object(*, endpoint: Endpoint, bucket: str, key: str, days: int, tier: str = "Standard") -> str:
    """RestoreObject of an archived object (Glacier, Deep Archive) for ``days``: "started", or "in progress"
    when a restore is already running (S3 answers RestoreAlreadyInProgress)."""
    request = {"Days": days, "GlacierJobParameters": {"Tier": tier}}
    try:
        call(endpoint, "restore_object", Bucket=bucket, Key=key, RestoreRequest=request)
    except S3Error as exc:
        if exc.code == "RestoreAlreadyInProgress":
            return "in progress"
        raise
    return "started"


def delete_object(
    *, endpoint: Endpoint, bucket: str, key: str, version_id: str = "", bypass_governance: bool = False
) -> dict:
    """DeleteObject of a key (a delete marker in a versioned bucket) or of one version, permanently.

    ``bypass_governance`` deletes a version under governance-mode retention (the credentials need
    s3:BypassGovernanceRetention). Returns {delete_marker, version_id}.
    """
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    if bypass_governance:
        params["BypassGovernanceRetention"] = True
    answer = call(endpoint, "delete_object", **params)
    return {"delete_marker": bool(answer.get("DeleteMarker")), "version_id": answer.get("VersionId") or version_id}


# Codes DeleteObjects may give single keys when S3 is busy (the call itself answered 200): not a refusal.
BUSY_KEY_CODES = frozenset({"SlowDown", "InternalError", "ServiceUnavailable"})


def delete_objects(*, endpoint: Endpoint, bucket: str, entries: list[dict]) -> list[dict]:
    """DeleteObjects for up to 1,000 {key, version_id?} (no version_id: the plain key), Quiet.

    Returns what S3 refused, as [{key, version_id, code, message}]; [] when everything went. In a
    background job, keys S3 was too busy for (BUSY_KEY_CODES) are sent again after the pauses a throttled
    call waits (``client.JOB_SLOWDOWN_PAUSES``); a page reports them at once.
    """
    if len(entries) > 1000:
        raise ValueError("DeleteObjects takes at most 1,000 keys.")
    refused = _delete_batch(endpoint, bucket, entries)
    for pause in s3_client.JOB_SLOWDOWN_PAUSES if in_background() else ():
        busy = [r for r in refused if r["code"] in BUSY_KEY_CODES]
        if not busy:
            break
        log.info("S3 DeleteObjects on endpoint %s: %d keys busy (%s), again in %g s",
                 endpoint.name, len(busy), busy[0]["code"], pause)  # fmt: skip
        time.sleep(pause)
        again = [{"key": r["key"], "version_id": r["version_id"]} for r in busy]
        refused = [r for r in refused if r["code"] not in BUSY_KEY_CODES] + _delete_batch(endpoint, bucket, again)
    return refused


def _delete_batch(endpoint: Endpoint, bucket: str, entries: list[dict]) -> list[dict]:
    if not entries:
        return []
    objects = [
        {"Key": e["key"], "VersionId": e["version_id"]} if e.get("version_id") else {"Key": e["key"]} for e in entries
    ]
    answer = call(endpoint, "delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    return [
        {
            "key": err.get("Key", ""),
            "version_id": err.get("VersionId") or "",
            "code": err.get("Code", ""),
            "message": err.get("Message", ""),
        }
        for err in answer.get("Errors", [])
    ]


# --- multipart uploads and part copies -------------------------------------------------------------------
def create_multipart_upload(*, endpoint: Endpoint, bucket: str, key: str, attributes: dict | None = None) -> str:
    """CreateMultipartUpload with S3's parameters (see :func:`write_options`); returns the upload id."""
    return call(endpoint, "create_multipart_upload", Bucket=bucket, Key=key, **(attributes or {}))["UploadId"]


def upload_part(*, endpoint: Endpoint, bucket: str, key: str, upload_id: str, part_number: int, body: bytes) -> str:
    """UploadPart with the bytes in hand (the fallback through the console); returns the part's ETag."""
    answer = call(
        endpoint, "upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number, Body=body
    )
    return answer["ETag"]


def upload_part_copy(
    *, endpoint: Endpoint, bucket: str, key: str, upload_id: str, part_number: int, source: dict, first: int, last: int,
    if_match: str = "",
) -> str:  # fmt: skip
    """UploadPartCopy of the source's bytes first..last (inclusive); returns the part's ETag."""
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": part_number,
        "CopySource": source,
        "CopySourceRange": f"bytes={first}-{last}",
    }
    if if_match:
        params["CopySourceIfMatch"] = if_match
    return call(endpoint, "upload_part_copy", **params)["CopyPartResult"]["ETag"]


def complete_multipart_upload(
    *, endpoint: Endpoint, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
) -> dict:
    """CompleteMultipartUpload with [(part number, ETag)] in order: {etag, version_id}."""
    answer = call(
        endpoint,
        "complete_multipart_upload",
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
    )
    return {"etag": answer.get("ETag", ""), "version_id": answer.get("VersionId", "")}


def abort_multipart_upload(*, endpoint: Endpoint, bucket: str, key: str, upload_id: str) -> None:
    """AbortMultipartUpload; an upload that is already gone is not an error."""
    try:
        call(endpoint, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
    except S3Error as exc:
        if exc.code != "NoSuchUpload":
            raise


# --- presigned links (signed locally: no S3 call) ---------------------------------------------------------
def presign_upload_part(
    *, endpoint: Endpoint, bucket: str, key: str, upload_id: str, part_number: int, expires: int = UPLOAD_URL_SECONDS
) -> str:
    """A URL the browser PUTs one part to."""
    params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number}
    return presign(endpoint, "upload_part", params, expires)


def presign_put_object(
    *, endpoint: Endpoint, bucket: str, key: str, attributes: dict | None = None, expires: int = UPLOAD_URL_SECONDS
) -> dict:
    """A presigned PutObject: {url, headers}; the headers are signed into the URL and must be sent unchanged."""
    params = dict(attributes or {})
    url = presign(endpoint, "put_object", {"Bucket": bucket, "Key": key, **params}, expires)
    return {"url": url, "headers": _signed_headers(params)}


def presigned_get_url(
    *, endpoint: Endpoint, bucket: str, key: str, expires_in: int, version_id: str = "", content_disposition: str = ""
) -> str:
    """A presigned GET URL (SigV4, at most 7 days), optionally making S3 answer with a Content-Disposition."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    if content_disposition:
        params["ResponseContentDisposition"] = content_disposition
    return presign(endpoint, "get_object", params, expires_in)


def open_object(*, endpoint: Endpoint, bucket: str, key: str):
    """A GetObject body to read as a stream (``.read(n)``; close it); None when the key does not exist."""
    answer = call_unless_absent(endpoint, "get_object", ABSENT_OBJECT_CODES, Bucket=bucket, Key=key)
    return None if answer is None else answer["Body"]
