"""Bucket settings on a real SeaweedFS: view, edit, invalid input (no S3 call), S3 refusal, audit, roles."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from buckets import s3
from console.models import AuditEvent
from tests.bucket_helpers import HTMX, no_s3_calls, record, seaweed_endpoint, url

pytest_plugins = ["tests.bucket_settings_fixtures"]


def policy_for(name: str, **extra) -> str:
    statement = {"Sid": "Team", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    statement |= {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"} | extra
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


CORS_RULES = [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 60}]

# slug, valid POST, what S3 then holds, invalid POST, the message it gets
CASES = [
    (
        "versioning",
        lambda b: {"status": "Enabled"},
        lambda c, b: c.get_bucket_versioning(Bucket=b)["Status"] == "Enabled",
        {"status": "Off"},
        "Select a valid choice",
    ),
    (
        "encryption",
        lambda b: {"algorithm": "AES256"},
        lambda c, b: (
            c.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0][
                "ApplyServerSideEncryptionByDefault"
            ]
            == {"SSEAlgorithm": "AES256"}
        ),
        {"algorithm": "AES256", "kms_key_id": "alias/x"},
        "A KMS key applies only to SSE-KMS.",
    ),
    (
        "tags",
        lambda b: {"tag_key": ["team", "env", ""], "tag_value": ["data", "prod", ""]},
        lambda c, b: (
            c.get_bucket_tagging(Bucket=b)["TagSet"]
            == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "data"}]
        ),
        {"tag_key": ["a", "a", "k" * 129], "tag_value": ["1", "2", "v" * 257]},
        "The tag key “a” is used twice; keys must be unique.",
    ),
    (
        "cors",
        lambda b: {"rules": json.dumps(CORS_RULES)},
        lambda c, b: c.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"],
        {"rules": '[{"AllowedMethods": ["FETCH"], "AllowedOrigins": ["*"]}]'},
        "Rule 1: “AllowedMethods” must list some of GET, PUT, POST, DELETE, HEAD.",
    ),
    (
        "policy",
        lambda b: {"policy": policy_for(b)},
        lambda c, b: json.loads(c.get_bucket_policy(Bucket=b)["Policy"])["Statement"][0]["Sid"] == "Team",
        {"policy": policy_for("someone-elses-bucket")},
        "Statement 1: every Resource must be this bucket&#x27;s ARN",
    ),
    (
        "acl",
        lambda b: {
            "grant_type": ["CanonicalUser", "Group"],
            "grant_grantee": ["admin", "AuthenticatedUsers"],
            "grant_permission": ["FULL_CONTROL", "READ"],
        },
        lambda c, b: (
            {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}
            in [g["Grantee"] for g in c.get_bucket_acl(Bucket=b)["Grants"]]
        ),
        {"grant_type": ["Group"], "grant_grantee": ["Everybody"], "grant_permission": ["READ"]},
        "Grant 1: the group must be one of AllUsers, AuthenticatedUsers, LogDelivery.",
    ),
    (
        "ownership",
        lambda b: {"ownership": "BucketOwnerPreferred"},
        lambda c, b: (
            c.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
            == "BucketOwnerPreferred"
        ),
        {"ownership": "Anyone"},
        "Select a valid choice",
    ),
]


@pytest.mark.parametrize(("slug", "valid", "holds", "invalid", "message"), CASES, ids=[c[0] for c in CASES])
def test_setting_view_edit_save(slug, valid, holds, invalid, message, clients, endpoint, bucket, s3client):
    admin, viewer = clients["admin"], clients["viewer"]
    show, edit, save = (
        url(n, endpoint, bucket, slug) for n in ("bucket_setting", "bucket_setting_edit", "bucket_setting_save")
    )
    if slug == "acl":  # ACLs are editable only where object ownership does not disable them
        s3client.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
        )

    # viewers see the value, without an Edit control; admins get one
    seen = viewer.get(show, **HTMX)
    assert seen.status_code == 200 and f'id="setting-{slug}"' in seen.text and edit not in seen.text
    assert edit in admin.get(show, **HTMX).text
    form = admin.get(edit, **HTMX)
    assert form.status_code == 200 and "hx-post=" in form.text and "Cancel" in form.text

    # invalid input: the message in place, status 422, and no S3 call at all
    with no_s3_calls():
        refused = admin.post(save, invalid, **HTMX)
    assert refused.status_code == 422 and message in refused.text
    assert not AuditEvent.objects.filter(action__startswith="bucket.").exclude(outcome="denied").exists()

    # a valid change: S3 holds it, the partial shows what S3 now holds, one audit row with before and after
    done = admin.post(save, valid(bucket), **HTMX)
    assert done.status_code == 200, done.text
    assert "Showing what S3 now holds" in done.text
    assert holds(s3client, bucket)
    event = AuditEvent.objects.get(action=f"bucket.{slug}.put")
    assert (event.outcome, event.bucket, event.endpoint_id) == ("ok", bucket, endpoint.pk)
    assert event.after is not None and event.after != event.before

    # viewer and operator are refused (403, audited); someone without a role on the endpoint gets 404
    for who in ("viewer", "operator"):
        assert clients[who].post(save, valid(bucket), **HTMX).status_code == 403
        assert clients[who].get(edit, **HTMX).status_code == 403
    assert AuditEvent.objects.filter(action=f"bucket.{slug}.put", outcome="denied").count() == 4
    assert clients["nobody"].post(save, valid(bucket), **HTMX).status_code == 404
    assert clients["nobody"].get(show, **HTMX).status_code == 404


@pytest.mark.parametrize(("slug", "valid", "holds", "invalid", "message"), CASES, ids=[c[0] for c in CASES])
def test_s3_refusal_is_shown_in_place(
    slug, valid, holds, invalid, message, clients, endpoint, readonly_endpoint, bucket
):
    """The read-only identity may read but not write: S3 answers AccessDenied, shown in the form, audited."""
    record(readonly_endpoint, bucket)
    answer = clients["admin"].post(url("bucket_setting_save", readonly_endpoint, bucket, slug), valid(bucket), **HTMX)
    assert answer.status_code == 422
    assert "The endpoint&#x27;s credentials are not allowed to do this. (AccessDenied)" in answer.text
    assert 'class="card setting editing"' in answer.text and "hx-post=" in answer.text  # the form stays
    event = AuditEvent.objects.get(action=f"bucket.{slug}.put")
    assert (event.outcome, event.error_code) == ("failed", "AccessDenied")


def test_the_page_arrives_with_every_setting_filled_when_s3_answers_at_once(
    clients, endpoint, bucket, s3client, django_assert_max_num_queries, monkeypatch
):
    from buckets.sections import BUCKET_SECTIONS
    from buckets.views import sections

    # What a page waits for is tests/test_hung_endpoint.py's: a cold first page on a busy machine may
    # take longer than INLINE_WAIT, and its miss would leave the next page to htmx.
    monkeypatch.setattr(sections, "INLINE_WAIT", 10)
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "inline-check"}]})
    page_url = url("bucket_detail", endpoint, bucket)
    clients["viewer"].get(page_url)  # the first also records what the endpoint does not implement
    before = dict(s3.CALL_COUNTS)
    with django_assert_max_num_queries(10):
        page = clients["viewer"].get(page_url)
    assert page.status_code == 200
    made = {op: n - before.get(op, 0) for op, n in s3.CALL_COUNTS.items() if n != before.get(op, 0)}
    assert made and all(n == 1 for n in made.values()), made  # each read once: the overview's are shared
    assert "GetPublicAccessBlock" not in made  # SeaweedFS has none: said once, remembered, not asked again
    for spec in BUCKET_SECTIONS:
        assert f'id="{spec.dom_id}"' in page.text
        assert f'hx-get="{url("bucket_setting_edit", endpoint, bucket, spec.slug)}"' not in page.text  # a viewer
    assert "setting loading" not in page.text and 'hx-trigger="load"' not in page.text  # no second request
    assert "inline-check" in page.text  # the bucket's tags, read from S3


@pytest.mark.parametrize("asked", ["page", "overview card"])
def test_no_read_of_the_page_waits_for_another_on_an_endpoint_far_away(
    asked, clients, seaweed, make_bucket, monkeypatch
):
    """Every S3 read of the bucket page starts before the first answer comes back (the overview's later
    reads too), each asked once: the page waits one round trip, not one for each read in turn. So does
    the overview's card asked alone (as after a save that changes it)."""
    import threading
    import time

    from buckets.views import sections
    from tests.job_processes import Proxy

    far = 0.5  # seconds each request waits at the proxy
    monkeypatch.setattr(sections, "INLINE_WAIT", 10)  # the page waits for them all
    bucket = make_bucket("far")
    with Proxy(seaweed.url) as proxy:
        ep = seaweed_endpoint(seaweed, "far", proxy.url)
        record(ep, bucket)
        page_url = url("bucket_detail", ep, bucket)
        clients["admin"].get(page_url)  # the first also records what the endpoint does not implement
        started, lock = [], threading.Lock()

        def delay(op, path):
            with lock:
                started.append((time.monotonic(), path))
            return far

        proxy.rules.delay = delay
        if asked == "page":
            page = clients["admin"].get(page_url)
        else:
            page = clients["admin"].get(url("bucket_setting", ep, bucket, "overview"), **HTMX)
    assert page.status_code == 200 and "setting loading" not in page.text  # filled
    paths = [path for _, path in started]
    assert len(paths) >= (10 if asked == "page" else 4) and len(set(paths)) == len(paths), paths  # each once
    # SeaweedFS said on the first page that it has no public access block: neither its card nor the
    # overview asks again.
    assert "publicAccessBlock" not in "".join(paths)
    first = min(when for when, _ in started)
    late = [f"{when - first:.3f} s {path}" for when, path in started if when - first >= far]
    assert not late, f"started after another's answer: {late}"


