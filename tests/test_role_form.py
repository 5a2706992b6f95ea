"""The role form: a scope chosen on purpose, buckets from the known records, and a live count of the keys
the bucket or prefix holds (against SeaweedFS, bounded)."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from buckets import s3
from buckets.models import Bucket
from console import role_views
from console.models import AuditEvent, RoleAssignment
from tests.objects_fixtures import fast_client, put_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def frank(django_user_model):
    return django_user_model.objects.create_user("frank", password="pw-frank-123456")


def _preview(client, **query) -> str:
    response = client.get(reverse("role_scope_preview"), query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"</?span[^>]*>", "", response.content.decode())))


def test_the_scope_has_no_default(admin_client, frank):
    page = admin_client.get(reverse("user_detail", args=[frank.pk])).content.decode()
    radios = re.findall(r'<input type="radio" name="scope"[^>]*>', page)
    assert len(radios) == 4 and not any("checked" in r for r in radios)
    assert "All endpoints (everything)" not in page and "Choose an endpoint" in page
    url = reverse("user_role_assign", args=[frank.pk])
    response = admin_client.post(url, {"role": "admin"})
    assert response.status_code == 422 and "Choose what the role covers." in response.content.decode()
    assert not RoleAssignment.objects.filter(user=frank).exists()
    assert not AuditEvent.objects.filter(action="role.assign").exists()


def test_fields_must_agree_with_the_scope(admin_client, frank, endpoint):
    Bucket.objects.create(endpoint=endpoint, name="known")
    url = reverse("user_role_assign", args=[frank.pk])
    for data, message in [
        ({"scope": "everything", "endpoint": endpoint.pk}, "Leave this empty for “Everything"),
        ({"scope": "endpoint"}, "Choose an endpoint"),
        ({"scope": "endpoint", "endpoint": endpoint.pk, "bucket": "known"}, "Leave this empty for “One endpoint"),
        ({"scope": "bucket", "endpoint": endpoint.pk, "bucket": "known", "prefix": "a/"}, "Leave this empty"),
        ({"scope": "prefix", "endpoint": endpoint.pk, "bucket": "known"}, "Choose a prefix"),
    ]:
        response = admin_client.post(url, {"role": "viewer", **data})
        assert response.status_code == 422 and message in html.unescape(response.content.decode()), data
    assert not RoleAssignment.objects.filter(user=frank).exists()
    ok = {"role": "viewer", "scope": "endpoint", "endpoint": endpoint.pk}
    assert admin_client.post(url, ok).status_code == 302
    assert RoleAssignment.objects.get(user=frank).scope_label == "local"


def test_the_preview_lists_known_buckets_and_warns_of_unknown_ones(admin_client, endpoint):
    for name in ("alpha", "beta"):
        Bucket.objects.create(endpoint=endpoint, name=name)
    s3.CALL_COUNTS.clear()
    page = _preview(admin_client, scope="bucket", endpoint=endpoint.pk)
    assert '<option value="alpha">' in page and '<option value="beta">' in page
    assert "Pick one of the 2 known buckets of local" in page
    assert _preview(admin_client, scope="everything").count("Everything: every bucket of every endpoint") == 1
    assert "All buckets of local: 2 known now" in _preview(admin_client, scope="endpoint", endpoint=endpoint.pk)
    assert "lowercase" in _preview(admin_client, scope="bucket", endpoint=endpoint.pk, bucket="Bad_Name")
    assert dict(s3.CALL_COUNTS) == {}, "no S3 call until a bucket is named"
    missing = _preview(admin_client, scope="bucket", endpoint=endpoint.pk, bucket="no-such-bucket-here")
    assert "knows no bucket “no-such-bucket-here” on local" in missing
    assert "There is no bucket “no-such-bucket-here” on local." in missing


def test_the_preview_counts_the_keys_a_prefix_matches_now(admin_client, endpoint, seaweed, make_bucket, monkeypatch):
    bucket = make_bucket("scope")
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    put_many(fast_client(seaweed), bucket, [f"team-a/{i}.txt" for i in range(3)] + ["TEAM-A/x.txt", "other.txt"])
    query = {"scope": "prefix", "endpoint": endpoint.pk, "bucket": bucket}
    assert "Keys starting with “team-a/”: 3 keys now." in _preview(admin_client, **query, prefix="team-a/")
    assert "no keys yet." in _preview(admin_client, **query, prefix="team-b/")
    assert "The bucket holds 5 keys now." in _preview(admin_client, **{**query, "scope": "bucket"})
    # Bounded: at most PREVIEW_PAGES listings, then "more than".
    monkeypatch.setattr(role_views, "PREVIEW_PAGES", 1)
    monkeypatch.setattr(s3.listing, "PAGE_SIZE", 2)
    s3.CALL_COUNTS.clear()
    assert "more than 2 keys now." in _preview(admin_client, **query, prefix="team-a/")
    assert s3.CALL_COUNTS["ListObjectsV2"] <= 2


def test_a_bucket_not_synced_yet_is_given_after_the_warning(admin_client, frank, endpoint, make_bucket):
    bucket = make_bucket("unsynced")  # exists on the server, not in the console's records
    url = reverse("user_role_assign", args=[frank.pk])
    data = {"role": "operator", "scope": "prefix", "endpoint": endpoint.pk, "bucket": bucket, "prefix": "in/"}
    first = admin_client.post(url, data)
    body = html.unescape(first.content.decode())
    assert first.status_code == 422 and f"knows no bucket “{bucket}”" in body and "not synced yet" in body
    assert admin_client.post(url, {**data, "unknown_bucket": "on"}).status_code == 302
    assert RoleAssignment.objects.get(user=frank).scope_label == f"local / {bucket} / in/*"
