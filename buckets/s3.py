"""The S3 service module: the only place that imports boto3/botocore.

Functions are keyword-only, named by verb, take an ``Endpoint`` and return plain
Python values. Expected absences (no policy, no tags, no such key) come back as
``None``/empty; everything else raises :class:`S3Error`. Views never see botocore.
"""

from __future__ import annotations

import collections
import contextvars
import datetime
import email.utils
import logging
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from django.conf import settings

from console import metrics as console_metrics

if TYPE_CHECKING:
    from console.models import Endpoint

log = logging.getLogger(__name__)

# Error codes that mean "the server does not implement this setting".
NOT_SUPPORTED_CODES = frozenset(
    {"NotImplemented", "NotSupported", "UnsupportedOperation", "XNotImplemented", "MethodNotAllowed"}
)


@dataclass
class S3Error(Exception):
    code: str
    message: str = ""
    request_id: str = ""
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @property
    def not_supported(self) -> bool:
        return self.code in NOT_SUPPORTED_CODES or self.status == 501

    @property
    def user_message(self) -> str:
        """A sentence for the page: what went wrong, in words, with the S3 code."""
        hint = FRIENDLY.get(self.code)
        text = hint or self.message or "The S3 server refused the request."
        return f"{text} ({self.code})" if self.code not in text else text


FRIENDLY = {
    "AccessDenied": "The endpoint's credentials are not allowed to do this.",
    "InvalidAccessKeyId": "The access key id is not known to the S3 server.",
    "SignatureDoesNotMatch": "The secret access key is wrong: the server rejected the request signature.",
    "EndpointUnreachable": "The S3 endpoint cannot be reached.",
    "NoCredentials": "No credentials were found for this endpoint.",
    "ProfileNotFound": "The named AWS profile does not exist on this server.",
    "SlowDown": "The S3 server asks to slow down (too many requests); try again in a moment.",
    "NoSuchBucket": "The bucket does not exist (any more).",
    "BucketAlreadyExists": "That bucket name is taken by someone else; bucket names are global.",
    "BucketAlreadyOwnedByYou": "You already own a bucket with that name.",
    "BucketNotEmpty": "The bucket is not empty.",
    "InvalidBucketName": "The S3 server rejected the bucket name.",
    "PreconditionFailed": "The object changed since you opened it.",
    "ExpiredToken": "The endpoint's temporary credentials have expired.",
}

# --- call accounting: the last request id for the audit trail, call counts for tests --
_last_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("s3_last_request_id", default="")
CALL_COUNTS: collections.Counter[str] = collections.Counter()


def last_request_id() -> str:
    return _last_request_id.get()


def _on_before_call(model, **kwargs) -> None:
    CALL_COUNTS[model.name] += 1


def _on_after_call(http_response=None, parsed=None, **kwargs) -> None:
    request_id = ""
    if parsed:
        meta = parsed.get("ResponseMetadata") or {}
        request_id = meta.get("RequestId") or (meta.get("HTTPHeaders") or {}).get("x-amz-request-id", "")
    _last_request_id.set(request_id or "")


# --- clients ----------------------------------------------------------------
_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def _config(endpoint: Endpoint) -> Config:
    style = {"auto": "auto", "path": "path", "virtual": "virtual"}[endpoint.addressing_style]
    return Config(
        region_name=endpoint.region or "us-east-1",
        signature_version="s3v4",
        connect_timeout=settings.S3_CONNECT_TIMEOUT,
        read_timeout=settings.S3_READ_TIMEOUT,
        retries={"mode": "adaptive", "max_attempts": settings.S3_MAX_ATTEMPTS},
        max_pool_connections=settings.S3_MAX_POOL_CONNECTIONS,
        s3={"addressing_style": style},
    )


def _session(endpoint: Endpoint) -> boto3.session.Session:
    source = endpoint.credential_source
    if source == "profile":
        return boto3.session.Session(profile_name=endpoint.profile, region_name=endpoint.region or None)
    if source == "keys":
        return boto3.session.Session(
            aws_access_key_id=endpoint.access_key_id,
            aws_secret_access_key=endpoint.get_secret_access_key(),
            region_name=endpoint.region or None,
        )
    return boto3.session.Session(region_name=endpoint.region or None)


