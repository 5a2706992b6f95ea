"""Buckets: create and delete, and one getter and one setter per setting, returning plain values.

Shapes: versioning {status, mfa_delete}; encryption {algorithm, kms_key_id, bucket_key}; tags {key: value};
lifecycle and CORS: S3's rule dicts; policy: the JSON text; ACL like ``objects.get_acl``; public access
block: S3's four flags; ownership: the ObjectOwnership string; object lock {enabled, mode, days, years};
website: S3's WebsiteConfiguration dict. A getter answers None (or empty) when the bucket has none.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from buckets.s3.client import S3Error, call, call_unless_absent, new_client
from buckets.s3.objects import get_acl, put_acl

if TYPE_CHECKING:
    from console.models import Endpoint

LOCK_ABSENT_CODES = ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration")
PUBLIC_ACCESS_BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def create_bucket(*, endpoint: Endpoint, bucket: str, region: str = "", object_lock: bool = False) -> None:
    """CreateBucket; us-east-1 (or no region) is the one region that takes no LocationConstraint."""
    params: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if object_lock:
        params["ObjectLockEnabledForBucket"] = True
    client = None
    if not endpoint.url and region and region != (endpoint.region or "us-east-1"):
        # Amazon S3 accepts a LocationConstraint only at that region's own endpoint: a one-off client for it.
        client = new_client(endpoint, region=region)
    call(endpoint, "create_bucket", client=client, **params)
    _wait_until_known(endpoint, bucket, client)


KNOWN_WAIT = (0.05, 0.1, 0.2, 0.4, 0.8, 1.5)  # seconds between looks, about 3 s in all


def _wait_until_known(endpoint: Endpoint, bucket: str, client) -> None:
    """Right after CreateBucket, until the bucket's settings answer: SeaweedFS answers the ownership
    controls of a bucket it just made with NoSuchBucket about once in 400 (and AWS documents bucket
    creation as eventually consistent), so the bucket page's first cards could say it is not there."""
    for pause in (*KNOWN_WAIT, None):
        try:
            call(endpoint, "get_bucket_ownership_controls", client=client, expected=("NoSuchBucket",), Bucket=bucket)
            return
        except S3Error as exc:
            if exc.code != "NoSuchBucket" or pause is None:
                return  # known (no ownership controls here, or not supported), or not yet: the cards will say
        time.sleep(pause)


def head_bucket(*, endpoint: Endpoint, bucket: str) -> dict:
    """HeadBucket: {region} (raises NoSuchBucket/404 when it is not there)."""
    answer = call(endpoint, "head_bucket", Bucket=bucket)
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    return {"region": answer.get("BucketRegion") or headers.get("x-amz-bucket-region", "")}


def delete_bucket(*, endpoint: Endpoint, bucket: str) -> None:
    """DeleteBucket: the bucket must be empty (BucketNotEmpty otherwise)."""
    call(endpoint, "delete_bucket", Bucket=bucket)