def test_a_shared_read_that_breaks_does_not_leave_its_other_callers_waiting():
    """Any failure of a shared read reaches the caller waiting on it (an S3Error or not): no thread of the
    page waits for an answer that will never come."""
    import threading

    from buckets.s3.client import _SharedReads

    shared, joined = _SharedReads(), threading.Event()

    def broken():
        joined.wait(5)
        raise RuntimeError("a parser bug")

    got = []

    def second():
        joined.set()
        try:
            shared.once(("ep", "get_bucket_cors"), lambda: pytest.fail("asked twice"))
        except RuntimeError as exc:
            got.append(str(exc))

    waiter = threading.Thread(target=second, daemon=True)
    with pytest.raises(RuntimeError):
        threading.Timer(0.1, waiter.start).start()
        shared.once(("ep", "get_bucket_cors"), broken)
    waiter.join(5)
    assert not waiter.is_alive() and got == ["a parser bug"]


def test_a_slow_endpoint_gets_its_page_at_once_and_the_settings_through_htmx(
    clients, endpoint, bucket, django_assert_max_num_queries, monkeypatch
):
    from buckets.views import section_reads, sections

    page_url = url("bucket_detail", endpoint, bucket)
    monkeypatch.setattr(sections, "INLINE_WAIT", 0)  # no endpoint answers in no time
    pool = ThreadPoolExecutor(max_workers=section_reads.READERS)
    monkeypatch.setattr(section_reads, "readers_for", lambda endpoint: pool)
    first = clients["viewer"].get(page_url)
    assert f'hx-get="{url("bucket_settings_all", endpoint, bucket)}"' in first.text, "the page waited"
    pool.shutdown(wait=True)  # the reads it did not wait for end on their own
    # The miss is remembered: the next pages make no S3 call and leave every section to one htmx request.
    with no_s3_calls(), django_assert_max_num_queries(8):
        page = clients["viewer"].get(page_url)
    assert page.status_code == 200
    for slug in ("overview", "versioning", "encryption", "tags", "cors", "lifecycle", "policy", "acl"):
        assert f'href="{url("bucket_setting", endpoint, bucket, slug)}"' in page.text  # without JavaScript
    assert page.text.count('hx-trigger="load"') == 1
    assert f'hx-get="{url("bucket_settings_all", endpoint, bucket)}"' in page.text


