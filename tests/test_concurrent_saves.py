"""Two people save the same thing from the same state at the same moment: one wins, the other is told.

Each case opens the edit form once (both editors see the same state), then two threads post their
save behind a barrier, each through its own client and database connection. Exactly one save
succeeds and S3 holds its value; the other answers 422 with what changed, and nothing of it is
saved; the audit trail has one ok row and one failed (Conflict) row. The lease that orders the two
saves lives in the database, so this holds across processes and hosts as well.
"""

from __future__ import annotations

import json
import re
import threading
import time
from html import unescape

import pytest
from django.db import connections
from django.test import Client

from console.models import AuditEvent
from tests.bucket_helpers import record
from tests.objects_fixtures import allow_acls, section_url

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HTTP_HX_REQUEST": "true"}


def _seen(page: str) -> str:
    return unescape(re.search(r'name="seen" value="([^"]*)"', page).group(1))


def _race(clients: list[Client], target: str | list[str], bodies: list[dict], stagger: float = 0.0) -> list:
    """Post ``bodies`` at once (to one URL, or each to its own), the i-th ``i × stagger`` s after the barrier."""
    barrier, answers = threading.Barrier(len(bodies)), [None] * len(bodies)
    targets = target if isinstance(target, list) else [target] * len(bodies)

    def save(i: int) -> None:
        try:
            barrier.wait()
            time.sleep(i * stagger)
            answers[i] = clients[i].post(targets[i], bodies[i], **HTMX)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def _clients(user) -> list[Client]:
    pair = [Client(), Client()]
    for c in pair:
        c.force_login(user)
    return pair


def _outcome(answers, winner_text: str):
    """(index of the winner, index of the loser), checking one saved and one refused with the reason."""
    codes = [a.status_code for a in answers]
    assert sorted(codes) == [200, 422], codes
    win, lose = (0, 1) if codes[0] == 200 else (1, 0)
    assert winner_text in answers[win].content.decode()
    refused = answers[lose].content.decode()
    assert "nothing was saved" in refused and "What changed" in refused
    return win, lose


def _canned(grants: list[dict]) -> str:
    uris = {g["Grantee"].get("URI", "") for g in grants}
    return "public-read" if any(u.endswith("/AllUsers") for u in uris) else "authenticated-read"


def _audit_pair(action: str) -> None:
    rows = list(AuditEvent.objects.filter(action=action).values_list("outcome", "error_code"))
    assert sorted(rows) == [("failed", "Conflict"), ("ok", "")], rows


# --- the object page ------------------------------------------------------------------------------
OBJECT_CASES = {
    "metadata": (
        lambda v: {"content_type": "text/plain", "meta_key": ["team"], "meta_value": [v]},
        lambda c, b: c.head_object(Bucket=b, Key="k")["Metadata"].get("team"),
        "object.metadata.put",
    ),
    "headers": (
        lambda v: {"content_type": "text/plain", "cache_control": f"max-age={v}"},
        lambda c, b: c.head_object(Bucket=b, Key="k").get("CacheControl", "").removeprefix("max-age="),
        "object.metadata.put",
    ),
    "tags": (
        lambda v: {"tag_key": ["owner"], "tag_value": [v]},
        lambda c, b: {t["Key"]: t["Value"] for t in c.get_object_tagging(Bucket=b, Key="k")["TagSet"]}.get("owner"),
        "object.tags.put",
    ),
    "acl": (
        lambda v: {"canned": v},
        lambda c, b: _canned(c.get_object_acl(Bucket=b, Key="k")["Grants"]),
        "object.acl.put",
    ),
    "storage": (
        lambda v: {"storage_class": v},
        lambda c, b: c.head_object(Bucket=b, Key="k").get("StorageClass", "STANDARD"),
        "object.storage_class.put",
    ),
}
VALUES = {
    "metadata": ("alice", "bob"),
    "headers": ("60", "120"),
    "tags": ("alice", "bob"),
    "acl": ("public-read", "authenticated-read"),
    "storage": ("STANDARD_IA", "GLACIER_IR"),
}


@pytest.mark.parametrize("case", list(OBJECT_CASES))
def test_two_saves_of_one_object_section(case, admin_user, endpoint, s3client, make_bucket):
    body, held, action = OBJECT_CASES[case]
    slug = "metadata" if case == "headers" else case
    bucket = make_bucket("race")
    allow_acls(s3client, bucket)
    s3client.put_object(Bucket=bucket, Key="k", Body=b"same bytes", ContentType="text/plain")
    clients = _clients(admin_user)
    seen = _seen(clients[0].get(section_url("edit", slug, endpoint, bucket, key="k"), **HTMX).content.decode())
    bodies = [{"key": "k", "seen": seen, **body(v)} for v in VALUES[case]]

    answers = _race(clients, section_url("save", slug, endpoint, bucket), bodies)

    win, _ = _outcome(answers, "saved.")
    assert held(s3client, bucket) == VALUES[case][win]
    _audit_pair(action)


