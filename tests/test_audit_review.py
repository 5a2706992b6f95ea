"""Audit review: filters, keyset pages, who sees what, details with diff, history partial, export, dashboard."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buckets.models import Bucket
from console import audit_chain
from console.models import AuditEvent, Role, RoleAssignment
from tests.audit_helpers import at, event, plain_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(db):
    """Four events on two endpoints (the same bucket name on both), plus one console-admin event."""
    ep1, ep2 = plain_endpoint("ep-one"), plain_endpoint("ep-two")
    events = {
        "create": event("alice", "bucket.create", endpoint=ep1, bucket="b1", when=at(1, 10)),
        "delete": event(
            "bob", "object.delete", endpoint=ep1, bucket="b1", key="logs/a.txt", outcome="failed", when=at(2, 9)
        ),
        "meta": event(
            "alice", "object.metadata.put", endpoint=ep2, bucket="b2", key="img/x.png", outcome="denied", when=at(3, 8)
        ),
        "policy": event("carol", "bucket.policy.put", endpoint=ep2, bucket="b1", when=at(4, 23, 59)),
        "user": event("alice", "user.create", params={"username": "dave"}, when=at(5, 7)),
    }
    return ep1, ep2, events


def shown(response) -> set[int]:
    return {e.pk for e in response.context["events"]}


def ids(events: dict, *names: str) -> set[int]:
    return {events[name].pk for name in names}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"create", "delete", "meta", "policy", "user"}),
        ({"actor": "alice"}, {"create", "meta", "user"}),
        ({"action": "bucket."}, {"create", "policy"}),
        ({"action": "object.metadata"}, {"meta"}),
        ({"endpoint": "ep2"}, {"meta", "policy"}),
        ({"bucket": "b1"}, {"create", "delete", "policy"}),
        ({"endpoint": "ep1", "bucket": "b1"}, {"create", "delete"}),
        ({"key": "logs/"}, {"delete"}),
        ({"key": "LOGS/"}, set()),  # with its case, on SQLite too
        ({"outcome": "failed"}, {"delete"}),
        ({"outcome": "denied"}, {"meta"}),
        ({"outcome": "ok", "actor": "alice"}, {"create", "user"}),
        ({"date_from": "2026-01-02", "date_to": "2026-01-04"}, {"delete", "meta", "policy"}),
        ({"date_to": "2026-01-01"}, {"create"}),
        ({"date_from": "2026-01-05"}, {"user"}),
    ],
)
def test_each_filter_selects_its_events(admin_client, trail, query, expected):
    ep1, ep2, events = trail
    endpoint_ids = {"ep1": ep1.pk, "ep2": ep2.pk}
    params = {k: endpoint_ids.get(v, v) if k == "endpoint" else v for k, v in query.items()}
    response = admin_client.get(reverse("audit_list"), params)
    assert response.status_code == 200
    assert shown(response) == ids(events, *expected)
    for pk in ids(events, *expected):
        assert reverse("audit_detail", args=[pk]) in response.content.decode()


def test_bad_filters_are_reported_and_show_nothing(admin_client, trail):
    response = admin_client.get(reverse("audit_list"), {"date_from": "2026-01-05", "date_to": "2026-01-01"})
    assert response.status_code == 200
    assert "“To” is before “From”." in response.content.decode()
    assert response.context["events"] == []
    response = admin_client.get(reverse("audit_list"), {"cursor": "not-a-cursor"})
    assert "This page link is damaged" in response.content.decode()


def test_keyset_pages_have_no_duplicates_or_gaps_with_equal_timestamps(admin_client, db):
    ep = plain_endpoint("ep-one")
    # 123 events sharing only 9 distinct instants: page boundaries fall inside runs of equal created_at.
    for i in range(123):
        event("alice" if i % 3 else "bob", "object.put", endpoint=ep, bucket="b", key=f"k{i}", when=at(1, 10, i // 14))
    expected = list(AuditEvent.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    for query, want in [({}, expected), ({"actor": "alice"}, None)]:
        if want is None:
            alice = AuditEvent.objects.filter(actor_name="alice")
            want = list(alice.order_by("-created_at", "-id").values_list("pk", flat=True))
        seen, params, pages = [], dict(query), 0
        while True:
            response = admin_client.get(reverse("audit_list"), params)
            pages += 1
            seen += [e.pk for e in response.context["events"]]
            cursor = response.context["next_cursor"]
            if not cursor:
                assert "Older →" not in response.content.decode()
                break
            assert "Older →" in response.content.decode()
            params = {**query, "cursor": cursor}
        assert seen == want  # same order, nothing twice, nothing skipped
        assert pages == -(-len(want) // 50)
    # "Newest" appears on older pages and leads back to the first page.
    response = admin_client.get(reverse("audit_list"), {"cursor": params["cursor"]})
    assert "« Newest" in response.content.decode()
    assert "« Newest" not in admin_client.get(reverse("audit_list")).content.decode()


def test_page_query_count_does_not_grow_with_events(client, db, django_assert_num_queries):
    ep = plain_endpoint("ep-one")
    user = _scoped_user("sam", Role.VIEWER, endpoint=ep, bucket="b")
    RoleAssignment.objects.create(user=user, role=Role.VIEWER, endpoint=ep, bucket="c", prefix="x/")
    client.force_login(user)
    client.get(reverse("dashboard"))  # the first request of a session also slides its expiry
    for i in range(3):
        event("sam", "object.put", endpoint=ep, bucket="b", key=f"k{i}", user=user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("audit_list")).status_code == 200
    for i in range(120):
        event("sam", "object.put", endpoint=ep, bucket="b", key=f"more{i}", user=user)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("audit_list"), {"bucket": "b"})
    assert len(response.context["events"]) == 50


def _scoped_user(username, role, **scope):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password="pw-" + username + "-123456")
    RoleAssignment.objects.create(user=user, role=role, **scope)
    return user


def test_non_admins_see_only_events_in_their_scopes_and_their_own(client, trail):
    ep1, ep2, events = trail
    bucket_viewer = _scoped_user("bea", Role.VIEWER, endpoint=ep1, bucket="b1")
    own = event("bea", "object.put", endpoint=ep2, bucket="b2", key="mine", outcome="denied", user=bucket_viewer)
    client.force_login(bucket_viewer)
    assert shown(client.get(reverse("audit_list"))) == ids(events, "create", "delete") | {own.pk}
    assert client.get(reverse("audit_detail", args=[events["meta"].pk])).status_code == 404
    assert client.get(reverse("audit_detail", args=[events["user"].pk])).status_code == 404
    assert client.get(reverse("audit_detail", args=[events["create"].pk])).status_code == 200
    # Filters narrow inside what is visible, never widen it.
    assert shown(client.get(reverse("audit_list"), {"endpoint": ep2.pk})) == set()
    assert shown(client.get(reverse("audit_list"), {"actor": "carol"})) == set()

    prefix_user = _scoped_user("pia", Role.OPERATOR, endpoint=ep1, bucket="b1", prefix="logs/")
    client.force_login(prefix_user)
    assert shown(client.get(reverse("audit_list"))) == ids(events, "delete")

    endpoint_user = _scoped_user("eve", Role.VIEWER, endpoint=ep2)
    client.force_login(endpoint_user)
    assert shown(client.get(reverse("audit_list"))) == ids(events, "meta", "policy") | {own.pk}

    # A global non-admin role covers every endpoint's events, not console administration.
    global_viewer = _scoped_user("gus", Role.VIEWER)
    client.force_login(global_viewer)
    assert shown(client.get(reverse("audit_list"))) == ids(events, "create", "delete", "meta", "policy") | {own.pk}

    nobody = _scoped_user("nil", Role.VIEWER, endpoint=plain_endpoint("ep-three"))
    client.force_login(nobody)
    assert shown(client.get(reverse("audit_list"))) == set()
    body = b"".join(client.get(reverse("audit_export_jsonl")).streaming_content)
    assert body == b""


def test_detail_shows_before_and_after_as_a_diff(admin_client, db):
    ep = plain_endpoint("ep-one")
    before = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject"}]}
    after = json.dumps({**before, "Statement": [{**before["Statement"][0], "Effect": "Allow"}]})  # a JSON string
    ev = event(
        "alice",
        "bucket.policy.put",
        endpoint=ep,
        bucket="b1",
        key="<script>alert(1)</script>",
        params={"source": "editor"},
        before=before,
        after=after,
    )
    response = admin_client.get(reverse("audit_detail", args=[ev.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span class="del">-      &quot;Effect&quot;: &quot;Deny&quot;,</span>' in html
    assert '<span class="add">+      &quot;Effect&quot;: &quot;Allow&quot;,</span>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&quot;source&quot;: &quot;editor&quot;" in html
    assert "matches its hash" in html and ev.hash in html

    for value_before, value_after in [(None, {"Rules": [{"ID": "r1"}]}), ({"a": 1}, None), ({"a": 1}, {"a": 1})]:
        ev = event("alice", "bucket.lifecycle.put", endpoint=ep, bucket="b1", before=value_before, after=value_after)
        html = admin_client.get(reverse("audit_detail", args=[ev.pk])).content.decode()
        if value_before == value_after:
            assert "Before and after are identical." in html
        elif value_before is None:
            assert '<span class="add">+      &quot;ID&quot;: &quot;r1&quot;</span>' in html
        else:
            assert '<span class="del">-  &quot;a&quot;: 1</span>' in html


def test_history_partial_per_bucket_and_per_object(client, admin_user, trail):
    ep1, ep2, events = trail
    setting = event("alice", "bucket.versioning.put", endpoint=ep1, bucket="b1", params={"status": "Enabled"})
    url = reverse("audit_history")
    viewer = _scoped_user("vic", Role.VIEWER, endpoint=ep1, bucket="b1")
    client.force_login(viewer)

    response = client.get(url, {"endpoint": ep1.pk, "bucket": "b1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [e.pk for e in response.context["events"]] == [setting.pk, events["delete"].pk, events["create"].pk]
    assert "<html" not in response.content.decode()  # a partial

    response = client.get(url, {"endpoint": ep1.pk, "bucket": "b1", "only": "bucket"})
    assert [e.pk for e in response.context["events"]] == [setting.pk, events["create"].pk]

    response = client.get(url, {"endpoint": ep1.pk, "bucket": "b1", "key": "logs/a.txt"})
    assert [e.pk for e in response.context["events"]] == [events["delete"].pk]
    assert "object.delete" in response.content.decode()

    # Not visible: 404; visible but no role on that bucket: 403 and a denied event.
    assert client.get(url, {"endpoint": ep2.pk, "bucket": "b1"}).status_code == 404
    other_bucket_user = _scoped_user("ola", Role.VIEWER, endpoint=ep1, bucket="zz")
    client.force_login(other_bucket_user)
    assert client.get(url, {"endpoint": ep1.pk, "bucket": "b1"}).status_code == 404
    prefix_user = _scoped_user("pip", Role.VIEWER, endpoint=ep1, bucket="b1", prefix="logs/")
    client.force_login(prefix_user)
    assert client.get(url, {"endpoint": ep1.pk, "bucket": "b1", "key": "logs/a.txt"}).status_code == 200
    assert client.get(url, {"endpoint": ep1.pk, "bucket": "b1", "key": "secret.txt"}).status_code == 403
    assert AuditEvent.objects.filter(actor_name="pip", action="audit.history", outcome="denied").exists()
    # A prefix user who may browse the bucket sees only the events under their prefix.
    response = client.get(url, {"endpoint": ep1.pk, "bucket": "b1"})
    assert response.status_code == 200
    assert [(e.key, e.actor_name) for e in response.context["events"]] == [("secret.txt", "pip"), ("logs/a.txt", "bob")]

    client.logout()
    assert client.get(url, {"endpoint": ep1.pk, "bucket": "b1"}).status_code == 302


def _parse_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def test_exports_stream_the_filtered_events(admin_client, trail):
    ep1, ep2, events = trail
    formula = event("mallory", "object.put", endpoint=ep1, bucket="b1", key="=HYPERLINK(evil)", when=at(6))
    query = {"endpoint": ep1.pk, "bucket": "b1"}

    response = admin_client.get(reverse("audit_export_csv") + "?" + urlencode(query))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows = _parse_csv(response)
    assert [int(r["id"]) for r in rows] == [events["create"].pk, events["delete"].pk, formula.pk]  # oldest first
    assert rows[1]["key"] == "logs/a.txt" and rows[1]["outcome"] == "failed" and rows[1]["actor_name"] == "bob"
    assert rows[2]["key"] == "'=HYPERLINK(evil)"  # a spreadsheet must not run it
    assert json.loads(rows[0]["params"]) == {} and rows[0]["hash"] == events["create"].hash

    response = admin_client.get(reverse("audit_export_jsonl"), {"outcome": "denied"})
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = b"".join(response.streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [events["meta"].pk]
    assert records[0] == json.loads(json.dumps(audit_chain.export_record(events["meta"])))
    assert records[0]["key"] == "img/x.png" and records[0]["outcome"] == "denied"

    response = admin_client.get(reverse("audit_export_jsonl"), {"action": "bucket.", "date_from": "2026-01-02"})
    assert [json.loads(line)["id"] for line in b"".join(response.streaming_content).splitlines()] == [
        events["policy"].pk
    ]
    assert admin_client.get(reverse("audit_export_csv"), {"date_from": "nope"}).status_code == 400


def test_export_reads_in_chunks(admin_client, db, monkeypatch):
    from console import audit_views

    monkeypatch.setattr(audit_views, "EXPORT_CHUNK", 7)
    for i in range(30):
        event("alice", "object.put", bucket="b", key=f"k{i:02d}")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("audit_export_jsonl"))
        lines = b"".join(response.streaming_content).splitlines()
    assert len(lines) == 30
    selects = [q["sql"] for q in queries.captured_queries if "console_auditevent" in q["sql"]]
    if connection.vendor == "sqlite":  # no server-side cursors: one fetch, then chunked reads of it
        assert len(selects) == 1
    assert [json.loads(line)["key"] for line in lines] == [f"k{i:02d}" for i in range(30)]


def _card(html: str, title: str) -> str:
    """The inside of the dashboard card headed ``title``."""
    found = re.search(rf"<h2>{re.escape(title)}</h2>(.*?)</section>", html, re.S)
    assert found, title
    return found.group(1)


def _stat(html: str, label: str) -> int:
    return int(re.search(rf'<div class="value">(\d+)</div><div class="label">{re.escape(label)}</div>', html).group(1))


def _event_ids(card: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/audit/(\d+)/"', card)}


def _public_names(html: str) -> list[str]:
    return re.findall(r'class="break">([^<]+)</a>', _card(html, "Public buckets"))


def test_dashboard_counts_every_public_bucket_and_links_to_them_all(admin_client, viewer_client, trail):
    ep1, ep2, _ = trail
    for i in range(12):
        Bucket.objects.create(endpoint=ep1, name=f"open-{i:02d}", is_public=True)
    Bucket.objects.create(endpoint=ep2, name="closed", is_public=False)

    html = admin_client.get(reverse("dashboard")).content.decode()
    assert _stat(html, "Public buckets") == 12 and _stat(html, "Buckets") == 13
    assert len(_public_names(html)) == 8  # named on the dashboard; the rest one click away
    assert 'href="/buckets/?public=1">All 12</a>' in html

    listed = admin_client.get(reverse("bucket_list"), {"public": "1"}).content.decode()
    assert listed.count('class="badge public"') == 12 and "closed" not in listed
    assert "open-05" in admin_client.get(reverse("bucket_list"), {"public": "1", "q": "05"}).content.decode()
    assert "closed" in admin_client.get(reverse("bucket_list")).content.decode()
    Bucket.objects.filter(is_public=True).update(is_public=False)
    assert (
        "No bucket is known to be public" in admin_client.get(reverse("bucket_list"), {"public": "1"}).content.decode()
    )


def test_dashboard_lists_public_buckets_and_problems_in_scope(client, admin_client, trail):
    ep1, ep2, events = trail
    Bucket.objects.create(endpoint=ep1, name="b1", is_public=True)
    Bucket.objects.create(endpoint=ep2, name="b2", is_public=True)
    Bucket.objects.create(endpoint=ep2, name="private-one", is_public=False)
    failed_now = event("bob", "object.delete", endpoint=ep1, bucket="b1", key="x", outcome="failed")
    denied_now = event("eve", "bucket.delete", endpoint=ep2, bucket="b2", outcome="denied")

    response = admin_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _public_names(html) == ["b1", "b2"]
    assert _stat(html, "Failed, last 24 h") == 1 and _stat(html, "Denied, last 24 h") == 1
    assert _stat(html, "Buckets") == 3
    assert _event_ids(_card(html, "Failed and denied (24 h)")) == {failed_now.pk, denied_now.pk}

    viewer = _scoped_user("bea", Role.VIEWER, endpoint=ep1, bucket="b1")
    client.force_login(viewer)
    html = client.get(reverse("dashboard")).content.decode()
    assert _public_names(html) == ["b1"]
    assert _stat(html, "Bucket") == 1
    assert "· 1 bucket</span>" in _card(html, "Endpoints") and "ep-two" not in _card(html, "Endpoints")
    assert _event_ids(_card(html, "Failed and denied (24 h)")) == {failed_now.pk}
    assert _stat(html, "Denied, last 24 h") == 0
    assert events["meta"].pk not in _event_ids(_card(html, "Recent activity"))
    # Whole words: "b2" also turns up inside the random CSRF token.
    assert not re.search(r"\bprivate-one\b|\bb2\b", re.sub(r"csrf[^>]*>", "", html, flags=re.I))
