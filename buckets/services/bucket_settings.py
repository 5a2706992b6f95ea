"""What each bucket setting reads and writes: the functions behind the bucket page's sections.

Readers take a ``Target`` and return plain values (``buckets.s3.buckets`` has the shapes); writers take
the target, the form's cleaned data and the value before, and make the S3 calls. They run inside
``services.sections.section_change`` (under the resource's lease, inside the audited change).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from buckets import policy as bucket_policy
from buckets import s3
from buckets.models import Bucket
from buckets.services import reads
from buckets.services.sections import Target
from console import safejson

PROBE_PREFIX = ".s3-console-probe/"


def getter(function, *, unless: str = ""):
    """A reader from an S3 getter that takes ``endpoint`` and ``bucket``. With ``unless`` (a section's
    slug), None without a call when the endpoint is known not to implement that setting."""

    def read(target: Target) -> Any:
        if unless and unless in target.unsupported:
            return None
        return function(endpoint=target.endpoint, bucket=target.bucket)

    return read


PUBLIC_ACCESS_BLOCK = "public-access-block"  # its section's slug
READ_VERSIONING, READ_REGION = getter(s3.get_bucket_versioning), getter(s3.get_bucket_location)
READ_POLICY, READ_ACL = getter(s3.get_bucket_policy), getter(s3.get_bucket_acl)
READ_BLOCK = getter(s3.get_public_access_block, unless=PUBLIC_ACCESS_BLOCK)  # SeaweedFS: not implemented
# What read_overview asks S3 in turn: its Section starts them all at once (``ahead``).
OVERVIEW_READS = (READ_VERSIONING, READ_REGION, READ_POLICY, READ_ACL, READ_BLOCK)


def read_overview(target: Target) -> dict:
    """Versioning, region and the public indicator; a part that cannot be read is named, not fatal."""
    unknown: list[str] = []

    def attempt(label: str, read, default: Any = None) -> Any:
        try:
            return read(target)
        except s3.S3Error as exc:
            if not exc.not_supported:
                unknown.append(f"{label}: {exc.user_message}")
            return default

    versioning = READ_VERSIONING(target)  # NoSuchBucket etc. fail the section
    region = attempt("region", READ_REGION, "")
    checked = len(unknown)
    policy_text = attempt("bucket policy", READ_POLICY)
    acl = attempt("ACL", READ_ACL)
    block = attempt("public access block", READ_BLOCK)
    try:
        document = safejson.loads(policy_text, max_bytes=4 * bucket_policy.MAX_POLICY_BYTES) if policy_text else None
    except safejson.JSONRefused:
        document, unknown = None, [*unknown, "bucket policy: not valid JSON"]
    status = bucket_policy.public_status(policy=document, acl=acl, block=block, unknown=unknown[checked:])
    return {"versioning": versioning, "region": region, "public": status, "block": block, "unknown": unknown}


PUBLIC_CHECK_KEPT = timedelta(minutes=1)  # an unchanged indicator checked this recently is not written again


def record_public(target: Target, value: dict) -> None:
    """Keep the public indicator on the bucket record: the dashboard lists public buckets without S3 calls.

    Not on every view of the bucket page: when the record loaded with the page already says so and was
    checked within PUBLIC_CHECK_KEPT, nothing is written (a GET that writes competes with the changes
    on SQLite, and "checked 1 minute ago" stays true).
    """
    level = value["public"].level
    if level == "unknown":
        return
    public, now, known = level == "public", timezone.now(), target.record
    same = known is not None and known.is_public == public
    if same and known.public_checked_at is not None and now - known.public_checked_at < PUBLIC_CHECK_KEPT:
        return
    rows = Bucket.objects.filter(endpoint=target.endpoint, name=target.bucket)
    # The same state checked again changes only its time, which the kept bucket list and dashboard show as
    # "checked … ago": no page is built again for it (every bucket page visit a minute would rebuild them).
    if not (same and rows.filter(is_public=public).update_unseen(public_checked_at=now)):
        rows.update(is_public=public, public_checked_at=now)


# --- writers -------------------------------------------------------------------------------------
def write_versioning(target: Target, data: dict, before: Any) -> None:
    s3.put_bucket_versioning(endpoint=target.endpoint, bucket=target.bucket, status=data["status"])


def write_tags(target: Target, data: dict, before: Any) -> None:
    s3.put_bucket_tags(endpoint=target.endpoint, bucket=target.bucket, tags=dict(data["tags"]))


def write_cors(target: Target, data: dict, before: Any) -> None:
    reads.forget_facts(endpoint=target.endpoint, bucket=target.bucket)  # the upload panel asks again
    if data["rules"]:
        s3.put_bucket_cors(endpoint=target.endpoint, bucket=target.bucket, rules=data["rules"])
    elif before:  # nothing to delete: no call
        s3.delete_bucket_cors(endpoint=target.endpoint, bucket=target.bucket)


def write_policy(target: Target, data: dict, before: Any) -> None:
    s3.put_bucket_policy(endpoint=target.endpoint, bucket=target.bucket, policy=data["policy"])


def write_acl(target: Target, data: dict, before: Any) -> None:
    owner = (before or {}).get("owner", {}).get("id", "")
    s3.put_bucket_acl(
        endpoint=target.endpoint, bucket=target.bucket, canned=data["canned"], grants=data["grants"], owner_id=owner
    )


def write_public_access_block(target: Target, data: dict, before: Any) -> None:
    s3.put_public_access_block(endpoint=target.endpoint, bucket=target.bucket, flags=data)


def write_ownership(target: Target, data: dict, before: Any) -> None:
    s3.put_bucket_ownership(endpoint=target.endpoint, bucket=target.bucket, ownership=data["ownership"])
    reads.forget_facts(endpoint=target.endpoint, bucket=target.bucket)


def write_object_lock(target: Target, data: dict, before: Any) -> None:
    """The default retention; on a bucket without object lock, enabling it first (S3 has allowed that on
    existing versioned buckets since 2023): only when the form's box is ticked, and only on a versioned bucket."""
    if not (before and before["enabled"]):
        if not data.get("enable"):
            raise s3.S3Error("NotEditable", "Tick “Enable object lock on this bucket”: it cannot be turned off again.")
        if s3.get_bucket_versioning(endpoint=target.endpoint, bucket=target.bucket)["status"] != "Enabled":
            raise s3.S3Error(
                "NotEditable", "Object lock needs versioning: turn versioning on first, in the Versioning card."
            )
    s3.put_object_lock(
        endpoint=target.endpoint, bucket=target.bucket, mode=data["mode"], days=data["days"], years=data["years"]
    )
    reads.forget_facts(endpoint=target.endpoint, bucket=target.bucket)