def test_the_page_is_only_for_who_may_see_the_bucket(clients, endpoint, bucket):
    page_url = url("bucket_detail", endpoint, bucket)
    with no_s3_calls():
        assert clients["nobody"].get(page_url).status_code == 404
        assert clients["viewer"].get(url("bucket_detail", endpoint, "not-a-known-bucket")).status_code == 404


def test_every_section_in_one_answer(clients, endpoint, bucket, django_assert_max_num_queries):
    from buckets.sections import BUCKET_SECTIONS

    all_url = url("bucket_settings_all", endpoint, bucket)
    clients["viewer"].get(all_url, **HTMX)  # the first answer also records what the endpoint does not implement
    before = dict(s3.CALL_COUNTS)
    with django_assert_max_num_queries(10):  # not one set per section
        answer = clients["viewer"].get(all_url, **HTMX)
    assert answer.status_code == 200
    for spec in BUCKET_SECTIONS:
        assert f'id="{spec.dom_id}"' in answer.text
        assert f'hx-get="{url("bucket_setting_edit", endpoint, bucket, spec.slug)}"' not in answer.text  # a viewer
    made = {op: n - before.get(op, 0) for op, n in s3.CALL_COUNTS.items() if n != before.get(op, 0)}
    assert made and max(made.values()) == 1, made  # every read once, none repeated
    assert 'class="card setting loading"' not in answer.text
    admin_answer = clients["admin"].get(all_url, **HTMX).text
    assert f'hx-get="{url("bucket_setting_edit", endpoint, bucket, "versioning")}"' in admin_answer
    assert clients["nobody"].get(all_url, **HTMX).status_code == 404
    assert clients["viewer"].get(all_url).status_code == 302  # without htmx: the page itself


def test_overview_public_indicator_and_counts(clients, endpoint, bucket, s3client):
    from buckets.models import Bucket

    show = url("bucket_setting", endpoint, bucket, "overview")
    first = clients["viewer"].get(show, **HTMX)
    assert 'data-public="private"' in first.text and "not counted yet" in first.text
    assert Bucket.objects.get(name=bucket).is_public is False
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    Bucket.objects.filter(name=bucket).update(
        object_count=1234, total_bytes=5 * 1024 * 1024, counted_at="2026-01-01T00:00Z"
    )
    second = clients["viewer"].get(show, **HTMX)
    assert 'data-public="public"' in second.text and "The bucket policy allows everyone." in second.text
    assert "1,234 objects, 5.0" in second.text
    record = Bucket.objects.get(name=bucket)
    assert record.is_public is True and record.public_checked_at is not None, "the dashboard reads this"
    # SeaweedFS has no public access block (501): the indicator still works, nothing "unknown"
    assert "Could not read" not in second.text