def client_for(endpoint: Endpoint):
    """A cached client for the endpoint; a changed endpoint (updated_at) gets a new one."""
    cache_key = (endpoint.pk, endpoint.updated_at)
    client = _clients.get(cache_key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            try:
                client = _session(endpoint).client(
                    "s3", endpoint_url=endpoint.url or None, config=_config(endpoint), verify=endpoint.verify_tls
                )
            except ProfileNotFound:
                raise S3Error("ProfileNotFound", f"The profile '{endpoint.profile}' was not found.") from None
            except BotoCoreError as exc:
                raise S3Error(type(exc).__name__, str(exc)) from None
            client.meta.events.register("before-call.s3", _on_before_call)
            client.meta.events.register("after-call.s3", _on_after_call)
            console_metrics.instrument_s3_client(client, endpoint.name)
            for stale in [k for k in _clients if k[0] == endpoint.pk]:
                del _clients[stale]
            _clients[cache_key] = client
    return client


def forget_client(endpoint: Endpoint) -> None:
    with _clients_lock:
        for stale in [k for k in _clients if k[0] == endpoint.pk]:
            del _clients[stale]


def _translate(exc: Exception) -> S3Error:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode")
        code = str(err.get("Code") or status or "Unknown")
        if code == "503" or (status == 503 and code in {"Unknown", "ServiceUnavailable"}):
            code = "SlowDown"
        message = err.get("Message") or ""
        request_id = meta.get("RequestId") or (meta.get("HTTPHeaders") or {}).get("x-amz-request-id", "")
        return S3Error(code, message, request_id or "", status)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return S3Error("EndpointUnreachable", str(exc))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return S3Error("NoCredentials", "No usable credentials were found for this endpoint.")
    if isinstance(exc, ProfileNotFound):
        return S3Error("ProfileNotFound", str(exc))
    if isinstance(exc, ParamValidationError):
        return S3Error("InvalidParameter", str(exc))
    return S3Error(type(exc).__name__, str(exc))


def _call(endpoint: Endpoint, operation: str, /, **params) -> dict:
    """Call one S3 operation; translate every failure into S3Error, logged once."""
    _last_request_id.set("")
    client = client_for(endpoint)
    try:
        return getattr(client, operation)(**params)
    except (BotoCoreError, ClientError) as exc:
        error = _translate(exc)
        _last_request_id.set(error.request_id)
        log.info(
            "S3 %s on endpoint %s failed: %s (request id %s)", operation, endpoint.name, error.code, error.request_id
        )
        raise error from None


def _absent(error: S3Error, *codes: str) -> bool:
    return error.code in codes


def _call_unless_absent(endpoint: Endpoint, operation: str, absent: tuple[str, ...], /, **params) -> dict | None:
    """Like _call, but an answer that means "there is none" (a code in ``absent``) gives None."""
    try:
        return _call(endpoint, operation, **params)
    except S3Error as exc:
        if exc.code in absent:
            return None
        raise


# --- endpoint-level ---------------------------------------------------------
def available_profiles() -> list[str]:
    """Profile names found in ~/.aws/credentials and ~/.aws/config."""
    try:
        return sorted(botocore.session.Session().available_profiles)
    except BotoCoreError:
        return []


def list_buckets(*, endpoint: Endpoint) -> list[dict]:
    """Every bucket the endpoint's credentials own: [{name, created, region}], following pages."""
    buckets: list[dict] = []
    params: dict[str, Any] = {}
    while True:
        page = _call(endpoint, "list_buckets", **params)
        for item in page.get("Buckets", []):
            buckets.append(
                {"name": item["Name"], "created": item.get("CreationDate"), "region": item.get("BucketRegion", "")}
            )
        token = page.get("ContinuationToken")
        if not token:
            return buckets
        params = {"ContinuationToken": token}


def check_connection(*, endpoint: Endpoint) -> dict:
    """ListBuckets once; returns {ok, buckets (names), count} or raises S3Error."""
    buckets = list_buckets(endpoint=endpoint)
    return {"count": len(buckets), "names": [b["name"] for b in buckets[:20]]}


# --- emptying ---------------------------------------------------------------
# Page by page (at most 1,000 entries a call), so a bucket is never held in memory whole.
LOCK_ABSENT_CODES = ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration")


def get_versioning_status(*, endpoint: Endpoint, bucket: str) -> str:
    """'Enabled', 'Suspended', or '' for a bucket that never had versioning (or an endpoint without it)."""
    try:
        return _call(endpoint, "get_bucket_versioning", Bucket=bucket).get("Status", "")
    except S3Error as exc:
        if exc.not_supported:
            return ""
        raise


def get_object_lock_enabled(*, endpoint: Endpoint, bucket: str) -> bool:
    try:
        config = _call(endpoint, "get_object_lock_configuration", Bucket=bucket)
    except S3Error as exc:
        if _absent(exc, *LOCK_ABSENT_CODES) or exc.not_supported:
            return False
        raise
    return (config.get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled") == "Enabled"


def iter_object_pages(
    *, endpoint: Endpoint, bucket: str, prefix: str = "", page_size: int = 1000
) -> collections.abc.Iterator[list[dict]]:
    """ListObjectsV2, one list of {key, size} per page."""
    params: dict[str, Any] = {"Bucket": bucket, "MaxKeys": page_size}
    if prefix:
        params["Prefix"] = prefix
    while True:
        page = _call(endpoint, "list_objects_v2", **params)
        yield [{"key": o["Key"], "size": o.get("Size") or 0} for o in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token or token == params.get("ContinuationToken"):
            return
        params["ContinuationToken"] = token


def iter_version_pages(
    *, endpoint: Endpoint, bucket: str, prefix: str = "", page_size: int = 1000
) -> collections.abc.Iterator[list[dict]]:
    """ListObjectVersions, one list per page of {key, version_id, size, is_latest, delete_marker}."""
    params: dict[str, Any] = {"Bucket": bucket, "MaxKeys": page_size}
    if prefix:
        params["Prefix"] = prefix
    while True:
        page = _call(endpoint, "list_object_versions", **params)
        entries = [
            {
                "key": v["Key"],
                "version_id": v.get("VersionId") or "null",
                "size": v.get("Size") or 0,
                "is_latest": bool(v.get("IsLatest")),
                "delete_marker": False,
            }
            for v in page.get("Versions", [])
        ] + [
            {
                "key": m["Key"],
                "version_id": m.get("VersionId") or "null",
                "size": 0,
                "is_latest": bool(m.get("IsLatest")),
                "delete_marker": True,
            }
            for m in page.get("DeleteMarkers", [])
        ]
        yield entries
        if not page.get("IsTruncated"):
            return
        markers = {
            "KeyMarker": page.get("NextKeyMarker") or "",
            "VersionIdMarker": page.get("NextVersionIdMarker") or "",
        }
        if not markers["KeyMarker"] or markers == {k: params.get(k) for k in markers}:
            return  # a server that pages without moving its markers would loop forever
        params.update(markers)


def iter_upload_pages(
    *, endpoint: Endpoint, bucket: str, page_size: int = 1000
) -> collections.abc.Iterator[list[dict]]:
    """ListMultipartUploads (incomplete uploads), one list of {key, upload_id, initiated, ...} per page."""
    markers: dict[str, str] = {}
    while True:
        page = list_uploads_page(endpoint=endpoint, bucket=bucket, max_uploads=page_size, **markers)
        yield page["uploads"]
        if not page["next"]:
            return
        markers = page["next"]


def delete_object_batch(*, endpoint: Endpoint, bucket: str, entries: list[dict]) -> list[dict]:
    """DeleteObjects for up to 1,000 {key, version_id?} (no version_id: the plain key).

    Returns the entries S3 refused, as [{key, version_id, code, message}]; an empty list when all went.
    """
    if len(entries) > 1000:
        raise ValueError("DeleteObjects takes at most 1,000 keys.")
    if not entries:
        return []
    objects = [
        {"Key": e["key"], "VersionId": e["version_id"]} if e.get("version_id") else {"Key": e["key"]} for e in entries
    ]
    answer = _call(endpoint, "delete_objects", Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    return [
        {
            "key": err.get("Key", ""),
            "version_id": err.get("VersionId") or "",
            "code": err.get("Code", ""),
            "message": err.get("Message", ""),
        }
        for err in answer.get("Errors", [])
    ]


def abort_incomplete_upload(*, endpoint: Endpoint, bucket: str, key: str, upload_id: str) -> None:
    try:
        _call(endpoint, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
    except S3Error as exc:
        if not _absent(exc, "NoSuchUpload"):
            raise


def delete_bucket(*, endpoint: Endpoint, bucket: str) -> None:
    """DeleteBucket: the bucket must be empty (BucketNotEmpty otherwise)."""
    _call(endpoint, "delete_bucket", Bucket=bucket)


# --- uploads ------------------------------------------------------------------
# The browser sends the bytes straight to S3 with presigned URLs; these functions start,
# presign, complete and (for the fallback through the console) carry one part at a time.
UPLOAD_URL_SECONDS = 3600


def _write_options(
    *,
    content_type: str = "",
    storage_class: str = "",
    sse: str = "",
    kms_key_id: str = "",
    metadata: dict[str, str] | None = None,
    tagging: str = "",
) -> dict[str, Any]:
    """The PutObject/CreateMultipartUpload parameters for the chosen upload options."""
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


def _write_headers(options: dict[str, Any]) -> dict[str, str]:
    """The request headers a presigned PUT signs for these parameters (the browser must send them as is)."""
    names = {
        "ContentType": "Content-Type",
        "StorageClass": "x-amz-storage-class",
        "ServerSideEncryption": "x-amz-server-side-encryption",
        "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
        "Tagging": "x-amz-tagging",
    }
    headers = {names[k]: v for k, v in options.items() if k in names}
    for name, value in (options.get("Metadata") or {}).items():
        headers[f"x-amz-meta-{name.lower()}"] = value
    return headers


def create_multipart_upload(*, endpoint: Endpoint, bucket: str, key: str, **options: Any) -> str:
    """CreateMultipartUpload with the options of :func:`_write_options`; returns the upload id."""
    answer = _call(endpoint, "create_multipart_upload", Bucket=bucket, Key=key, **_write_options(**options))
    return answer["UploadId"]


def _presign(endpoint: Endpoint, operation: str, params: dict, expires: int) -> str:
    try:
        return client_for(endpoint).generate_presigned_url(operation, Params=params, ExpiresIn=expires)
    except (BotoCoreError, ClientError) as exc:
        raise _translate(exc) from None


def presign_upload_part(
    *, endpoint: Endpoint, bucket: str, key: str, upload_id: str, part_number: int, expires: int = UPLOAD_URL_SECONDS
) -> str:
    """A URL the browser PUTs one part to (no S3 call: signed locally)."""
    params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number}
    return _presign(endpoint, "upload_part", params, expires)


def presign_put_object(
    *, endpoint: Endpoint, bucket: str, key: str, expires: int = UPLOAD_URL_SECONDS, **options: Any
) -> dict:
    """A presigned PutObject: {url, headers}; the headers are signed into the URL and must be sent unchanged."""
    params = _write_options(**options)
    url = _presign(endpoint, "put_object", {"Bucket": bucket, "Key": key, **params}, expires)
    return {"url": url, "headers": _write_headers(params)}


def upload_part(*, endpoint: Endpoint, bucket: str, key: str, upload_id: str, part_number: int, body: bytes) -> str:
    """UploadPart with the bytes in hand (the fallback through the console); returns the part's ETag."""
    answer = _call(
        endpoint, "upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number, Body=body
    )
    return answer["ETag"]


def put_object_bytes(*, endpoint: Endpoint, bucket: str, key: str, body: bytes, **options: Any) -> dict:
    """PutObject of a small body (the fallback for files smaller than one part): {etag, version_id}."""
    answer = _call(endpoint, "put_object", Bucket=bucket, Key=key, Body=body, **_write_options(**options))
    return {"etag": answer.get("ETag", ""), "version_id": answer.get("VersionId", "")}


def complete_multipart_upload(
    *, endpoint: Endpoint, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
) -> dict:
    """CompleteMultipartUpload with [(part number, ETag)] in order: {etag, version_id}."""
    answer = _call(
        endpoint,
        "complete_multipart_upload",
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
    )
    return {"etag": answer.get("ETag", ""), "version_id": answer.get("VersionId", "")}


def uploaded_object_info(*, endpoint: Endpoint, bucket: str, key: str) -> dict | None:
    """HeadObject after an upload: {size, etag, storage_class, content_type, version_id}, None if absent."""
    try:
        head = _call(endpoint, "head_object", Bucket=bucket, Key=key)
    except S3Error as exc:
        if _absent(exc, "NoSuchKey", "404", "NotFound"):
            return None
        raise
    return {
        "size": head.get("ContentLength", 0),
        "etag": head.get("ETag", ""),
        "storage_class": head.get("StorageClass") or "STANDARD",
        "content_type": head.get("ContentType", ""),
        "version_id": head.get("VersionId", ""),
    }


def get_bucket_cors_rules(*, endpoint: Endpoint, bucket: str) -> list[dict]:
    """GetBucketCors: the CORSRules list as S3 has it; [] when the bucket has no CORS configuration."""
    answer = _call_unless_absent(endpoint, "get_bucket_cors", ("NoSuchCORSConfiguration",), Bucket=bucket)
    if answer is None:
        return []
    return answer.get("CORSRules", [])


def put_bucket_cors_rules(*, endpoint: Endpoint, bucket: str, rules: list[dict]) -> None:
    """PutBucketCors with the whole list of rules (S3 replaces the configuration)."""
    _call(endpoint, "put_bucket_cors", Bucket=bucket, CORSConfiguration={"CORSRules": rules})


# --- copy / move / delete ---------------------------------------------------------
# Server-side copies between keys of one endpoint. CopyObject up to MULTIPART_COPY_THRESHOLD
# (objects section; CopyObject's limit is 5 GB), UploadPartCopy above it (``_multipart_copy``).


def list_objects_after(
    *, endpoint: Endpoint, bucket: str, prefix: str = "", start_after: str = "", max_keys: int = 1000
) -> dict:
    """One ListObjectsV2 page of keys after ``start_after``: {objects: [{key, size}], truncated}.

    StartAfter (not a continuation token) so a listing stays right while its keys are deleted.
    """
    params: dict[str, Any] = {"Bucket": bucket, "MaxKeys": max_keys}
    if prefix:
        params["Prefix"] = prefix
    if start_after:
        params["StartAfter"] = start_after
    page = _call(endpoint, "list_objects_v2", **params)
    objects = [{"key": o["Key"], "size": o.get("Size") or 0} for o in page.get("Contents", [])]
    return {"objects": objects, "truncated": bool(page.get("IsTruncated")) and bool(objects)}


def object_exists(*, endpoint: Endpoint, bucket: str, key: str) -> bool:
    """HeadObject: True when the key exists (its latest version is not a delete marker)."""
    return head_object(endpoint=endpoint, bucket=bucket, key=key) is not None


def _attributes_of(endpoint: Endpoint, bucket: str, head: dict) -> dict[str, Any]:
    """What a new object needs to look like the source: metadata, content headers, storage class, SSE, tags."""
    attributes: dict[str, Any] = {"Metadata": head["metadata"]}
    attributes.update({name: value for name, value in head["headers"].items() if value})
    if head["storage_class"] != "STANDARD":
        attributes["StorageClass"] = head["storage_class"]
    if head["encryption"]:
        attributes["ServerSideEncryption"] = head["encryption"]
        if head["kms_key_id"]:
            attributes["SSEKMSKeyId"] = head["kms_key_id"]
    try:
        tags = get_object_tags(endpoint=endpoint, bucket=bucket, key=head["key"])
    except S3Error as exc:
        if not exc.not_supported:
            raise
        tags = []
    if tags:
        attributes["Tagging"] = urllib.parse.urlencode([(t["key"], t["value"]) for t in tags])
    return attributes


def copy_object_any_size(
    *, endpoint: Endpoint, source_bucket: str, source_key: str, bucket: str, key: str, size: int | None = None
) -> dict:
    """Copy one object server-side, keeping metadata, content headers and tags: {etag, size, method}.

    Up to MULTIPART_COPY_THRESHOLD one CopyObject (directives COPY); above it a multipart upload of
    UploadPartCopy ranges (each conditioned on the source's ETag), with the metadata, headers and
    tags read from the source and set explicitly. ``size`` (known from a listing) saves the
    HeadObject for small objects.
    """
    source = {"Bucket": source_bucket, "Key": source_key}
    if size is None or size > MULTIPART_COPY_THRESHOLD:
        head = head_object(endpoint=endpoint, bucket=source_bucket, key=source_key)
        if head is None:
            raise S3Error("NoSuchKey", "The source object does not exist (any more).")
        size = head["size"]
        if size > MULTIPART_COPY_THRESHOLD:
            attributes = _attributes_of(endpoint, source_bucket, head)
            _multipart_copy(endpoint, bucket, key, source, head["etag"], size, attributes)
            return {"etag": "", "size": size, "method": "multipart"}
    try:
        answer = _call(
            endpoint,
            "copy_object",
            Bucket=bucket,
            Key=key,
            CopySource=source,
            MetadataDirective="COPY",
            TaggingDirective="COPY",
        )
    except S3Error as exc:
        # SeaweedFS keeps keys ending in "/" as directories and answers NoSuchKey to copying them;
        # such a marker is empty, so writing an empty object with the same attributes is the same copy.
        recreated = None
        if exc.code == "NoSuchKey" and source_key.endswith("/"):
            recreated = _recreate_empty(endpoint, source_bucket, source_key, bucket, key)
        if recreated is None:
            raise
        return recreated
    result = answer.get("CopyObjectResult") or {}
    return {"etag": (result.get("ETag") or "").strip('"'), "size": size, "method": "copy"}


def _recreate_empty(endpoint: Endpoint, source_bucket: str, source_key: str, bucket: str, key: str) -> dict | None:
    head = head_object(endpoint=endpoint, bucket=source_bucket, key=source_key)
    if head is None or head["size"]:
        return None
    attributes = _attributes_of(endpoint, source_bucket, head)
    answer = _call(endpoint, "put_object", Bucket=bucket, Key=key, Body=b"", **attributes)
    return {"etag": (answer.get("ETag") or "").strip('"'), "size": 0, "method": "put"}


def delete_keys(*, endpoint: Endpoint, bucket: str, keys: list[str]) -> list[dict]:
    """DeleteObjects in batches of 1,000 (Quiet): the keys S3 refused, as [{key, code, message}]."""
    errors: list[dict] = []
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        answer = _call(endpoint, "delete_objects", Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors += [
            {"key": e.get("Key", ""), "code": e.get("Code", ""), "message": e.get("Message", "")}
            for e in answer.get("Errors", [])
        ]
    return errors


# --- objects ----------------------------------------------------------------
# Browsing, the object page (properties, metadata, tags, ACL, storage class), presigned
# links, versions and incomplete uploads. Keys are user data: passed through untouched.
OBJECT_PAGE_SIZE = 1000
# CopyObject copies at most 5 GB; above, the copy goes part by part (UploadPartCopy).
MULTIPART_COPY_THRESHOLD = 5 * 1024**3
MULTIPART_COPY_PART_SIZE = 512 * 1024**2
MULTIPART_COPY_WORKERS = 4
MAX_PARTS = 10_000
# Headers S3 keeps with an object, as HeadObject names them and as CopyObject takes them.
CONTENT_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
ABSENT_OBJECT_CODES = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")


def list_objects_page(
    *, endpoint: Endpoint, bucket: str, prefix: str = "", token: str = "", max_keys: int = OBJECT_PAGE_SIZE
) -> dict:
    """One ListObjectsV2 call with Delimiter "/": {prefixes, objects, next_token}. Never more than one page."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": min(max_keys, 1000)}
    if token:
        params["ContinuationToken"] = token
    page = _call(endpoint, "list_objects_v2", **params)
    return {
        "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
        "objects": [
            {
                "key": o["Key"],
                "size": o.get("Size") or 0,
                "last_modified": o.get("LastModified"),
                "storage_class": o.get("StorageClass") or "STANDARD",
                "etag": o.get("ETag", ""),
            }
            for o in page.get("Contents", [])
        ],
        "next_token": (page.get("NextContinuationToken") or "") if page.get("IsTruncated") else "",
    }


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
        answer = _call(endpoint, "head_object", **params)
    except S3Error as exc:
        # HEAD of a delete marker answers 405 Method Not Allowed.
        if _absent(exc, *ABSENT_OBJECT_CODES) or (version_id and exc.status == 405):
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
    answer = _call_unless_absent(endpoint, "get_object", ("InvalidRange",), **params)
    if answer is None:
        return b""
    body = answer["Body"]
    try:
        return body.read(length)
    except (BotoCoreError, OSError) as exc:
        raise _translate(exc) from None
    finally:
        body.close()


def get_object_tags(*, endpoint: Endpoint, bucket: str, key: str, version_id: str = "") -> list[dict]:
    """[{key, value}] in the server's order; [] when the object has none."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    answer = _call_unless_absent(endpoint, "get_object_tagging", ("NoSuchTagSet", "NoSuchTagSetError"), **params)
    if answer is None:
        return []
    return [{"key": t["Key"], "value": t.get("Value", "")} for t in answer.get("TagSet", [])]


def put_object_tags(*, endpoint: Endpoint, bucket: str, key: str, tags: list[dict]) -> None:
    """Replace the tag set; an empty list removes every tag."""
    if not tags:
        _call(endpoint, "delete_object_tagging", Bucket=bucket, Key=key)
        return
    tag_set = [{"Key": t["key"], "Value": t["value"]} for t in tags]
    _call(endpoint, "put_object_tagging", Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})


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


def _get_acl(endpoint: Endpoint, operation: str, /, **params) -> dict:
    """{owner: {id, display_name}, grants: [{type, grantee, display_name, permission}]} of a bucket or object."""
    answer = _call(endpoint, operation, **params)
    owner = answer.get("Owner") or {}
    return {
        "owner": {"id": owner.get("ID", ""), "display_name": owner.get("DisplayName", "")},
        "grants": [_grant_from_s3(g) for g in answer.get("Grants", [])],
    }


def _put_acl(endpoint: Endpoint, operation: str, canned: str, grants: list[dict] | None, owner_id: str, /, **params):
    """A canned ACL, or explicit grants with the current owner (S3 requires the owner in the document)."""
    if canned:
        _call(endpoint, operation, ACL=canned, **params)
        return
    document: dict[str, Any] = {"Grants": [_grant_to_s3(g) for g in grants or []]}
    if owner_id:
        document["Owner"] = {"ID": owner_id}
    _call(endpoint, operation, AccessControlPolicy=document, **params)


def get_object_acl(*, endpoint: Endpoint, bucket: str, key: str) -> dict:
    return _get_acl(endpoint, "get_object_acl", Bucket=bucket, Key=key)


def put_object_acl(
    *, endpoint: Endpoint, bucket: str, key: str, canned: str = "", grants: list[dict] | None = None, owner_id: str = ""
) -> None:
    _put_acl(endpoint, "put_object_acl", canned, grants, owner_id, Bucket=bucket, Key=key)


def _acl_is_default(acl: dict) -> bool:
    """Only the owner's FULL_CONTROL: what a copy gets anyway."""
    owner = acl["owner"]["id"]
    return all(g["type"] == "CanonicalUser" and g["grantee"] == owner for g in acl["grants"])


def copy_object_replacing_metadata(
    *,
    endpoint: Endpoint,
    bucket: str,
    key: str,
    if_match: str,
    size: int,
    metadata: dict[str, str],
    headers: dict[str, Any],
    storage_class: str,
    encryption: str = "",
    kms_key_id: str = "",
    source_version_id: str = "",
) -> dict:
    """Copy an object onto its own key with new metadata/headers/storage class, only if its ETag is still ``if_match``.

    The source is the key's current version, or ``source_version_id`` (restoring an older version).
    Tags, encryption and a non-default ACL are kept. Objects above MULTIPART_COPY_THRESHOLD are copied
    part by part (UploadPartCopy, each part conditioned on the ETag). A changed object raises
    S3Error("PreconditionFailed"). Returns {version_id} of the new version.
    """
    source: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if source_version_id:
        source["VersionId"] = source_version_id
    attributes: dict[str, Any] = {"Metadata": metadata, "StorageClass": storage_class or "STANDARD"}
    for name in CONTENT_HEADERS:
        if headers.get(name):
            attributes[name] = headers[name]
    if encryption:
        attributes["ServerSideEncryption"] = encryption
        if kms_key_id:
            attributes["SSEKMSKeyId"] = kms_key_id
    acl = _readable_acl(endpoint, bucket, key)
    if size > MULTIPART_COPY_THRESHOLD:
        tags = get_object_tags(endpoint=endpoint, bucket=bucket, key=key, version_id=source_version_id)
        if tags:
            attributes["Tagging"] = urllib.parse.urlencode([(t["key"], t["value"]) for t in tags])
        version_id = _multipart_copy(endpoint, bucket, key, source, if_match, size, attributes)
    else:
        answer = _call(
            endpoint,
            "copy_object",
            Bucket=bucket,
            Key=key,
            CopySource=source,
            CopySourceIfMatch=if_match,
            MetadataDirective="REPLACE",
            TaggingDirective="COPY",
            **attributes,
        )
        version_id = answer.get("VersionId") or ""
    if acl is not None and not _acl_is_default(acl):
        put_object_acl(endpoint=endpoint, bucket=bucket, key=key, grants=acl["grants"], owner_id=acl["owner"]["id"])
    return {"version_id": version_id}


def _readable_acl(endpoint: Endpoint, bucket: str, key: str) -> dict | None:
    """The current ACL, to put back after a copy (a copy gets the default ACL); None when not available."""
    try:
        return get_object_acl(endpoint=endpoint, bucket=bucket, key=key)
    except S3Error as exc:
        if exc.not_supported or _absent(exc, "AccessControlListNotSupported", "AccessDenied", *ABSENT_OBJECT_CODES):
            return None
        raise


def _multipart_copy(
    endpoint: Endpoint, bucket: str, key: str, source: dict, if_match: str, size: int, attributes: dict
) -> str:
    part_size = min(max(MULTIPART_COPY_PART_SIZE, -(-size // MAX_PARTS)), 5 * 1024**3)
    ranges = [(n, start, min(start + part_size, size) - 1) for n, start in enumerate(range(0, size, part_size), 1)]
    upload_id = _call(endpoint, "create_multipart_upload", Bucket=bucket, Key=key, **attributes)["UploadId"]

    def copy_part(part: tuple[int, int, int]) -> dict:
        number, first, last = part
        answer = _call(
            endpoint,
            "upload_part_copy",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=source,
            CopySourceRange=f"bytes={first}-{last}",
            CopySourceIfMatch=if_match,
        )
        return {"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]}

    try:
        with ThreadPoolExecutor(MULTIPART_COPY_WORKERS) as pool:
            parts = list(pool.map(copy_part, ranges))
        answer = _call(
            endpoint,
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    except BaseException:
        try:
            _call(endpoint, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        except S3Error:
            log.warning("Could not abort the multipart copy %s of %s/%s", upload_id, bucket, key)
        raise
    return answer.get("VersionId") or ""


def presigned_get_url(
    *, endpoint: Endpoint, bucket: str, key: str, expires_in: int, version_id: str = "", content_disposition: str = ""
) -> str:
    """A presigned GET URL (SigV4, at most 7 days), optionally making S3 answer with a Content-Disposition."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    if content_disposition:
        params["ResponseContentDisposition"] = content_disposition
    try:
        return client_for(endpoint).generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))
    except (BotoCoreError, ClientError) as exc:
        raise _translate(exc) from None


def credentials_lifetime(*, endpoint: Endpoint) -> dict:
    """{temporary, expires_at}: whether the endpoint signs with temporary credentials, and until when.

    A presigned URL dies with the credentials that signed it, whatever its own expiry says.
    """
    try:
        credentials = client_for(endpoint)._request_signer._credentials
    except AttributeError:
        return {"temporary": False, "expires_at": None}
    if credentials is None:
        return {"temporary": False, "expires_at": None}
    expires_at = getattr(credentials, "_expiry_time", None)
    token = credentials.get_frozen_credentials().token if hasattr(credentials, "get_frozen_credentials") else None
    return {"temporary": bool(token or expires_at), "expires_at": expires_at}


def list_key_versions_page(
    *, endpoint: Endpoint, bucket: str, key: str, key_marker: str = "", version_id_marker: str = ""
) -> dict:
    """One ListObjectVersions page for exactly ``key``: {versions, next} (newest first; next = markers or None).

    Keys that merely start with ``key`` sort after it, so the first foreign key ends the listing.
    """
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": key, "Delimiter": "/", "MaxKeys": OBJECT_PAGE_SIZE}
    if key_marker:
        params["KeyMarker"] = key_marker
        if version_id_marker:
            params["VersionIdMarker"] = version_id_marker
    page = _call(endpoint, "list_object_versions", **params)
    entries = [dict(v, DeleteMarker=False) for v in page.get("Versions", [])] + [
        dict(m, DeleteMarker=True) for m in page.get("DeleteMarkers", [])
    ]
    versions = [
        {
            "version_id": e.get("VersionId") or "null",
            "is_latest": bool(e.get("IsLatest")),
            "delete_marker": e["DeleteMarker"],
            "size": e.get("Size") or 0,
            "etag": e.get("ETag", ""),
            "last_modified": e.get("LastModified"),
            "storage_class": e.get("StorageClass") or "",
        }
        for e in entries
        if e["Key"] == key
    ]
    versions.sort(key=lambda v: (not v["is_latest"], -(v["last_modified"].timestamp() if v["last_modified"] else 0)))
    foreign = len(versions) < len(entries) or bool(page.get("CommonPrefixes"))
    following = None
    if page.get("IsTruncated") and not foreign and page.get("NextKeyMarker") == key:
        following = {"key_marker": key, "version_id_marker": page.get("NextVersionIdMarker") or ""}
    return {"versions": versions, "next": following}


def list_versions_page(
    *,
    endpoint: Endpoint,
    bucket: str,
    prefix: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = OBJECT_PAGE_SIZE,
) -> dict:
    """One ListObjectVersions call with Delimiter "/" (a folder with every version and delete marker):
    {prefixes, versions: [{key, version_id, is_latest, is_delete_marker, size, last_modified, storage_class}],
    next: {key_marker, version_id_marker} | None}. Never more than one page.

    S3 answers versions and delete markers in two lists: they are merged in key order, each key's latest
    entry first, the rest in the server's order (SeaweedFS stamps versions to the second, so dates cannot order them).
    """
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": min(max_keys, 1000)}
    if key_marker:
        params["KeyMarker"] = key_marker
        if version_id_marker:
            params["VersionIdMarker"] = version_id_marker
    page = _call(endpoint, "list_object_versions", **params)
    entries = [(v, False) for v in page.get("Versions", [])] + [(m, True) for m in page.get("DeleteMarkers", [])]
    versions = [
        {
            "key": e["Key"],
            "version_id": e.get("VersionId") or "null",
            "is_latest": bool(e.get("IsLatest")),
            "is_delete_marker": marker,
            "size": None if marker else e.get("Size") or 0,
            "last_modified": e.get("LastModified"),
            "storage_class": "" if marker else e.get("StorageClass") or "STANDARD",
        }
        for e, marker in entries
    ]
    versions.sort(key=lambda v: (v["key"], not v["is_latest"]))  # stable: the server's order within a key
    following = {
        "key_marker": page.get("NextKeyMarker") or "",
        "version_id_marker": page.get("NextVersionIdMarker") or "",
    }
    # A server that pages without moving its markers would send the user round in circles.
    moved = following != {"key_marker": key_marker, "version_id_marker": version_id_marker}
    if not (page.get("IsTruncated") and following["key_marker"] and moved):
        following = None
    return {"prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])], "versions": versions, "next": following}


def latest_key_version(*, endpoint: Endpoint, bucket: str, key: str) -> dict | None:
    """The latest entry (version or delete marker) of ``key``, from the first versions page; None if none."""
    page = list_key_versions_page(endpoint=endpoint, bucket=bucket, key=key)
    return next((v for v in page["versions"] if v["is_latest"]), None)


def delete_object_version(*, endpoint: Endpoint, bucket: str, key: str, version_id: str) -> dict:
    """DeleteObject of one version (or delete marker), permanently: {delete_marker, version_id}."""
    answer = _call(endpoint, "delete_object", Bucket=bucket, Key=key, VersionId=version_id)
    return {"delete_marker": bool(answer.get("DeleteMarker")), "version_id": answer.get("VersionId") or version_id}


def list_uploads_page(
    *, endpoint: Endpoint, bucket: str, key_marker: str = "", upload_id_marker: str = "", max_uploads: int = 1000
) -> dict:
    """One ListMultipartUploads page: {uploads: [{key, upload_id, initiated, storage_class, initiator}], next}."""
    params: dict[str, Any] = {"Bucket": bucket, "MaxUploads": max_uploads}
    # AWS pages by key then upload id; SeaweedFS by upload id alone (its NextKeyMarker stays empty).
    if key_marker:
        params["KeyMarker"] = key_marker
    if upload_id_marker:
        params["UploadIdMarker"] = upload_id_marker
    page = _call(endpoint, "list_multipart_uploads", **params)
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
    following = {
        "key_marker": page.get("NextKeyMarker") or "",
        "upload_id_marker": page.get("NextUploadIdMarker") or "",
    }
    stuck = not any(following.values()) or following == {"key_marker": key_marker, "upload_id_marker": upload_id_marker}
    return {"uploads": uploads, "next": following if page.get("IsTruncated") and uploads and not stuck else None}


# --- bucket settings ----------------------------------------------------------
# One getter per setting returning plain values (None/empty when the bucket has none), one setter.
# Shapes: versioning {status, mfa_delete}; encryption {algorithm, kms_key_id, bucket_key};
# tags {key: value}; lifecycle/CORS: S3's rule dicts; policy: the JSON text; ACL like get_object_acl;
# public access block: S3's four flags; ownership: the ObjectOwnership string;
# object lock {enabled, mode, days, years}; website: S3's WebsiteConfiguration dict.
def create_bucket(*, endpoint: Endpoint, bucket: str, region: str = "", object_lock: bool = False) -> None:
    """CreateBucket; us-east-1 (or no region) is the one region that takes no LocationConstraint."""
    params: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if object_lock:
        params["ObjectLockEnabledForBucket"] = True
    if endpoint.url or not region or region == (endpoint.region or "us-east-1"):
        _call(endpoint, "create_bucket", **params)
        return
    # Amazon S3 accepts a LocationConstraint only at that region's own endpoint: a one-off client for it.
    client = _session(endpoint).client(
        "s3", config=_config(endpoint).merge(Config(region_name=region)), verify=endpoint.verify_tls
    )
    client.meta.events.register("before-call.s3", _on_before_call)
    client.meta.events.register("after-call.s3", _on_after_call)
    console_metrics.instrument_s3_client(client, endpoint.name)
    try:
        client.create_bucket(**params)
    except (BotoCoreError, ClientError) as exc:
        raise _translate(exc) from None


def get_bucket_location(*, endpoint: Endpoint, bucket: str) -> str:
    constraint = _call(endpoint, "get_bucket_location", Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def get_bucket_versioning(*, endpoint: Endpoint, bucket: str) -> dict:
    """{status: 'Enabled'|'Suspended'|'' (never enabled), mfa_delete: 'Enabled'|'Disabled'|''}."""
    answer = _call(endpoint, "get_bucket_versioning", Bucket=bucket)
    return {"status": answer.get("Status", ""), "mfa_delete": answer.get("MFADelete", "")}


def put_bucket_versioning(*, endpoint: Endpoint, bucket: str, status: str) -> None:
    _call(endpoint, "put_bucket_versioning", Bucket=bucket, VersioningConfiguration={"Status": status})


def get_bucket_encryption(*, endpoint: Endpoint, bucket: str) -> dict | None:
    answer = _call_unless_absent(
        endpoint, "get_bucket_encryption", ("ServerSideEncryptionConfigurationNotFoundError",), Bucket=bucket
    )
    if answer is None:
        return None
    rules = (answer.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return {
        "algorithm": default.get("SSEAlgorithm", ""),
        "kms_key_id": default.get("KMSMasterKeyID", ""),
        "bucket_key": bool(rules[0].get("BucketKeyEnabled")),
    }


def put_bucket_encryption(
    *, endpoint: Endpoint, bucket: str, algorithm: str, kms_key_id: str = "", bucket_key: bool = False
) -> None:
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    if kms_key_id:
        default["KMSMasterKeyID"] = kms_key_id
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if algorithm.startswith("aws:kms"):
        rule["BucketKeyEnabled"] = bucket_key
    _call(endpoint, "put_bucket_encryption", Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})


def delete_bucket_encryption(*, endpoint: Endpoint, bucket: str) -> None:
    _call(endpoint, "delete_bucket_encryption", Bucket=bucket)


def get_bucket_tags(*, endpoint: Endpoint, bucket: str) -> dict[str, str]:
    answer = _call_unless_absent(endpoint, "get_bucket_tagging", ("NoSuchTagSet", "NoSuchTagSetError"), Bucket=bucket)
    if answer is None:
        return {}
    return {t["Key"]: t.get("Value", "") for t in sorted(answer.get("TagSet", []), key=lambda t: t["Key"])}


def put_bucket_tags(*, endpoint: Endpoint, bucket: str, tags: dict[str, str]) -> None:
    """Replace the bucket's tags; no tags deletes the tag set."""
    if not tags:
        _call(endpoint, "delete_bucket_tagging", Bucket=bucket)
        return
    tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
    _call(endpoint, "put_bucket_tagging", Bucket=bucket, Tagging={"TagSet": tag_set})


def delete_bucket_cors(*, endpoint: Endpoint, bucket: str) -> None:
    _call(endpoint, "delete_bucket_cors", Bucket=bucket)


def get_bucket_lifecycle(*, endpoint: Endpoint, bucket: str) -> list[dict]:
    """The lifecycle rules as S3 has them; [] when there is no configuration."""
    answer = _call_unless_absent(
        endpoint, "get_bucket_lifecycle_configuration", ("NoSuchLifecycleConfiguration",), Bucket=bucket
    )
    if answer is None:
        return []
    return answer.get("Rules", [])


def put_bucket_lifecycle(*, endpoint: Endpoint, bucket: str, rules: list[dict]) -> None:
    """Replace the whole lifecycle configuration; no rules deletes it."""
    if not rules:
        _call(endpoint, "delete_bucket_lifecycle", Bucket=bucket)
        return
    _call(endpoint, "put_bucket_lifecycle_configuration", Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def get_bucket_policy(*, endpoint: Endpoint, bucket: str) -> str | None:
    answer = _call_unless_absent(endpoint, "get_bucket_policy", ("NoSuchBucketPolicy",), Bucket=bucket)
    return answer.get("Policy") if answer else None


def put_bucket_policy(*, endpoint: Endpoint, bucket: str, policy: str) -> None:
    _call(endpoint, "put_bucket_policy", Bucket=bucket, Policy=policy)


def delete_bucket_policy(*, endpoint: Endpoint, bucket: str) -> None:
    _call(endpoint, "delete_bucket_policy", Bucket=bucket)


def get_bucket_acl(*, endpoint: Endpoint, bucket: str) -> dict:
    return _get_acl(endpoint, "get_bucket_acl", Bucket=bucket)


def put_bucket_acl(
    *, endpoint: Endpoint, bucket: str, canned: str = "", grants: list[dict] | None = None, owner_id: str = ""
) -> None:
    _put_acl(endpoint, "put_bucket_acl", canned, grants, owner_id, Bucket=bucket)


PUBLIC_ACCESS_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def get_public_access_block(*, endpoint: Endpoint, bucket: str) -> dict | None:
    answer = _call_unless_absent(
        endpoint, "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket
    )
    if answer is None:
        return None
    config = answer.get("PublicAccessBlockConfiguration") or {}
    return {flag: bool(config.get(flag)) for flag in PUBLIC_ACCESS_BLOCK_FLAGS}


def put_public_access_block(*, endpoint: Endpoint, bucket: str, flags: dict[str, bool]) -> None:
    config = {flag: bool(flags.get(flag)) for flag in PUBLIC_ACCESS_BLOCK_FLAGS}
    _call(endpoint, "put_public_access_block", Bucket=bucket, PublicAccessBlockConfiguration=config)


def delete_public_access_block(*, endpoint: Endpoint, bucket: str) -> None:
    _call(endpoint, "delete_public_access_block", Bucket=bucket)


def get_bucket_ownership(*, endpoint: Endpoint, bucket: str) -> str | None:
    answer = _call_unless_absent(
        endpoint, "get_bucket_ownership_controls", ("OwnershipControlsNotFoundError",), Bucket=bucket
    )
    if answer is None:
        return None
    rules = (answer.get("OwnershipControls") or {}).get("Rules") or [{}]
    return rules[0].get("ObjectOwnership")


def put_bucket_ownership(*, endpoint: Endpoint, bucket: str, ownership: str) -> None:
    _call(
        endpoint,
        "put_bucket_ownership_controls",
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]},
    )


def delete_bucket_ownership(*, endpoint: Endpoint, bucket: str) -> None:
    _call(endpoint, "delete_bucket_ownership_controls", Bucket=bucket)


def get_object_lock_defaults(*, endpoint: Endpoint, bucket: str) -> dict | None:
    """{enabled, mode, days, years}; None when the bucket was created without object lock."""
    answer = _call_unless_absent(endpoint, "get_object_lock_configuration", tuple(LOCK_ABSENT_CODES), Bucket=bucket)
    if answer is None:
        return None
    config = answer.get("ObjectLockConfiguration") or {}
    retention = (config.get("Rule") or {}).get("DefaultRetention") or {}
    return {
        "enabled": config.get("ObjectLockEnabled") == "Enabled",
        "mode": retention.get("Mode", ""),
        "days": retention.get("Days"),
        "years": retention.get("Years"),
    }


def put_object_lock_defaults(
    *, endpoint: Endpoint, bucket: str, mode: str = "", days: int | None = None, years: int | None = None
) -> None:
    """Default retention (mode with days or years), or none (mode empty). Object lock itself stays enabled."""
    config: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if mode:
        retention: dict[str, Any] = {"Mode": mode}
        retention.update({"Days": days} if days else {"Years": years})
        config["Rule"] = {"DefaultRetention": retention}
    _call(endpoint, "put_object_lock_configuration", Bucket=bucket, ObjectLockConfiguration=config)


def get_bucket_website(*, endpoint: Endpoint, bucket: str) -> dict | None:
    answer = _call_unless_absent(endpoint, "get_bucket_website", ("NoSuchWebsiteConfiguration",), Bucket=bucket)
    if answer is None:
        return None
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def put_bucket_website(*, endpoint: Endpoint, bucket: str, config: dict) -> None:
    try:
        _call(endpoint, "put_bucket_website", Bucket=bucket, WebsiteConfiguration=config)
    except S3Error as exc:
        # SeaweedFS routes PUT ?website to CreateBucket and answers 409 BucketAlreadyExists: not supported.
        if exc.status == 409 and exc.code in {"BucketAlreadyExists", "BucketAlreadyOwnedByYou"}:
            raise S3Error("NotImplemented", "This endpoint does not implement website hosting.", exc.request_id, 501)
        raise


def delete_bucket_website(*, endpoint: Endpoint, bucket: str) -> None:
    """Only after get_bucket_website found a configuration: SeaweedFS treats DELETE ?website as DeleteBucket."""
    if get_bucket_website(endpoint=endpoint, bucket=bucket) is None:
        return
    _call(endpoint, "delete_bucket_website", Bucket=bucket)