def write_website(target: Target, data: dict, before: Any) -> None:
    # Keep what the form does not show (routing rules); index/error replace a redirect-all setup.
    config = {k: v for k, v in (before or {}).items() if k == "RoutingRules"}
    config["IndexDocument"] = {"Suffix": data["index_document"]}
    if data["error_document"]:
        config["ErrorDocument"] = {"Key": data["error_document"]}
    s3.put_bucket_website(endpoint=target.endpoint, bucket=target.bucket, config=config)


def write_encryption(target: Target, data: dict, before: Any) -> None:
    """Set (or remove) default encryption, then prove uploads still work with a small test write.

    A server without KMS accepts SSE-KMS as the default and then refuses every upload: if the test
    write fails, the previous setting is put back and the change fails with the reason.
    """
    endpoint, bucket = target.endpoint, target.bucket
    if data["algorithm"] == "none":
        if before is not None:
            s3.delete_bucket_encryption(endpoint=endpoint, bucket=bucket)
        return
    s3.put_bucket_encryption(
        endpoint=endpoint, bucket=bucket, algorithm=data["algorithm"], kms_key_id=data["kms_key_id"],
        bucket_key=data["bucket_key"],
    )  # fmt: skip
    if _retains_by_default(target):
        return  # a test object would stay under the bucket's default retention: no probe there
    try:
        _probe_write(target)
    except s3.S3Error as exc:
        _restore_encryption(target, before)
        raise s3.S3Error(
            exc.code,
            f"Uploads fail with this default encryption ({exc.user_message}), so the previous setting was put back.",
            exc.request_id,
            exc.status,
        ) from None