def test_viewing_the_page_again_writes_no_unchanged_public_indicator(clients, endpoint, bucket, s3client, monkeypatch):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from buckets.models import Bucket
    from buckets.views import sections
    from console import generations

    # Each load reads the overview in its own request, however long SeaweedFS takes just after a policy change
    # (a read past INLINE_WAIT leaves the cards to htmx, and this test looks at the page's own writes).
    monkeypatch.setattr(sections, "INLINE_WAIT", 10.0)
    page_url = url("bucket_detail", endpoint, bucket)
    clients["viewer"].get(page_url)
    checked = Bucket.objects.get(name=bucket).public_checked_at
    assert checked is not None

    def updates() -> list[str]:
        with CaptureQueriesContext(connection) as seen:
            assert clients["viewer"].get(page_url).status_code == 200
        return [q["sql"] for q in seen.captured_queries if q["sql"].startswith("UPDATE") and "bucket" in q["sql"]]

    assert updates() == []  # the same answer within the minute: no write
    assert Bucket.objects.get(name=bucket).public_checked_at == checked
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    counted = generations._local.get(Bucket.counted_as)
    assert len(updates()) == 1 and Bucket.objects.get(name=bucket).is_public is True  # a change: written at once
    assert generations._local.get(Bucket.counted_as) != counted  # and the kept bucket list is built again
    Bucket.objects.filter(name=bucket).update(public_checked_at=timezone.now() - timedelta(minutes=2))
    counted = generations._local.get(Bucket.counted_as)
    assert len(updates()) == 1  # unchanged but checked long ago: the time is renewed
    assert timezone.now() - Bucket.objects.get(name=bucket).public_checked_at < timedelta(minutes=1)
    assert generations._local.get(Bucket.counted_as) == counted  # only a time: no kept page is built again for it


def test_the_overview_asks_no_public_access_block_of_an_endpoint_known_to_have_none(clients, endpoint, bucket):
    """SeaweedFS has no public access block: once its card has said so, the overview no longer asks for one
    (a call on every view that could only be answered "not implemented")."""
    admin = clients["admin"]

    def overview_calls() -> dict:
        before = dict(s3.CALL_COUNTS)
        card = admin.get(url("bucket_setting", endpoint, bucket, "overview"), **HTMX)
        assert card.status_code == 200 and 'data-public="' in card.text
        return {op: n - before.get(op, 0) for op, n in s3.CALL_COUNTS.items() if n != before.get(op, 0)}

    assert overview_calls().get("GetPublicAccessBlock") == 1  # not known yet: asked
    admin.get(url("bucket_setting", endpoint, bucket, "public-access-block"), **HTMX)  # "not implemented", kept
    made = overview_calls()
    assert "GetPublicAccessBlock" not in made and made.get("GetBucketAcl") == 1, made


def test_not_supported_on_seaweedfs(clients, endpoint, bucket):
    admin = clients["admin"]
    block = admin.get(url("bucket_setting", endpoint, bucket, "public-access-block"), **HTMX)
    assert block.status_code == 200 and "Not supported by this endpoint" in block.text
    assert url("bucket_setting_edit", endpoint, bucket, "public-access-block") not in block.text
    # SeaweedFS answers PutBucketWebsite with 409: shown as not supported, the bucket untouched
    site = admin.post(url("bucket_setting_save", endpoint, bucket, "website"), {"index_document": "index.html"}, **HTMX)
    assert site.status_code == 200 and "Not supported by this endpoint" in site.text
    assert AuditEvent.objects.get(action="bucket.website.put").error_code == "NotImplemented"
    # …and it stays so: the page says "not supported" without asking S3 again, until someone checks again
    with no_s3_calls():
        again = admin.get(url("bucket_setting", endpoint, bucket, "website"), **HTMX)
    assert "Not supported by this endpoint" in again.text and "Check again" in again.text
    assert url("bucket_setting_edit", endpoint, bucket, "website") not in again.text
    rechecked = admin.post(url("bucket_setting_recheck", endpoint, bucket, "website"), **HTMX)
    assert "Disabled." in rechecked.text and AuditEvent.objects.filter(action="endpoint.feature.recheck").exists()
    # Disabling a website that is not there must not reach SeaweedFS (it treats DELETE ?website as DeleteBucket)
    admin.post(url("bucket_setting_remove", endpoint, bucket, "website"), **HTMX)
    assert "Disabled." in admin.get(url("bucket_setting", endpoint, bucket, "website"), **HTMX).text