# --- the bucket page -----------------------------------------------------------------------------
def _policy(bucket: str, sid: str) -> str:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    statement |= {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


BUCKET_CASES = {
    "versioning": (
        ("Enabled", "Suspended"),
        lambda b, v: {"status": v},
        lambda c, b: c.get_bucket_versioning(Bucket=b).get("Status"),
    ),
    "tags": (
        ("alice", "bob"),
        lambda b, v: {"tag_key": ["owner"], "tag_value": [v]},
        lambda c, b: c.get_bucket_tagging(Bucket=b)["TagSet"][0]["Value"],
    ),
    "cors": (
        ("https://a.example", "https://b.example"),
        lambda b, v: {"rules": json.dumps([{"AllowedOrigins": [v], "AllowedMethods": ["GET"]}])},
        lambda c, b: c.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedOrigins"][0],
    ),
    "policy": (
        ("Alice", "Bob"),
        lambda b, v: {"policy": _policy(b, v)},
        lambda c, b: json.loads(c.get_bucket_policy(Bucket=b)["Policy"])["Statement"][0]["Sid"],
    ),
    "encryption": (
        ("AES256", "AES256"),  # the same value: the second still changes what it did not see
        lambda b, v: {"algorithm": v},
        lambda c, b: _encryption(c, b),
    ),
    "ownership": (
        ("BucketOwnerPreferred", "BucketOwnerEnforced"),  # both differ from "ObjectWriter", where it starts
        lambda b, v: {"ownership": v},
        lambda c, b: c.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
    ),
    "acl": (
        ("public-read", "authenticated-read"),
        lambda b, v: {"canned": v},
        lambda c, b: _canned(c.get_bucket_acl(Bucket=b)["Grants"]),
    ),
}


def _encryption(client, bucket: str) -> str:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except client.exceptions.ClientError:
        return "none"
    return rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]


@pytest.mark.parametrize("slug", list(BUCKET_CASES))
def test_two_saves_of_one_bucket_setting(slug, admin_user, endpoint, s3client, make_bucket):
    values, body, held = BUCKET_CASES[slug]
    bucket = make_bucket("race")
    allow_acls(s3client, bucket)
    record(endpoint, bucket)
    clients = _clients(admin_user)
    from django.urls import reverse

    edit = reverse("bucket_setting_edit", args=[endpoint.pk, bucket, slug])
    seen = _seen(clients[0].get(edit, **HTMX).content.decode())
    bodies = [{"seen": seen, **body(bucket, v)} for v in values]

    answers = _race(clients, reverse("bucket_setting_save", args=[endpoint.pk, bucket, slug]), bodies)

    win, _ = _outcome(answers, "saved.")
    assert held(s3client, bucket) == values[win]
    _audit_pair(f"bucket.{slug}.put")


def test_two_edits_of_one_lifecycle_rule_and_of_two_different_rules(admin_user, endpoint, s3client, make_bucket):
    from django.urls import reverse

    bucket = make_bucket("race")
    rules = [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}},
    ]
    s3client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    record(endpoint, bucket)
    clients = _clients(admin_user)
    rule_url = reverse("lifecycle_rule", args=[endpoint.pk, bucket])
    save = reverse("lifecycle_rule_save", args=[endpoint.pk, bucket])

    def body(rule_id: str, days: str, prefix: str) -> dict:
        seen = _seen(clients[0].get(f"{rule_url}?id={rule_id}", **HTMX).content.decode())
        return {"seen": seen, "original_id": rule_id, "rule_id": rule_id, "status": "Enabled", "prefix": prefix,
                "expire_days": days}  # fmt: skip

    # The same rule from the same state: one wins.
    answers = _race(clients, save, [body("logs", "60", "logs/"), body("logs", "90", "logs/")])
    win, _ = _outcome(answers, "saved.")
    held = {r["ID"]: r for r in s3client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert held["logs"]["Expiration"]["Days"] == (60, 90)[win] and held["tmp"]["Expiration"]["Days"] == 1

    # Two different rules at once: both are saved, neither loses the other's change.
    answers = _race(clients, save, [body("logs", "7", "logs/"), body("tmp", "2", "tmp/")])
    assert [a.status_code for a in answers] == [200, 200]
    held = {r["ID"]: r for r in s3client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert held["logs"]["Expiration"]["Days"] == 7 and held["tmp"]["Expiration"]["Days"] == 2
