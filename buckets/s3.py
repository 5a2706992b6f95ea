"""The S3 service module: the only place that imports boto3/botocore.

Functions are keyword-only, named by verb, take an ``Endpoint`` and return plain
Python values. Expected absences (no policy, no tags, no such key) come back as
``None``/empty; everything else raises :class:`S3Error`. Views never see botocore.
"""

from __future__ import annotations

import collections
import contextvars
import logging
import threading
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
    """ListMultipartUploads (incomplete uploads), one list of {key, upload_id, initiated} per page."""
    params: dict[str, Any] = {"Bucket": bucket, "MaxUploads": page_size}
    while True:
        page = _call(endpoint, "list_multipart_uploads", **params)
        uploads = [
            {"key": u["Key"], "upload_id": u["UploadId"], "initiated": u.get("Initiated")}
            for u in page.get("Uploads", [])
        ]
        yield uploads
        if not page.get("IsTruncated") or not uploads:
            return
        # SeaweedFS leaves NextKeyMarker empty: the last upload's key is the same position.
        markers = {
            "KeyMarker": page.get("NextKeyMarker") or uploads[-1]["key"],
            "UploadIdMarker": page.get("NextUploadIdMarker") or uploads[-1]["upload_id"],
        }
        if markers == {k: params.get(k) for k in markers}:
            return
        params.update(markers)


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
    try:
        answer = _call(endpoint, "get_bucket_cors", Bucket=bucket)
    except S3Error as exc:
        if _absent(exc, "NoSuchCORSConfiguration"):
            return []
        raise
    return answer.get("CORSRules", [])


def put_bucket_cors_rules(*, endpoint: Endpoint, bucket: str, rules: list[dict]) -> None:
    """PutBucketCors with the whole list of rules (S3 replaces the configuration)."""
    _call(endpoint, "put_bucket_cors", Bucket=bucket, CORSConfiguration={"CORSRules": rules})