def test_policy_review_helpers_and_refusal(clients, endpoint, bucket, s3client):
    admin = clients["admin"]
    s3client.put_bucket_policy(Bucket=bucket, Policy=policy_for(bucket))
    review_url, editor_url = (
        url("bucket_policy_review", endpoint, bucket),
        url("bucket_policy_editor", endpoint, bucket),
    )

    # the helper fills the editor (no S3 call); the review shows the diff before anything is saved
    current = (
        admin.get(url("bucket_setting_edit", endpoint, bucket, "policy"), **HTMX).context["form"]["policy"].value()
    )
    with no_s3_calls():
        filled = admin.post(editor_url, {"policy": current, "preset": "public-read"}, **HTMX)
    new_text = filled.context["form"]["policy"].value()
    assert "AllowPublicRead" in new_text and "Review it before saving" in filled.text
    review = admin.post(review_url, {"policy": new_text}, **HTMX)
    assert review.status_code == 200
    assert '<span class="add">+      &quot;Sid&quot;: &quot;AllowPublicRead&quot;,</span>' in review.text
    assert "This policy makes the bucket public" in review.text
    assert "AllowPublicRead" not in s3client.get_bucket_policy(Bucket=bucket)["Policy"]

    saved = admin.post(url("bucket_setting_save", endpoint, bucket, "policy"), {"policy": new_text}, **HTMX)
    assert saved.status_code == 200 and "badge public" in saved.text
    assert "AllowPublicRead" in s3client.get_bucket_policy(Bucket=bucket)["Policy"]
    event = AuditEvent.objects.get(action="bucket.policy.put")
    assert "AllowPublicRead" in event.after and "AllowPublicRead" not in event.before

    # remove public access, then the same with nothing left
    closed = admin.post(editor_url, {"policy": new_text, "preset": "remove-public"}, **HTMX)
    assert "AllowPublicRead" not in closed.context["form"]["policy"].value()
    only_public = json.dumps({"Version": "2012-10-17", "Statement": [json.loads(new_text)["Statement"][1]]})
    empty = admin.post(editor_url, {"policy": only_public, "preset": "remove-public"}, **HTMX)
    assert "Delete the policy instead" in empty.text
    # ...and the button it names is right there, posting to the section's remove (with the form's seen state)
    remove = url("bucket_setting_remove", endpoint, bucket, "policy")
    assert re.search(r'<button type="submit" class="danger small-btn" formaction="' + re.escape(remove), empty.text)
    assert ">Delete policy</button>" in empty.text and "AllowPublicRead" in empty.context["form"]["policy"].value()
    assert "Fix the JSON" in admin.post(editor_url, {"policy": "{", "preset": "public-read"}, **HTMX).text
    # an emptied editor: the error names the "Delete policy" button, and it is on this form
    for headers in (HTMX, {}):
        emptied = admin.post(review_url, {"policy": "  "}, **headers)
        assert emptied.status_code == 422 and "use “Delete policy” above" in emptied.text
        assert re.search(
            r'<button type="submit" class="danger small-btn" formaction="' + re.escape(remove), emptied.text
        )
        assert ">Delete policy</button>" in emptied.text

    # invalid JSON never reaches S3; a policy S3 refuses is shown in place
    with no_s3_calls():
        bad = admin.post(review_url, {"policy": '{"Version": '}, **HTMX)
    assert bad.status_code == 422 and "This is not valid JSON" in bad.text
    refused_text = policy_for(bucket, Condition={"Bogus": {"aws:SourceIp": "10.0.0.1"}})
    refused = admin.post(url("bucket_setting_save", endpoint, bucket, "policy"), {"policy": refused_text}, **HTMX)
    assert refused.status_code == 422 and "(InvalidPolicyDocument)" in refused.text

    # delete
    gone = admin.post(url("bucket_setting_remove", endpoint, bucket, "policy"), **HTMX)
    assert gone.status_code == 200 and "No bucket policy." in gone.text
    assert AuditEvent.objects.get(action="bucket.policy.delete").after is None
    assert clients["operator"].post(url("bucket_setting_remove", endpoint, bucket, "policy"), **HTMX).status_code == 403
    assert clients["viewer"].post(review_url, {"policy": new_text}, **HTMX).status_code == 403


