"""/healthz (database and worker heartbeat, no login, no S3) and /metrics (protected, Prometheus text)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from buckets import s3
from buckets.models import Job
from console import health
from console.models import Endpoint, WorkerHeartbeat
from tests.audit_helpers import event

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
TOKEN = "a-metrics-token-for-the-tests"


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = DB_TASKS
    settings.WORKER_HEARTBEAT_MAX_AGE = 60


def heartbeat(seconds_ago: float, worker_id: str = "w1") -> WorkerHeartbeat:
    when = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(worker_id=worker_id, hostname="h", pid=1, started_at=when, last_seen=when)


# --- /healthz -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_healthz_without_a_worker_is_503_and_needs_no_login(client, db_tasks, django_assert_max_num_queries):
    calls = sum(s3.CALL_COUNTS.values())
    with django_assert_max_num_queries(3):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "database": {"status": "ok"},
            "worker": {"status": "missing", "detail": "no task worker is running (manage.py console_worker)"},
        },
    }
    assert "no-cache" in response["Cache-Control"]
    assert sum(s3.CALL_COUNTS.values()) == calls, "the health check makes no S3 call"
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_healthz_with_a_stale_heartbeat_is_503(client, db_tasks):
    heartbeat(seconds_ago=120)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["status"] == "stale" and worker["workers"] == 0
    assert 119 <= worker["last_seen_seconds_ago"] <= 180
    assert worker["detail"] == "no task worker reported in the last 60 seconds"


@pytest.mark.django_db
def test_healthz_with_a_fresh_heartbeat_is_200(client, db_tasks):
    heartbeat(seconds_ago=120, worker_id="old")
    heartbeat(seconds_ago=5, worker_id="new")
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["worker"]["status"] == "ok"
    assert response.json()["checks"]["worker"]["workers"] == 1
    assert client.head(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405


@pytest.mark.django_db
def test_healthz_without_a_database_worker_backend_checks_only_the_database(client):
    # tests/settings.py runs tasks in the request (ImmediateBackend): there is no worker to wait for.
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": {"status": "ok"}, "worker": {"status": "not used"}}


@pytest.mark.django_db
def test_healthz_when_the_database_fails_is_503_without_details(client, db_tasks, monkeypatch, caplog):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError('could not connect to server at "db.internal" as user "console"')

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": {"status": "unavailable"}, "worker": {"status": "unknown"}}
    assert b"db.internal" not in response.content
    assert "db.internal" in caplog.text, "the log says why"


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("login")).status_code == 301


@pytest.mark.django_db
def test_worker_heartbeat_row_lives_as_long_as_the_worker(db_tasks, client):
    WorkerHeartbeat.objects.create(
        worker_id="gone",
        hostname="h",
        pid=1,
        started_at=timezone.now() - timedelta(days=3),
        last_seen=timezone.now() - timedelta(days=2),
    )
    beat = health.Heartbeat("worker-1", interval=3600)
    beat.start()
    try:
        row = WorkerHeartbeat.objects.get(worker_id="worker-1")
        assert row.last_seen >= timezone.now() - timedelta(seconds=60)
        assert not WorkerHeartbeat.objects.filter(worker_id="gone").exists(), "rows of killed workers are pruned"
        assert client.get(reverse("healthz")).status_code == 200
    finally:
        beat.stop()
    assert not WorkerHeartbeat.objects.exists()
    assert client.get(reverse("healthz")).status_code == 503


# --- /metrics -------------------------------------------------------------------------------------
def scrape(client, **headers) -> dict[tuple, float]:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(values: dict, name: str, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_or_network(client, admin_client):
    assert client.get(reverse("metrics")).status_code == 404
    assert admin_client.get(reverse("metrics")).status_code == 404, "a login opens nothing either"


@pytest.mark.django_db
def test_metrics_refuse_a_missing_or_wrong_token(client, metrics_on):
    response = client.get(reverse("metrics"))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert b"console_" not in response.content
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_metrics_by_network(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get(reverse("metrics")).status_code == 403
    assert client.get(reverse("metrics"), HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403, "headers are no peer"
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert client.get(reverse("metrics")).status_code == 200
    settings.METRICS_TOKEN = TOKEN  # both set: both must hold
    assert client.get(reverse("metrics")).status_code == 401
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_metrics_count_requests_by_view_and_status(client, admin_client, metrics_on):
    before = scrape(client)
    admin_client.get(reverse("dashboard"))
    admin_client.get(reverse("dashboard"))
    admin_client.get("/no-such-page/")
    after = scrape(client)
    labels = {"view": "dashboard", "method": "GET", "status": "200"}
    assert (
        value(after, "console_http_requests_total", **labels) - value(before, "console_http_requests_total", **labels)
        == 2
    )
    missing = {"view": "unresolved", "method": "GET", "status": "404"}
    assert (
        value(after, "console_http_requests_total", **missing) - value(before, "console_http_requests_total", **missing)
        == 1
    )
    count = value(after, "console_http_request_duration_seconds_count", view="dashboard")
    assert count - value(before, "console_http_request_duration_seconds_count", view="dashboard") == 2
    assert not any("/no-such-page" in str(labels) for _, labels in after), "paths never become labels"


@pytest.mark.django_db
def test_metrics_count_s3_calls_by_operation_outcome_and_latency(client, metrics_on, endpoint, make_bucket, settings):
    bucket = make_bucket("m")
    settings.S3_MAX_ATTEMPTS = 1
    unreachable = Endpoint(name="down", url="http://127.0.0.1:9", credential_source="keys", access_key_id="AK")
    unreachable.set_secret_access_key("SK")
    unreachable.save()
    no_credentials = Endpoint.objects.create(name="nocreds", url="http://127.0.0.1:9", credential_source="keys")
    before = scrape(client)
    s3.list_buckets(endpoint=endpoint)
    s3.get_bucket_tags(endpoint=endpoint, bucket=bucket)  # no tag set: an S3 error the layer turns into {}
    with pytest.raises(s3.S3Error):
        s3.list_buckets(endpoint=unreachable)
    with pytest.raises(s3.S3Error):
        s3.list_buckets(endpoint=no_credentials)
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"endpoint": "local", "operation": "ListBuckets", "outcome": "ok", "code": ""}
    assert delta("console_s3_calls_total", **ok) == 1
    no_tags = {"endpoint": "local", "operation": "GetBucketTagging", "outcome": "error", "code": "NoSuchTagSet"}
    assert delta("console_s3_calls_total", **no_tags) == 1
    down = {"endpoint": "down", "operation": "ListBuckets", "outcome": "unreachable", "code": "EndpointConnectionError"}
    assert delta("console_s3_calls_total", **down) == 1
    refused = {"endpoint": "nocreds", "operation": "ListBuckets", "outcome": "error", "code": "NoCredentialsError"}
    assert delta("console_s3_calls_total", **refused) == 1
    assert delta("console_s3_call_duration_seconds_count", endpoint="local", operation="ListBuckets") == 1
    assert delta("console_s3_call_duration_seconds_count", endpoint="down", operation="ListBuckets") == 1


@pytest.mark.django_db
def test_metrics_jobs_audit_events_and_workers_from_the_database(client, metrics_on, endpoint, db_tasks):
    Job.objects.create(kind="empty", title="t", endpoint=endpoint, status=Job.Status.FAILED)
    Job.objects.create(kind="empty", title="t", endpoint=endpoint, status=Job.Status.DONE)
    Job.objects.create(kind="copy", title="t", endpoint=endpoint, status=Job.Status.DONE)
    event(outcome="ok")
    event(outcome="ok")
    event(outcome="denied")
    heartbeat(seconds_ago=5)
    values = scrape(client)
    assert value(values, "console_jobs", state="failed") == 1
    assert value(values, "console_jobs", state="done") == 2
    assert ("console_jobs", (("state", "running"),)) in values, "every state has a series, zeros too"
    assert value(values, "console_jobs_by_kind", kind="empty", state="failed") == 1
    assert value(values, "console_jobs_by_kind", kind="copy", state="done") == 1
    assert value(values, "console_audit_events", outcome="ok") == 2
    assert value(values, "console_audit_events", outcome="denied") == 1
    assert ("console_audit_events", (("outcome", "failed"),)) in values
    assert value(values, "console_task_workers") == 1
