"""Uploads from the browser: the signed grant that ties an upload to its user, the flow, CORS.

The browser sends the bytes straight to S3 with presigned URLs (the "direct" method). When the
bucket has no CORS rule for the console's origin, it sends them to the console one part at a
time instead (the "fallback"), and the console passes each part on with UploadPart: it never
holds more than the part in hand. Either way the console starts, completes and aborts the upload
(each an audited change), and each of those requests carries a signed :class:`Grant` naming the
user, endpoint, bucket, key and upload id, so nobody can continue, complete or abort an upload
they did not start.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.core import signing

from buckets import s3, vocabulary
from buckets.forms.upload import UploadStartForm
from buckets.services import prefixes, reads
from buckets.services.sections import Target, section_change
from catalog.services import follow  # the bucket index follows the changes below (catalog app)
from console import audit
from console.models import Endpoint

MiB = vocabulary.MiB
MIN_PART_SIZE = 8 * MiB  # above S3's 5 MiB: fewer requests for typical files
# The fallback holds one part in memory per request: refuse files that would need bigger parts.
FALLBACK_MAX_PART_SIZE = 64 * MiB
URL_BATCH_MAX = 100
GRANT_MAX_AGE = 7 * 24 * 3600
GRANT_SALT = "buckets.upload.grant"


TOO_LARGE_FOR_FALLBACK = (
    "This file is too large to upload through the console. An admin can allow direct uploads "
    "from the browser to S3 for this bucket."
)
TOO_LARGE_LOCKED = (
    "This file is too large to upload through the console, and the bucket's object lock (a default "
    "retention) needs every upload to go through the console. Upload it with the AWS CLI or an SDK."
)


class UploadRefused(Exception):
    """A request of the upload flow that cannot go on; the message is for the page."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def part_size_for(size: int) -> int:
    """At least 8 MiB, and big enough (in whole MiB) that the file needs at most 10,000 parts."""
    per_part = -(-size // vocabulary.MAX_PARTS)
    return max(MIN_PART_SIZE, -(-per_part // MiB) * MiB)


@dataclasses.dataclass(frozen=True)
class Grant:
    """One upload started by one user; signed into a token the browser sends back with every request."""

    user_id: int
    endpoint_id: int
    bucket: str
    key: str
    upload_id: str  # empty for a file small enough for one PUT
    size: int
    part_size: int
    options: dict

    @property
    def multipart(self) -> bool:
        return bool(self.upload_id)

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_size)) if self.multipart else 1

    def part_length(self, number: int) -> int:
        """How many bytes part `number` (1-based) has."""
        if not 1 <= number <= self.part_count:
            raise UploadRefused(f"Part {number} is outside 1..{self.part_count}.")
        if not self.multipart:
            return self.size
        return min(self.part_size, self.size - (number - 1) * self.part_size)

    def dumps(self) -> str:
        return signing.dumps(dataclasses.asdict(self), salt=GRANT_SALT, compress=True)

    @classmethod
    def loads(cls, token: str) -> Grant:
        try:
            data = signing.loads(token or "", salt=GRANT_SALT, max_age=GRANT_MAX_AGE)
            return cls(**data)
        except signing.SignatureExpired:
            raise UploadRefused("This upload has expired; start it again.", 400)
        except (signing.BadSignature, TypeError, ValueError):
            raise UploadRefused("The upload token is not valid.", 400)

    def audit_params(self) -> dict:
        options = self.options
        return {
            "size": self.size,
            "parts": self.part_count if self.multipart else 0,
            "upload_id": self.upload_id,
            "content_type": options.get("content_type", ""),
            "storage_class": options.get("storage_class") or "",
            "sse": options.get("sse", ""),
            "metadata": options.get("metadata") or {},
            "tagging": options.get("tagging", ""),
        }


# --- the flow -----------------------------------------------------------------
def upload_start(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, form: UploadStartForm) -> dict:
    """Begin one file: a multipart upload, or (smaller than a part) a presigned PUT; audited as
    ``object.upload.start`` (with the upload id), like a share link. Returns the browser's plan."""
    data = form.cleaned_data
    size, key, options = data["size"], data["key"], form.write_options()
    part_size = part_size_for(size)
    # Object lock with a default retention: AWS takes each PUT and each part only with an integrity header,
    # which a presigned request from the browser cannot carry. The bytes go through the console (botocore
    # adds a checksum), whatever the bucket's CORS rules allow.
    locked = reads.default_retention(endpoint=endpoint, bucket=bucket)
    fallback = data["method"] == "fallback" or locked
    if fallback and part_size > FALLBACK_MAX_PART_SIZE:
        raise UploadRefused(TOO_LARGE_LOCKED if locked else TOO_LARGE_FOR_FALLBACK, 413)
    single = size < part_size
    attributes = s3.write_options(**options)
    params = {"size": size, "method": "fallback" if fallback else data["method"], "multipart": not single}
    with audit.change(actor, "object.upload.start", endpoint=endpoint, bucket=bucket, key=key, params=params) as ev:
        upload_id = (
            ""
            if single
            else s3.create_multipart_upload(endpoint=endpoint, bucket=bucket, key=key, attributes=attributes)
        )
        ev.params["upload_id"] = upload_id
        grant = Grant(actor.user_id, endpoint.pk, bucket, key, upload_id, size, size if single else part_size, options)
        plan = {
            "token": grant.dumps(),
            "key": key,
            "multipart": grant.multipart,
            "part_size": grant.part_size,
            "part_count": grant.part_count,
            "through_console": fallback,  # the browser sends no byte straight to S3
        }
        if single and not fallback:
            plan["put"] = s3.presign_put_object(endpoint=endpoint, bucket=bucket, key=key, attributes=attributes)
            ev.params["presigned_put_seconds"] = s3.UPLOAD_URL_SECONDS
    return plan


def upload_part_urls(*, endpoint: Endpoint, grant: Grant, numbers: list[int]) -> dict[str, str]:
    """Presigned UploadPart URLs for the asked part numbers (signed locally; the bucket's object-lock
    fact comes from upload_start's read, kept a minute). None under a default retention: see upload_start."""
    if not grant.multipart:
        raise UploadRefused("This upload is a single PUT; it has no parts.")
    if reads.default_retention(endpoint=endpoint, bucket=grant.bucket):
        raise UploadRefused("The bucket's object lock needs the parts to go through the console (send them there).")
    if not numbers or len(numbers) > URL_BATCH_MAX:
        raise UploadRefused(f"Ask for 1 to {URL_BATCH_MAX} part URLs at a time.")
    for number in numbers:
        grant.part_length(number)
    return {
        str(n): s3.presign_upload_part(
            endpoint=endpoint, bucket=grant.bucket, key=grant.key, upload_id=grant.upload_id, part_number=n
        )
        for n in numbers
    }


def upload_part_send(*, endpoint: Endpoint, grant: Grant, number: int, body: bytes) -> str:
    """The fallback: pass one part on to S3; returns its ETag."""
    if not grant.multipart:
        raise UploadRefused("This upload is a single PUT; send the whole file instead.")
    return s3.upload_part(
        endpoint=endpoint, bucket=grant.bucket, key=grant.key, upload_id=grant.upload_id, part_number=number, body=body
    )


def upload_put(*, actor: audit.Actor, endpoint: Endpoint, grant: Grant, body: bytes) -> dict:
    """The fallback for a file smaller than one part: PutObject with the body, audited as the upload."""
    if grant.multipart:
        raise UploadRefused("This upload is multipart; send it part by part.")
    params = {**grant.audit_params(), "method": "fallback"}
    with audit.change(
        actor, "object.upload", endpoint=endpoint, bucket=grant.bucket, key=grant.key, params=params
    ) as ev:
        s3.put_object(
            endpoint=endpoint,
            bucket=grant.bucket,
            key=grant.key,
            body=body,
            attributes=s3.write_options(**grant.options),
        )
        ev.after = _arrived(endpoint, grant)
        _follow_upload(endpoint, grant, ev.after)
    return ev.after


def upload_complete(*, actor: audit.Actor, endpoint: Endpoint, grant: Grant, parts: Any, method: str) -> dict:
    """CompleteMultipartUpload with the browser's ETags (or check a single PUT arrived); audited."""
    ordered = _check_parts(grant, parts) if grant.multipart else []
    params = {**grant.audit_params(), "method": method}
    with audit.change(
        actor, "object.upload", endpoint=endpoint, bucket=grant.bucket, key=grant.key, params=params
    ) as ev:
        if grant.multipart:
            s3.complete_multipart_upload(
                endpoint=endpoint, bucket=grant.bucket, key=grant.key, upload_id=grant.upload_id, parts=ordered
            )
        ev.after = _arrived(endpoint, grant)
        _follow_upload(endpoint, grant, ev.after)
    return ev.after


def _follow_upload(endpoint: Endpoint, grant: Grant, arrived: dict) -> None:
    """The bucket index (catalog) learns of the upload: no crawl needed to find it."""
    follow.object_stored(
        endpoint=endpoint, bucket=grant.bucket, key=grant.key, size=arrived["size"], etag=arrived["etag"],
        storage_class=arrived["storage_class"],
    )  # fmt: skip


def _check_parts(grant: Grant, parts: Any) -> list[tuple[int, str]]:
    """[{part, etag}] covering 1..part_count exactly once, as (number, etag) in order."""
    try:
        pairs = sorted((int(p["part"]), str(p["etag"])) for p in parts)
    except (TypeError, KeyError, ValueError):
        raise UploadRefused("The parts must be a list of {part, etag}.")
    if [n for n, _ in pairs] != list(range(1, grant.part_count + 1)):
        raise UploadRefused(f"Every part from 1 to {grant.part_count} must be sent exactly once before completing.")
    if any(not etag or len(etag) > 128 for _, etag in pairs):
        raise UploadRefused("A part has no ETag: the bucket's CORS rule must expose the ETag header.")
    return pairs


def upload_abort(*, actor: audit.Actor, endpoint: Endpoint, grant: Grant) -> None:
    """Cancel: AbortMultipartUpload (a single PUT has nothing to abort), audited as object.upload.abort."""
    params = {"upload_id": grant.upload_id, "size": grant.size}
    with audit.change(
        actor, "object.upload.abort", endpoint=endpoint, bucket=grant.bucket, key=grant.key, params=params
    ):
        if grant.multipart:
            s3.abort_multipart_upload(endpoint=endpoint, bucket=grant.bucket, key=grant.key, upload_id=grant.upload_id)


# --- CORS: may the browser talk to the bucket from the console's origin? -------
UPLOAD_HEADERS = (
    "content-type",
    "x-amz-meta-name",
    "x-amz-tagging",
    "x-amz-storage-class",
    "x-amz-server-side-encryption",
)


@dataclasses.dataclass(frozen=True)
class CorsState:
    status: str  # "ok", "missing" or "unknown"
    origin: str
    message: str = ""

    @property
    def direct(self) -> bool:
        return self.status == "ok"


def console_origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def upload_rule(origin: str) -> dict:
    return {
        "AllowedOrigins": [origin],
        "AllowedMethods": ["PUT", "GET", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }


def _wildcard(pattern: str, value: str) -> bool:
    """S3's CORS patterns: one '*' may stand for any text; otherwise an exact, case-insensitive match."""
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("*"))
    return re.fullmatch(regex, value.lower()) is not None


def rule_allows_uploads(rule: dict, origin: str) -> bool:
    """The rule lets the origin PUT with our headers and lets the page read the ETag."""
    return (
        any(_wildcard(o, origin) for o in rule.get("AllowedOrigins", []))
        and "PUT" in {m.upper() for m in rule.get("AllowedMethods", [])}
        and "etag" in {h.lower() for h in rule.get("ExposeHeaders", [])}
        and all(any(_wildcard(p, h) for p in rule.get("AllowedHeaders", [])) for h in UPLOAD_HEADERS)
    )


def cors_state(*, endpoint: Endpoint, bucket: str, origin: str) -> CorsState:
    """Whether the browser may send to the bucket from the console's origin; asked of S3 once a minute
    per bucket (the upload panel loads with every folder)."""

    def ask() -> CorsState:
        try:
            rules = s3.get_bucket_cors(endpoint=endpoint, bucket=bucket)
        except s3.S3Error as exc:
            text = "this endpoint does not support CORS settings" if exc.not_supported else exc.user_message
            return CorsState("unknown", origin, text)
        return CorsState("ok" if any(rule_allows_uploads(r, origin) for r in rules) else "missing", origin)

    return reads.remembered(f"cors:{origin}", endpoint, bucket, ask)


def upload_cors_allow(*, actor: audit.Actor, endpoint: Endpoint, bucket: str, origin: str) -> list[dict]:
    """Add the upload rule for the origin to the bucket's CORS rules (kept), audited as bucket.cors.put.

    A read-modify-write of the CORS configuration like the CORS section's: under its lease, so a
    rule someone saves at the same moment is not lost.
    """

    def add(before: list[dict]) -> None:
        if any(rule_allows_uploads(r, origin) for r in before):
            return
        if len(before) >= vocabulary.MAX_CORS_RULES:
            raise UploadRefused("The bucket already has 100 CORS rules, the most S3 allows.", 409)
        s3.put_bucket_cors(endpoint=endpoint, bucket=bucket, rules=[*before, upload_rule(origin)])

    current = s3.get_bucket_cors(endpoint=endpoint, bucket=bucket)
    if any(rule_allows_uploads(r, origin) for r in current):
        return current  # nothing to change, nothing to audit
    try:
        return section_change(
            actor=actor, target=Target(endpoint, bucket), action="bucket.cors.put", lock="cors",
            read=lambda t: s3.get_bucket_cors(endpoint=t.endpoint, bucket=t.bucket), apply=add,
            params={"origin": origin, "added_rule": upload_rule(origin)}, feature="cors",
        )  # fmt: skip
    finally:
        reads.forget_facts(endpoint=endpoint, bucket=bucket)


def _arrived(endpoint: Endpoint, grant: Grant) -> dict:
    """What S3 holds under the key, as typed, after an upload: {size, etag, storage_class, content_type, version_id}.

    Raises UploadRefused (inside the audited change: the row says "failed") unless an object of the
    uploaded size is listed under exactly that key: a server that stored it under another name, or
    kept fewer bytes, has not done what the upload asked.
    """
    head = s3.head_object(endpoint=endpoint, bucket=grant.bucket, key=grant.key)
    # Not a listing under the key as typed: SeaweedFS answers one for "a//b" from the "a/b" it stored.
    if head is None or not prefixes.key_exists(endpoint=endpoint, bucket=grant.bucket, key=grant.key):
        raise UploadRefused(f"S3 does not list an object named exactly “{grant.key}” after the upload.", 409)
    if head["size"] != grant.size:
        raise UploadRefused(
            f"S3 holds {head['size']:,} bytes under this key, not the {grant.size:,} sent; upload it again.", 409
        )
    return {
        "size": head["size"],
        "etag": head["etag"],
        "storage_class": head["storage_class"],
        "content_type": head["headers"]["ContentType"],
        "version_id": head["version_id"],
    }
