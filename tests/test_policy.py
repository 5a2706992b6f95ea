import json

import pytest

from buckets import policy as bp

BUCKET = "data-bucket"
PUBLIC_STMT = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
PRIVATE_ACL = {
    "owner": {"id": "o"},
    "grants": [{"type": "CanonicalUser", "grantee": "o", "permission": "FULL_CONTROL"}],
}
PUBLIC_ACL = {
    "owner": {"id": "o"},
    "grants": PRIVATE_ACL["grants"] + [{"type": "Group", "grantee": bp.ALL_USERS, "permission": "READ"}],
}
AUTH_ACL = {
    "owner": {"id": "o"},
    "grants": [{"type": "Group", "grantee": bp.AUTHENTICATED_USERS, "permission": "WRITE"}],
}
ALL_BLOCKED = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize(
    ("policy", "acl", "block", "level"),
    [
        (None, PRIVATE_ACL, None, "private"),
        (doc(PUBLIC_STMT), PRIVATE_ACL, None, "public"),
        (doc({**PUBLIC_STMT, "Principal": {"AWS": ["*"]}}), None, None, "public"),
        (doc({**PUBLIC_STMT, "Effect": "Deny"}), None, None, "private"),
        (doc({**PUBLIC_STMT, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}), None, None, "private"),
        (doc({**PUBLIC_STMT, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}), None, None, "private"),
        (doc({**PUBLIC_STMT, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}), None, None, "public"),
        (doc({**PUBLIC_STMT, "Condition": {"StringEquals": {"aws:SourceVpce": "*"}}}), None, None, "public"),
        (None, PUBLIC_ACL, None, "public"),
        (None, AUTH_ACL, None, "public"),
        (doc(PUBLIC_STMT), PUBLIC_ACL, ALL_BLOCKED, "blocked"),
        (doc(PUBLIC_STMT), None, {"RestrictPublicBuckets": True}, "blocked"),
        # BlockPublicPolicy / BlockPublicAcls only stop new grants; existing ones stay effective.
        (doc(PUBLIC_STMT), None, {"BlockPublicPolicy": True, "IgnorePublicAcls": True}, "public"),
        (None, PUBLIC_ACL, {"BlockPublicAcls": True, "RestrictPublicBuckets": True}, "public"),
        (None, PUBLIC_ACL, {"IgnorePublicAcls": True}, "blocked"),
    ],
)
def test_public_status(policy, acl, block, level):
    assert bp.public_status(policy=policy, acl=acl, block=block).level == level


def test_public_status_reasons_and_unknown():
    status = bp.public_status(policy=doc({**PUBLIC_STMT, "Sid": "Web"}), acl=PUBLIC_ACL, block=None)
    assert status.reasons == [
        "the bucket policy allows everyone (statement “Web”)",
        "the ACL grants READ to everyone (AllUsers)",
    ]
    unknown = bp.public_status(policy=None, acl=None, block=None, unknown=["ACL"])
    assert (unknown.level, unknown.label) == ("unknown", "Unknown")
    # something public is public even when another part could not be read
    assert bp.public_status(policy=doc(PUBLIC_STMT), acl=None, block=None, unknown=["ACL"]).level == "public"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{nope", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"Statement": [PUBLIC_STMT]}), "“Version” must be"),
        (json.dumps({"Version": "2012-10-17", "Statement": []}), "non-empty list"),
        (json.dumps(doc({**PUBLIC_STMT, "Effect": "Maybe"})), "Statement 1: “Effect” must be"),
        (json.dumps(doc({k: v for k, v in PUBLIC_STMT.items() if k != "Principal"})), "needs a “Principal”"),
        (json.dumps(doc({**PUBLIC_STMT, "Action": "ec2:RunInstances"})), "must name S3 actions"),
        (json.dumps(doc({k: v for k, v in PUBLIC_STMT.items() if k != "Resource"})), "“Resource” is missing"),
        (
            json.dumps(doc(PUBLIC_STMT, {**PUBLIC_STMT, "Resource": "arn:aws:s3:::other/*"})),
            "Statement 2: every Resource",
        ),
        (
            json.dumps(doc({**PUBLIC_STMT, "Resource": f"arn:aws:s3:::{BUCKET}-x/*"})),
            "not: arn:aws:s3:::data-bucket-x/*",
        ),
        (json.dumps(doc({**PUBLIC_STMT, "Sid": "a"}, {**PUBLIC_STMT, "Sid": "a"})), "the Sid “a” is used twice"),
        (json.dumps(doc({**PUBLIC_STMT, "Condition": "x"})), "“Condition” must be a JSON object"),
        ("{" + " " * 21000 + "}", "at most 20 KiB"),
    ],
)
def test_policy_errors(text, fragment):
    _, errors = bp.policy_errors(text, BUCKET)
    assert len(errors) == 1, errors
    assert fragment in errors[0]


def test_valid_policy_forms():
    for resource in (f"arn:aws:s3:::{BUCKET}", [f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{BUCKET}/logs/*"]):
        policy, errors = bp.policy_errors(json.dumps(doc({**PUBLIC_STMT, "Resource": resource})), BUCKET)
        assert errors == [] and policy["Version"] == "2012-10-17"
    single = {"Version": "2012-10-17", "Statement": PUBLIC_STMT}
    assert bp.policy_errors(json.dumps(single), BUCKET)[1] == []


def test_helpers_and_diff():
    private_stmt = {**PUBLIC_STMT, "Sid": "Team", "Principal": {"AWS": "arn:aws:iam::1:root"}}
    opened = bp.allow_public_read(doc(private_stmt), BUCKET)
    assert bp.policy_errors(json.dumps(opened), BUCKET)[1] == []
    assert bp.public_status(policy=opened, acl=None, block=None).level == "public"
    assert bp.allow_public_read(opened, BUCKET) == opened  # idempotent
    assert bp.allow_public_read(None, BUCKET)["Statement"][0]["Sid"] == bp.PUBLIC_READ_SID
    closed = bp.remove_public_access(opened)
    assert closed == doc(private_stmt)
    assert bp.remove_public_access(doc(PUBLIC_STMT)) is None
    lines = bp.diff_lines(bp.pretty(doc(private_stmt)), bp.pretty(opened))
    kinds = {kind for kind, _ in lines}
    assert kinds >= {"add", "hunk", ""} and "del" not in kinds
    assert ("add", '+      "Sid": "AllowPublicRead",') in lines
    assert bp.diff_lines("a", "a") == []
