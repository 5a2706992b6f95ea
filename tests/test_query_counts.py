"""The database queries of every main page, counted, so a page that starts querying per row fails here.

Each page is requested once to warm what a process keeps (the "not supported" memory, the S3 client),
then counted on the second request with several rows of everything it lists (buckets, events, users,
groups, objects): a query per row would multiply. The object list must also make exactly one S3 call,
its ListObjectsV2 (the S3 layer counts calls).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from buckets import s3
from buckets.models import Bucket, Job
from console.models import Endpoint, Role, RoleAssignment
from tests.audit_helpers import event
from tests.objects_fixtures import s3_calls

# page → the most queries it may make on the counted request (session and user included)
PAGES = {
    "login": 0,
    "dashboard": 13,  # 9, and the drift and alert panels: outside lines and count, alerts (each with undelivered)
    "bucket_list": 7,  # 6, and the sizes from the bucket index (one query)
    "bucket_detail": 7,  # 5, and its sections filled inline: what the endpoint does not implement, the public state
    "bucket_settings_all": 8,  # 7, and one of headroom: a read failing under load is remembered (seen in CI)
    "object_list": 5,  # 4, and whether the bucket index can give folder sizes
    "object_versions": 4,
    "object_detail": 5,
    "multipart_list": 4,
    "audit_list": 6,  # 5, and the change counters the page is kept under (console/fragments.py)
    "user_list": 11,
    "group_detail": 10,
    "endpoint_list": 4,
    "job_detail": 5,  # 4, and whether its bucket is still known (no link to a deleted bucket)
}


@pytest.fixture
def site(endpoint, make_bucket, s3client, admin_user, django_user_model):
    """Several rows of everything the pages list."""
    bucket = make_bucket("qc", versioned=True)
    for key in ["a.txt", "b.txt", "docs/c.txt", "docs/d.txt", "e.txt"]:
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"second")
    s3client.create_multipart_upload(Bucket=bucket, Key="big.bin")
    Bucket.objects.create(endpoint=endpoint, name=bucket, created=timezone.now(), is_public=True)
    other = Endpoint.objects.create(name="other", url="http://127.0.0.1:9")
    now = timezone.now()
    for i in range(6):
        Bucket.objects.create(
            endpoint=other, name=f"rec-{i}", created=now, last_synced=now, counted_at=now if i % 2 else None,
            object_count=i, total_bytes=i * 1000, is_public=i == 3, public_checked_at=now,
        )  # fmt: skip
    group = Group.objects.create(name="team")
    for i in range(4):
        user = django_user_model.objects.create_user(username=f"member{i}", password="pw-member-123456")
        user.groups.add(group)
        RoleAssignment.objects.create(user=user, role=Role.VIEWER, endpoint=endpoint, bucket=f"b{i}")
    RoleAssignment.objects.create(group=group, role=Role.OPERATOR, endpoint=endpoint)
    for i in range(6):
        event("alice", "object.put", endpoint=endpoint, bucket=bucket, key=f"k{i}", outcome=["ok", "failed"][i % 2])
    event("alice", "auth.login.failed", params={"source": "local", "reason": "bad password"}, outcome="denied")
    job = Job.objects.create(
        kind="count", title=f"Count objects in {bucket}", status=Job.Status.DONE, endpoint=endpoint, bucket=bucket,
        actor=admin_user, total=5, done=5, started_at=now - timedelta(seconds=3), finished_at=now,
    )  # fmt: skip
    args = [endpoint.pk, bucket]
    return {
        "login": reverse("login"),
        "dashboard": reverse("dashboard"),
        "bucket_list": reverse("bucket_list"),
        "bucket_detail": reverse("bucket_detail", args=args),
        "bucket_settings_all": reverse("bucket_settings_all", args=args),
        "object_list": reverse("object_list", args=args),
        "object_versions": reverse("object_list", args=args) + "?versions=1",
        "object_detail": reverse("object_detail", args=args) + "?key=a.txt",
        "multipart_list": reverse("multipart_list", args=args),
        "audit_list": reverse("audit_list"),
        "user_list": reverse("user_list"),
        "group_detail": reverse("group_detail", args=[group.pk]),
        "endpoint_list": reverse("endpoint_list"),
        "job_detail": reverse("job_detail", args=[job.pk]),
    }


# Pages whose output is kept (console/fragments.py) until what they show changes: loaded again, the
# session, the user, their roles and the change counters.
KEPT = {"dashboard": 4, "bucket_list": 4, "audit_list": 4}


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count(page, site, admin_user, django_assert_max_num_queries, django_assert_num_queries):
    client = Client()
    if page != "login":
        client.force_login(admin_user)
    headers = {"HTTP_HX_REQUEST": "true"} if page == "bucket_settings_all" else {}
    assert client.get(site[page], **headers).status_code == 200
    caches["pages"].clear()  # built again: what a change of its records costs
    with django_assert_max_num_queries(PAGES[page]):
        assert client.get(site[page], **headers).status_code == 200
    if page in KEPT:
        with django_assert_num_queries(KEPT[page]):
            assert client.get(site[page], **headers).status_code == 200


def test_object_list_makes_one_s3_call_its_listing(site, admin_user):
    client = Client()
    client.force_login(admin_user)
    client.get(site["object_list"])  # warm: the upload panel's CORS state is then cached
    before = s3.CALL_COUNTS.copy()
    response = client.get(site["object_list"])
    assert response.status_code == 200 and b"e.txt" in response.content
    assert s3_calls(s3.CALL_COUNTS - before) == {"ListObjectsV2": 1}


@pytest.mark.django_db
def test_a_quiet_dashboard_reads_no_list_its_count_says_is_empty(admin_user, django_assert_num_queries):
    """No failure, no public bucket, no drift, no alert: their lists are not read (four queries fewer)."""
    endpoint = Endpoint.objects.create(name="quiet", url="http://127.0.0.1:9")
    Bucket.objects.create(endpoint=endpoint, name="calm", is_public=False)
    event("alice", "object.put", endpoint=endpoint, bucket="calm", key="k")
    client = Client()
    client.force_login(admin_user)
    client.get(reverse("dashboard"))
    caches["pages"].clear()  # built, not kept
    # session, user, their roles; bucket overview: endpoints, counts; events: tally, recent; drift and
    # alerts: their rows; the change counters it is then kept under
    with django_assert_num_queries(10):
        page = client.get(reverse("dashboard")).content.decode()
    assert "None. All good." in page and "Nothing seen by the drift check." in page
    assert "None known. A bucket's public state is checked" in page