def _retains_by_default(target: Target) -> bool:
    """Object lock with a default retention: every new object is kept. Without one (or without object
    lock) the test object's version can be deleted, so the probe is made; read now, not remembered."""
    try:
        config = s3.get_object_lock(endpoint=target.endpoint, bucket=target.bucket)
    except s3.S3Error as exc:
        if exc.not_supported:
            return False
        raise
    return bool(config and config["enabled"] and config["mode"])


def _probe_write(target: Target) -> None:
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    written = s3.put_object(endpoint=target.endpoint, bucket=target.bucket, key=key, body=b"probe")
    # The version itself in a versioned bucket (a plain delete would leave it behind a delete marker).
    s3.delete_object(endpoint=target.endpoint, bucket=target.bucket, key=key, version_id=written["version_id"])


def _restore_encryption(target: Target, before: dict | None) -> None:
    if before is None:
        s3.delete_bucket_encryption(endpoint=target.endpoint, bucket=target.bucket)
        return
    s3.put_bucket_encryption(
        endpoint=target.endpoint, bucket=target.bucket, algorithm=before["algorithm"],
        kms_key_id=before["kms_key_id"], bucket_key=before["bucket_key"],
    )  # fmt: skip


# --- removers --------------------------------------------------------------------------------------
def remove_cors(target: Target, before: Any) -> None:
    reads.forget_facts(endpoint=target.endpoint, bucket=target.bucket)
    s3.delete_bucket_cors(endpoint=target.endpoint, bucket=target.bucket)


def remove_lifecycle(target: Target, before: Any) -> None:
    s3.put_bucket_lifecycle(endpoint=target.endpoint, bucket=target.bucket, rules=[])


def remove_policy(target: Target, before: Any) -> None:
    s3.delete_bucket_policy(endpoint=target.endpoint, bucket=target.bucket)


def remove_public_access_block(target: Target, before: Any) -> None:
    s3.delete_public_access_block(endpoint=target.endpoint, bucket=target.bucket)


def remove_website(target: Target, before: Any) -> None:
    s3.delete_bucket_website(endpoint=target.endpoint, bucket=target.bucket)


# --- lifecycle rules, one at a time -------------------------------------------------------------------
class RuleConflict(Exception):
    """The stored rules changed in a way that makes this edit ambiguous."""


def find_rule(rules: list[dict], rule_id: str) -> dict | None:
    return next((r for r in rules if r.get("ID") == rule_id), None)


def lifecycle_rule_put(target: Target, rules: list[dict], original_id: str, rule_for) -> None:
    """Replace (or add) one rule in the configuration read under the lease; the other rules stay as they are."""
    original = find_rule(rules, original_id) if original_id else None
    if original_id and original is None:
        raise RuleConflict("This rule was removed meanwhile; cancel to see the current rules.")
    rule = rule_for(original)
    if rule["ID"] != original_id and find_rule(rules, rule["ID"]):
        raise RuleConflict(f"Another rule is already named “{rule['ID']}”.")
    new_rules = [rule if r is original else r for r in rules] if original else [*rules, rule]
    s3.put_bucket_lifecycle(endpoint=target.endpoint, bucket=target.bucket, rules=new_rules)


def lifecycle_rule_remove(target: Target, rules: list[dict], rule_id: str) -> None:
    if find_rule(rules, rule_id) is None:
        raise RuleConflict("That rule no longer exists.")
    rest = [r for r in rules if r.get("ID") != rule_id]
    s3.put_bucket_lifecycle(endpoint=target.endpoint, bucket=target.bucket, rules=rest)


# --- presenting ---------------------------------------------------------------------------------------
def present_policy(value: str | None) -> dict:
    try:
        document = safejson.loads(value, max_bytes=4 * bucket_policy.MAX_POLICY_BYTES) if value else None
    except safejson.JSONRefused:
        document = None
    return {"pretty": bucket_policy.pretty(value), "public": bool(bucket_policy.public_statements(document))}


def policy_text(value: str | None) -> str:
    return bucket_policy.pretty(value)


def cors_text(value: list[dict]) -> str:
    # Empty when there are no rules (the example is the placeholder): an unchanged Save must not add a rule.
    return json.dumps(value, indent=2) if value else ""
