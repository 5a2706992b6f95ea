"""AWS-only settings on moto: ACL (canned and grants), public access block, website hosting."""

from __future__ import annotations

from buckets import s3
from buckets.policy import ALL_USERS
from console.models import AuditEvent
from tests.bucket_helpers import HTMX, no_s3_calls, url

pytest_plugins = ["tests.bucket_settings_fixtures"]
B = "moto-bucket"


def raw(endpoint):
    return s3.client_for(endpoint)


def test_acl_canned_and_grants(clients, moto_endpoint):
    admin, ep = clients["admin"], moto_endpoint
    canned = url("bucket_setting_save", ep, B, "acl")
    assert "Explicit grants (below)" in admin.get(url("bucket_setting_edit", ep, B, "acl"), **HTMX).text
    with no_s3_calls():
        bad = admin.post(canned, {"canned": "everyone-writes"}, **HTMX)
    assert bad.status_code == 422 and "Select a valid choice" in bad.text

    done = admin.post(canned, {"canned": "public-read"}, **HTMX)
    assert done.status_code == 200 and "badge public" in done.text and "AllUsers" in done.text
    assert {"Type": "Group", "URI": ALL_USERS} in [g["Grantee"] for g in raw(ep).get_bucket_acl(Bucket=B)["Grants"]]
    event = AuditEvent.objects.get(action="bucket.acl.put")
    assert (
        event.params == {"canned": "public-read", "grants": []}
        and len(event.after["grants"]) == len(event.before["grants"]) + 1
    )
    overview = admin.get(url("bucket_setting", ep, B, "overview"), **HTMX)
    assert 'data-public="public"' in overview.text and "The ACL grants READ to everyone (AllUsers)." in overview.text

    owner = raw(ep).get_bucket_acl(Bucket=B)["Owner"]["ID"]
    grants = {
        "grant_type": ["CanonicalUser", "AmazonCustomerByEmail", "Group"],
        "grant_grantee": [owner, "not-an-email", "LogDelivery"],
        "grant_permission": ["FULL_CONTROL", "READ", "WRITE"],
    }
    with no_s3_calls():
        bad = admin.post(url("bucket_setting_save", ep, B, "acl"), grants, **HTMX)
    assert bad.status_code == 422 and "Grant 2: “not-an-email” is not an e-mail address." in bad.text
    del grants["grant_type"][1], grants["grant_grantee"][1], grants["grant_permission"][1]
    saved = admin.post(url("bucket_setting_save", ep, B, "acl"), grants, **HTMX)
    assert saved.status_code == 200 and "LogDelivery" in saved.text and "badge public" not in saved.text
    stored = raw(ep).get_bucket_acl(Bucket=B)["Grants"]
    assert [g["Permission"] for g in stored] == ["FULL_CONTROL", "WRITE"]
    for who in ("viewer", "operator"):
        assert clients[who].post(canned, {"canned": "private"}, **HTMX).status_code == 403
    assert clients["nobody"].post(canned, {"canned": "private"}, **HTMX).status_code == 404


def test_public_access_block(clients, moto_endpoint):
    admin, ep = clients["admin"], moto_endpoint
    raw(ep).put_bucket_acl(Bucket=B, ACL="public-read")
    show = admin.get(url("bucket_setting", ep, B, "public-access-block"), **HTMX)
    assert "No public access block on this bucket" in show.text
    assert 'data-public="public"' in admin.get(url("bucket_setting", ep, B, "overview"), **HTMX).text

    flags = {"IgnorePublicAcls": "on", "RestrictPublicBuckets": "on"}
    done = admin.post(url("bucket_setting_save", ep, B, "public-access-block"), flags, **HTMX)
    assert done.status_code == 200 and done.text.count("badge ok") == 2
    assert raw(ep).get_public_access_block(Bucket=B)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True,
    }
    event = AuditEvent.objects.get(action="bucket.public_access_block.put")
    assert event.before is None and event.after["IgnorePublicAcls"] is True
    overview = admin.get(url("bucket_setting", ep, B, "overview"), **HTMX).text
    assert 'data-public="blocked"' in overview and "but the public access block neutralizes it" in overview

    removed = admin.post(url("bucket_setting_remove", ep, B, "public-access-block"), **HTMX)
    assert "No public access block" in removed.text
    assert AuditEvent.objects.get(action="bucket.public_access_block.delete").after is None
    for who in ("viewer", "operator"):
        assert clients[who].post(url("bucket_setting_save", ep, B, "public-access-block"), flags).status_code == 403
    assert clients["nobody"].get(url("bucket_setting", ep, B, "public-access-block"), **HTMX).status_code == 404


def test_website(clients, moto_endpoint):
    admin, ep = clients["admin"], moto_endpoint
    save = url("bucket_setting_save", ep, B, "website")
    assert "Disabled." in admin.get(url("bucket_setting", ep, B, "website"), **HTMX).text
    with no_s3_calls():
        bad = admin.post(save, {"index_document": "site/index.html"}, **HTMX)
    assert bad.status_code == 422 and "without “/”" in bad.text
    done = admin.post(save, {"index_document": "index.html", "error_document": "/404.html"}, **HTMX)
    assert done.status_code == 200 and "404.html" in done.text and "Disable website hosting" in done.text
    site = raw(ep).get_bucket_website(Bucket=B)
    assert site["IndexDocument"] == {"Suffix": "index.html"} and site["ErrorDocument"] == {"Key": "404.html"}
    assert AuditEvent.objects.get(action="bucket.website.put").after["IndexDocument"] == {"Suffix": "index.html"}

    off = admin.post(url("bucket_setting_remove", ep, B, "website"), **HTMX)
    assert off.status_code == 200 and "Disabled." in off.text
    assert s3.get_bucket_website(endpoint=ep, bucket=B) is None
    assert raw(ep).head_bucket(Bucket=B)  # the bucket itself is still there
    assert clients["operator"].post(save, {"index_document": "index.html"}, **HTMX).status_code == 403