def test_lifecycle_rules(clients, endpoint, bucket, s3client):
    admin = clients["admin"]
    rule_url, save_url = url("lifecycle_rule", endpoint, bucket), url("lifecycle_rule_save", endpoint, bucket)
    assert "New rule" in admin.get(rule_url, **HTMX).text
    base = {"status": "Enabled", "prefix": "logs/", "original_id": ""}
    with no_s3_calls():
        bad = admin.post(save_url, {**base, "rule_id": "r1"}, **HTMX)
        assert bad.status_code == 422 and "Choose at least one action" in bad.text
        bad = admin.post(save_url, {**base, "rule_id": "r1", "abort_days": "2", "tags": "k=v"}, **HTMX)
        assert "S3 does not allow aborting multipart uploads in a rule filtered by tags." in bad.text
        bad = admin.post(
            save_url, {**base, "rule_id": "r1", "transition_days": "5", "transition_class": "STANDARD_IA"}, **HTMX
        )
        assert "after 30 days at the earliest" in bad.text

    made = admin.post(save_url, {**base, "rule_id": "r1", "expire_days": "30", "noncurrent_days": "7"}, **HTMX)
    assert made.status_code == 200 and "Expire current versions after 30 days" in made.text
    admin.post(
        save_url, {**base, "rule_id": "tmp", "prefix": "", "tags": "kind=tmp\nteam=x", "expire_days": "1"}, **HTMX
    )
    admin.post(save_url, {**base, "rule_id": "mpu", "prefix": "", "abort_days": "3"}, **HTMX)
    rules = {r["ID"]: r for r in s3client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert (
        rules["r1"]["Filter"] == {"Prefix": "logs/"}
        and rules["r1"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    )
    assert rules["tmp"]["Filter"]["And"]["Tags"] == [{"Key": "kind", "Value": "tmp"}, {"Key": "team", "Value": "x"}]
    assert rules["mpu"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}

    # edit r1 (rename it), a duplicate name is refused, delete one
    form = admin.get(rule_url + "?id=r1", **HTMX)
    assert form.context["form"].initial["noncurrent_days"] == 7
    dup = admin.post(save_url, {**base, "original_id": "r1", "rule_id": "tmp", "expire_days": "30"}, **HTMX)
    assert dup.status_code == 422 and "Another rule is already named “tmp”." in dup.text
    admin.post(
        save_url, {**base, "original_id": "r1", "rule_id": "logs", "status": "Disabled", "expire_days": "60"}, **HTMX
    )
    admin.post(url("lifecycle_rule_delete", endpoint, bucket), {"rule_id": "mpu"}, **HTMX)
    rules = {r["ID"]: r for r in s3client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(rules) == {"logs", "tmp"} and rules["logs"]["Status"] == "Disabled"
    assert rules["logs"]["Expiration"] == {"Days": 60} and "NoncurrentVersionExpiration" not in rules["logs"]

    # SeaweedFS does not implement transitions: said in place, nothing changed
    moved = admin.post(
        save_url, {**base, "rule_id": "t", "transition_days": "30", "transition_class": "STANDARD_IA"}, **HTMX
    )
    assert moved.status_code == 422 and "Not supported by this endpoint" in moved.text
    assert AuditEvent.objects.filter(action="bucket.lifecycle.put", outcome="ok").count() == 4
    assert AuditEvent.objects.filter(action="bucket.lifecycle.rule_delete", outcome="ok").count() == 1

    assert clients["operator"].post(save_url, {**base, "rule_id": "x", "expire_days": "1"}, **HTMX).status_code == 403
    assert clients["viewer"].post(url("lifecycle_rule_delete", endpoint, bucket), {"rule_id": "tmp"}).status_code == 403
    assert clients["nobody"].get(rule_url, **HTMX).status_code == 404
    removed = admin.post(url("bucket_setting_remove", endpoint, bucket, "lifecycle"), **HTMX)
    assert "No lifecycle rules" in removed.text


def test_object_lock_defaults(clients, endpoint, readonly_endpoint, s3client, make_bucket):
    admin = clients["admin"]
    plain = make_bucket("nolock")
    record(endpoint, plain)
    shown = admin.get(url("bucket_setting", endpoint, plain, "object-lock"), **HTMX)
    assert "It can be enabled on a versioned bucket, and then never turned off" in shown.text
    form = admin.get(url("bucket_setting_edit", endpoint, plain, "object-lock"), **HTMX).text
    assert "Enable object lock on this bucket" in form and "cannot be turned off again" in form
    enable = url("bucket_setting_save", endpoint, plain, "object-lock")
    unticked = admin.post(enable, {"lock_enabled": "", "mode": "GOVERNANCE", "days": "1"}, **HTMX)
    assert unticked.status_code == 422 and "Tick “Enable object lock on this bucket”" in unticked.text
    assert "(NotEditable)" not in unticked.text and 'name="enable"' in unticked.text  # the box is still there
    unversioned = admin.post(enable, {"lock_enabled": "", "enable": "on"}, **HTMX)
    assert unversioned.status_code == 422 and "needs versioning: turn versioning on first" in unversioned.text
    with pytest.raises(s3client.exceptions.ClientError, match="ObjectLockConfigurationNotFound"):
        s3client.get_object_lock_configuration(Bucket=plain)  # nothing was written
    s3client.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3client.put_object(Bucket=plain, Key="already-here.txt", Body=b"x")  # S3 allows it on a bucket in use
    enabled = admin.post(enable, {"lock_enabled": "", "enable": "on", "mode": "GOVERNANCE", "days": "2"}, **HTMX)
    assert enabled.status_code == 200 and "Governance</strong>, 2 days" in enabled.text
    config = s3client.get_object_lock_configuration(Bucket=plain)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}
    events = AuditEvent.objects.filter(action="bucket.object_lock.put").order_by("seq")
    assert [e.outcome for e in events] == ["failed", "failed", "ok"]

    locked = f"lock-{plain[7:]}"
    s3client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    try:
        record(endpoint, locked)
        save = url("bucket_setting_save", endpoint, locked, "object-lock")
        with no_s3_calls():
            both = admin.post(save, {"mode": "GOVERNANCE", "days": "3", "years": "1"}, **HTMX)
        assert both.status_code == 422 and "in days or in years (one of them)" in both.text
        done = admin.post(save, {"mode": "COMPLIANCE", "years": "1"}, **HTMX)
        assert done.status_code == 200 and "Compliance</strong>, 1 year" in done.text
        rule = s3client.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"]
        assert rule == {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}
        assert AuditEvent.objects.filter(action="bucket.object_lock.put").latest("seq").after["years"] == 1
        # the read-only identity is refused by S3: shown in the form
        record(readonly_endpoint, locked)
        ro = url("bucket_setting_save", readonly_endpoint, locked, "object-lock")
        refused = admin.post(ro, {"mode": "GOVERNANCE", "days": "1"}, **HTMX)
        assert refused.status_code == 422 and "(AccessDenied)" in refused.text
        # versioning cannot be suspended on a lock bucket: S3's refusal in place
        refused = admin.post(
            url("bucket_setting_save", endpoint, locked, "versioning"), {"status": "Suspended"}, **HTMX
        )
        assert refused.status_code == 422 and "InvalidBucketState" in refused.text
    finally:
        s3client.delete_bucket(Bucket=locked)


def test_without_javascript(clients, endpoint, bucket, s3client):
    """Plain requests get a page with the partial; a plain POST redirects back to the bucket page."""
    admin = clients["admin"]
    page = admin.get(url("bucket_setting", endpoint, bucket, "tags"))
    assert page.status_code == 200 and "<html" in page.text and "No tags." in page.text
    done = admin.post(url("bucket_setting_save", endpoint, bucket, "tags"), {"tag_key": ["a"], "tag_value": ["b"]})
    assert done.status_code == 302 and done["Location"].endswith("#setting-tags")
    assert s3client.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "a", "Value": "b"}]