def get_bucket_location(*, endpoint: Endpoint, bucket: str) -> str:
    constraint = call(endpoint, "get_bucket_location", Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def get_bucket_versioning(*, endpoint: Endpoint, bucket: str) -> dict:
    """{status: 'Enabled'|'Suspended'|'' (never enabled), mfa_delete: 'Enabled'|'Disabled'|''}."""
    answer = call(endpoint, "get_bucket_versioning", Bucket=bucket)
    return {"status": answer.get("Status", ""), "mfa_delete": answer.get("MFADelete", "")}


def put_bucket_versioning(*, endpoint: Endpoint, bucket: str, status: str) -> None:
    call(endpoint, "put_bucket_versioning", Bucket=bucket, VersioningConfiguration={"Status": status})


def _first_rule(endpoint: Endpoint, bucket: str, operation: str, absent: str, configuration: str) -> dict | None:
    """The first rule of a configuration S3 answers as {configuration: {Rules: [...]}}; None when it has none."""
    answer = call_unless_absent(endpoint, operation, (absent,), Bucket=bucket)
    if answer is None:
        return None
    return ((answer.get(configuration) or {}).get("Rules") or [{}])[0]


def get_bucket_encryption(*, endpoint: Endpoint, bucket: str) -> dict | None:
    rule = _first_rule(
        endpoint,
        bucket,
        "get_bucket_encryption",
        "ServerSideEncryptionConfigurationNotFoundError",
        "ServerSideEncryptionConfiguration",
    )
    if rule is None:
        return None
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    return {
        "algorithm": default.get("SSEAlgorithm", ""),
        "kms_key_id": default.get("KMSMasterKeyID", ""),
        "bucket_key": bool(rule.get("BucketKeyEnabled")),
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
    call(endpoint, "put_bucket_encryption", Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})


def delete_bucket_encryption(*, endpoint: Endpoint, bucket: str) -> None:
    call(endpoint, "delete_bucket_encryption", Bucket=bucket)


def get_bucket_tags(*, endpoint: Endpoint, bucket: str) -> dict[str, str]:
    answer = call_unless_absent(endpoint, "get_bucket_tagging", ("NoSuchTagSet", "NoSuchTagSetError"), Bucket=bucket)
    if answer is None:
        return {}
    return {t["Key"]: t.get("Value", "") for t in sorted(answer.get("TagSet", []), key=lambda t: t["Key"])}


def put_bucket_tags(*, endpoint: Endpoint, bucket: str, tags: dict[str, str]) -> None:
    """Replace the bucket's tags; no tags deletes the tag set."""
    if not tags:
        call(endpoint, "delete_bucket_tagging", Bucket=bucket)
        return
    tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
    call(endpoint, "put_bucket_tagging", Bucket=bucket, Tagging={"TagSet": tag_set})


def get_bucket_cors(*, endpoint: Endpoint, bucket: str) -> list[dict]:
    """The CORSRules list as S3 has it; [] when the bucket has no CORS configuration."""
    answer = call_unless_absent(endpoint, "get_bucket_cors", ("NoSuchCORSConfiguration",), Bucket=bucket)
    return [] if answer is None else answer.get("CORSRules", [])


def put_bucket_cors(*, endpoint: Endpoint, bucket: str, rules: list[dict]) -> None:
    """PutBucketCors with the whole list of rules (S3 replaces the configuration)."""
    call(endpoint, "put_bucket_cors", Bucket=bucket, CORSConfiguration={"CORSRules": rules})


def delete_bucket_cors(*, endpoint: Endpoint, bucket: str) -> None:
    call(endpoint, "delete_bucket_cors", Bucket=bucket)


def get_bucket_lifecycle(*, endpoint: Endpoint, bucket: str) -> list[dict]:
    """The lifecycle rules as S3 has them; [] when there is no configuration."""
    answer = call_unless_absent(
        endpoint, "get_bucket_lifecycle_configuration", ("NoSuchLifecycleConfiguration",), Bucket=bucket
    )
    return [] if answer is None else answer.get("Rules", [])


def put_bucket_lifecycle(*, endpoint: Endpoint, bucket: str, rules: list[dict]) -> None:
    """Replace the whole lifecycle configuration; no rules deletes it."""
    if not rules:
        call(endpoint, "delete_bucket_lifecycle", Bucket=bucket)
        return
    call(endpoint, "put_bucket_lifecycle_configuration", Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def get_bucket_policy(*, endpoint: Endpoint, bucket: str) -> str | None:
    answer = call_unless_absent(endpoint, "get_bucket_policy", ("NoSuchBucketPolicy",), Bucket=bucket)
    return answer.get("Policy") if answer else None


def put_bucket_policy(*, endpoint: Endpoint, bucket: str, policy: str) -> None:
    call(endpoint, "put_bucket_policy", Bucket=bucket, Policy=policy)


def delete_bucket_policy(*, endpoint: Endpoint, bucket: str) -> None:
    call(endpoint, "delete_bucket_policy", Bucket=bucket)


def get_bucket_acl(*, endpoint: Endpoint, bucket: str) -> dict:
    return get_acl(endpoint, "get_bucket_acl", Bucket=bucket)


def put_bucket_acl(
    *, endpoint: Endpoint, bucket: str, canned: str = "", grants: list[dict] | None = None, owner_id: str = ""
) -> None:
    put_acl(endpoint, "put_bucket_acl", canned, grants, owner_id, Bucket=bucket)


def get_public_access_block(*, endpoint: Endpoint, bucket: str) -> dict | None:
    answer = call_unless_absent(
        endpoint, "get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket
    )
    if answer is None:
        return None
    config = answer.get("PublicAccessBlockConfiguration") or {}
    return {flag: bool(config.get(flag)) for flag in PUBLIC_ACCESS_BLOCK_FLAGS}


def put_public_access_block(*, endpoint: Endpoint, bucket: str, flags: dict[str, bool]) -> None:
    config = {flag: bool(flags.get(flag)) for flag in PUBLIC_ACCESS_BLOCK_FLAGS}
    call(endpoint, "put_public_access_block", Bucket=bucket, PublicAccessBlockConfiguration=config)


def delete_public_access_block(*, endpoint: Endpoint, bucket: str) -> None:
    call(endpoint, "delete_public_access_block", Bucket=bucket)


def get_bucket_ownership(*, endpoint: Endpoint, bucket: str) -> str | None:
    rule = _first_rule(
        endpoint, bucket, "get_bucket_ownership_controls", "OwnershipControlsNotFoundError", "OwnershipControls"
    )
    return None if rule is None else rule.get("ObjectOwnership")


def put_bucket_ownership(*, endpoint: Endpoint, bucket: str, ownership: str) -> None:
    controls = {"Rules": [{"ObjectOwnership": ownership}]}
    call(endpoint, "put_bucket_ownership_controls", Bucket=bucket, OwnershipControls=controls)


def delete_bucket_ownership(*, endpoint: Endpoint, bucket: str) -> None:
    call(endpoint, "delete_bucket_ownership_controls", Bucket=bucket)


def get_object_lock(*, endpoint: Endpoint, bucket: str) -> dict | None:
    """{enabled, mode, days, years}; None when the bucket was created without object lock."""
    answer = call_unless_absent(endpoint, "get_object_lock_configuration", LOCK_ABSENT_CODES, Bucket=bucket)
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


def put_object_lock(
    *, endpoint: Endpoint, bucket: str, mode: str = "", days: int | None = None, years: int | None = None
) -> None:
    """Default retention (mode with days or years), or none (mode empty). Object lock itself stays enabled."""
    config: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if mode:
        retention: dict[str, Any] = {"Mode": mode}
        retention.update({"Days": days} if days else {"Years": years})
        config["Rule"] = {"DefaultRetention": retention}
    call(endpoint, "put_object_lock_configuration", Bucket=bucket, ObjectLockConfiguration=config)


def get_bucket_website(*, endpoint: Endpoint, bucket: str) -> dict | None:
    answer = call_unless_absent(endpoint, "get_bucket_website", ("NoSuchWebsiteConfiguration",), Bucket=bucket)
    if answer is None:
        return None
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def put_bucket_website(*, endpoint: Endpoint, bucket: str, config: dict) -> None:
    try:
        call(endpoint, "put_bucket_website", Bucket=bucket, WebsiteConfiguration=config)
    except S3Error as exc:
        # SeaweedFS routes PUT ?website to CreateBucket and answers 409 BucketAlreadyExists: not supported.
        if exc.status == 409 and exc.code in {"BucketAlreadyExists", "BucketAlreadyOwnedByYou"}:
            raise S3Error("NotImplemented", "This endpoint does not implement website hosting.", exc.request_id, 501)
        raise


def delete_bucket_website(*, endpoint: Endpoint, bucket: str) -> None:
    """Only after get_bucket_website found a configuration: SeaweedFS treats DELETE ?website as DeleteBucket."""
    if get_bucket_website(endpoint=endpoint, bucket=bucket) is None:
        return
    call(endpoint, "delete_bucket_website", Bucket=bucket)


def get_bucket_replication(*, endpoint: Endpoint, bucket: str) -> dict | None:
    """S3's ReplicationConfiguration dict (Role, Rules); None when the bucket has none."""
    answer = call_unless_absent(
        endpoint, "get_bucket_replication", ("ReplicationConfigurationNotFoundError",), Bucket=bucket
    )
    return None if answer is None else answer.get("ReplicationConfiguration") or None


def get_bucket_notification(*, endpoint: Endpoint, bucket: str) -> dict:
    """The event-notification configuration ({TopicConfigurations, QueueConfigurations, …}); {} when none."""
    answer = call(endpoint, "get_bucket_notification_configuration", Bucket=bucket)
    return {k: v for k, v in answer.items() if k != "ResponseMetadata" and v}


# --- S3 Inventory (AWS) -------------------------------------------------------------------------------
def list_inventory_configurations(*, endpoint: Endpoint, bucket: str) -> list[dict]:
    """The bucket's inventory configurations as S3 has them ([] when none, or not supported)."""
    found: list[dict] = []
    token = ""
    while True:
        params: dict[str, Any] = {"Bucket": bucket}
        if token:
            params["ContinuationToken"] = token
        answer = call(endpoint, "list_bucket_inventory_configurations", **params)
        found += answer.get("InventoryConfigurationList", [])
        token = answer.get("NextContinuationToken") or ""
        if not answer.get("IsTruncated") or not token:
            return found


def put_inventory_configuration(*, endpoint: Endpoint, bucket: str, config_id: str, configuration: dict) -> None:
    call(
        endpoint, "put_bucket_inventory_configuration", Bucket=bucket, Id=config_id,
        InventoryConfiguration=configuration,
    )  # fmt: skip