ADMIN_POSTS = [
    *[("bucket_setting_save", (slug,)) for slug in ("object-lock", "website", "public-access-block")],
    *[("bucket_setting_remove", (slug,)) for slug in ("website", "public-access-block", "cors", "lifecycle")],
    ("bucket_policy_review", ()),
    ("bucket_policy_editor", ()),
    ("lifecycle_rule_save", ()),
    ("lifecycle_rule_delete", ()),
]


@pytest.mark.parametrize(("name", "extra"), ADMIN_POSTS, ids=[f"{n}{'-' + e[0] if e else ''}" for n, e in ADMIN_POSTS])
def test_every_change_needs_admin(name, extra, clients, endpoint, bucket):
    """Refused before any S3 call: 403 (audited) for viewer and operator, 404 without a role on the endpoint."""
    target = url(name, endpoint, bucket, *extra)
    with no_s3_calls():
        for who in ("viewer", "operator"):
            assert clients[who].post(target, {"policy": "{}"}, **HTMX).status_code == 403
        assert clients["nobody"].post(target, **HTMX).status_code == 404
    assert AuditEvent.objects.filter(outcome="denied", bucket=bucket).count() == 2
    assert clients["admin"].get(target).status_code == 405  # changes are POST only


def test_versioning_is_never_switched_on_by_an_unchanged_save(clients, endpoint, bucket, s3client):
    """Versioning cannot be turned off again: the edit form of a never-versioned bucket picks nothing."""
    admin = clients["admin"]
    form = admin.get(url("bucket_setting_edit", endpoint, bucket, "versioning"), **HTMX)
    assert form.status_code == 200 and "checked" not in form.text
    with no_s3_calls():
        saved = admin.post(url("bucket_setting_save", endpoint, bucket, "versioning"), {}, **HTMX)
    assert saved.status_code == 422 and "This field is required." in saved.text
    assert "Status" not in s3client.get_bucket_versioning(Bucket=bucket)


def test_saving_no_cors_rules_on_a_bucket_without_any_sends_no_delete(clients, endpoint, bucket):
    from buckets import s3

    before = s3.CALL_COUNTS["DeleteBucketCors"]
    saved = clients["admin"].post(url("bucket_setting_save", endpoint, bucket, "cors"), {"rules": ""}, **HTMX)
    assert saved.status_code == 200
    assert s3.CALL_COUNTS["DeleteBucketCors"] == before


def test_sse_kms_that_breaks_uploads_is_put_back(clients, endpoint, bucket, s3client):
    """SeaweedFS accepts SSE-KMS as the default without a KMS, then refuses every upload: the console tries
    a test write, puts the previous setting back and says why; the audit row is a failure."""
    s3client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    admin = clients["admin"]
    form = admin.get(url("bucket_setting_edit", endpoint, bucket, "encryption"), **HTMX)
    seen = form.context["s"]["form"]["seen"].value()
    answer = admin.post(
        url("bucket_setting_save", endpoint, bucket, "encryption"), {"seen": seen, "algorithm": "aws:kms"}, **HTMX
    )
    assert answer.status_code == 422 and "Uploads fail with this default encryption" in answer.text
    assert "previous setting was put back" in answer.text
    rule = s3client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    event = AuditEvent.objects.get(action="bucket.encryption.put")
    assert event.outcome == "failed"
    s3client.put_object(Bucket=bucket, Key="after.txt", Body=b"uploads still work")
    listed = [o["Key"] for o in s3client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == ["after.txt"], "the test write was removed"


def test_sse_kms_is_proved_in_an_object_lock_bucket_without_default_retention(clients, endpoint, s3client):
    """Object lock alone does not keep a test object (no default retention): the probe is made there too."""
    locked = f"lock-kms-{uuid.uuid4().hex[:12]}"
    s3client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    try:
        record(endpoint, locked)
        admin = clients["admin"]
        seen = admin.get(url("bucket_setting_edit", endpoint, locked, "encryption"), **HTMX).context["s"]["form"]
        answer = admin.post(
            url("bucket_setting_save", endpoint, locked, "encryption"),
            {"seen": seen["seen"].value(), "algorithm": "aws:kms"}, **HTMX,
        )  # fmt: skip
        assert answer.status_code == 422 and "previous setting was put back" in answer.text
        with pytest.raises(s3client.exceptions.ClientError):
            s3client.get_bucket_encryption(Bucket=locked)  # none before, none after
        assert not s3client.list_object_versions(Bucket=locked).get("Versions"), "the test write was removed"
    finally:
        s3client.delete_bucket(Bucket=locked)


def test_acls_are_not_editable_when_ownership_disables_them(clients, endpoint, bucket, s3client):
    s3client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    admin = clients["admin"]
    shown = admin.get(url("bucket_setting", endpoint, bucket, "acl"), **HTMX)
    assert "ACLs are disabled" in shown.text and url("bucket_setting_edit", endpoint, bucket, "acl") not in shown.text
    # A crafted save is refused too (SeaweedFS itself would accept it and ignore ownership).
    grants = {"canned": "public-read", "seen": ""}
    refused = admin.post(url("bucket_setting_save", endpoint, bucket, "acl"), grants, **HTMX)
    assert refused.status_code == 422 and "ACLs are disabled" in refused.text
    holders = [g["Grantee"].get("URI", "") for g in s3client.get_bucket_acl(Bucket=bucket)["Grants"]]
    assert not any(u.endswith("AllUsers") for u in holders)


def test_object_acls_are_not_editable_when_ownership_disables_them(clients, endpoint, bucket, s3client):
    from tests.objects_fixtures import section_url

    s3client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3client.put_object(Bucket=bucket, Key="k.txt", Body=b"1")
    admin = clients["admin"]
    shown = admin.get(section_url("show", "acl", endpoint, bucket, key="k.txt"), **HTMX)
    assert "ACLs are disabled" in shown.text and section_url("edit", "acl", endpoint, bucket) not in shown.text
    refused = admin.post(
        section_url("save", "acl", endpoint, bucket), {"key": "k.txt", "canned": "public-read"}, **HTMX
    )
    assert refused.status_code == 422 and "ACLs are disabled" in refused.text
    grants = s3client.get_object_acl(Bucket=bucket, Key="k.txt")["Grants"]
    assert not any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)


def test_an_answer_that_means_none_is_not_logged_as_a_failure(endpoint, make_bucket, caplog):
    bucket = make_bucket("quiet")
    with caplog.at_level("DEBUG", logger="buckets.s3"):
        assert s3.get_bucket_cors(endpoint=endpoint, bucket=bucket) == []  # no CORS configuration: an answer
        with pytest.raises(s3.S3Error):
            s3.get_bucket_cors(endpoint=endpoint, bucket=bucket + "-missing")  # no bucket: a failure
    levels = {r.getMessage().split(" (request id")[0]: r.levelname for r in caplog.records}
    assert levels == {
        "S3 get_bucket_cors on endpoint local failed: NoSuchCORSConfiguration": "DEBUG",
        "S3 get_bucket_cors on endpoint local failed: NoSuchBucket": "INFO",
    }
