"""The base: setup commands, login everywhere, roles, audit rows, bucket sync, query counts, settings."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from buckets import s3
from buckets.models import Bucket
from buckets.s3 import client as s3_client
from buckets.services import buckets as bucket_services
from console import audit, embedded_s3
from console.models import AuditEvent, Endpoint
from tests.conftest import xdist_slot
from tests.oidc_fixtures import free_port

ROOT = Path(__file__).resolve().parent.parent


# --- what `make run` does -------------------------------------------------------
def test_ensure_admin_prints_a_generated_password_once(db, django_user_model, capsys, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = out.split("Password: ")[1].split()[0]
    user = django_user_model.objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    call_command("ensure_admin")
    assert "exists already" in capsys.readouterr().out
    assert django_user_model.objects.count() == 1


def test_ensure_admin_takes_name_and_password_from_the_environment(db, django_user_model, monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-given-password")
    call_command("ensure_admin")
    assert "a-long-given-password" not in capsys.readouterr().out
    assert django_user_model.objects.get(username="root").check_password("a-long-given-password")


def test_ensure_endpoint_registers_local_once(db, capsys):
    call_command("ensure_endpoint", url="http://127.0.0.1:8333", access_key="AK1", secret_key="SK1")
    call_command("ensure_endpoint", url="http://127.0.0.1:9999", access_key="AK2", secret_key="SK2")
    endpoint = Endpoint.objects.get(name="local")
    assert endpoint.url == "http://127.0.0.1:8333"
    assert endpoint.get_secret_access_key() == "SK1"
    assert "SK1" not in capsys.readouterr().out


def test_identities_file_is_private_and_reused(tmp_path):
    path = tmp_path / "ids.json"
    first = embedded_s3.ensure_identities(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert embedded_s3.ensure_identities(path) == first
    assert first.access_key != first.readonly_access_key


def _block(base: int) -> set[int]:
    ports = {base + o for o in embedded_s3.PORT_OFFSETS}
    return ports | {p + embedded_s3.GRPC_OFFSET for p in ports}


def test_port_slots_never_share_a_port_and_stay_below_the_ephemeral_range():
    """Two xdist workers' SeaweedFS blocks cannot overlap (one's master port was the other's S3 port)."""
    low_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    slots = []
    for slot in range(embedded_s3.SLOT_COUNT):
        first = embedded_s3.PORT_LOW + slot * embedded_s3.SLOT_STRIDE
        ports = set().union(*(_block(b) for b in range(first, first + embedded_s3.SLOT_WIDTH)))
        assert max(ports) < low_ephemeral
        slots.append(ports)
    for i, ports in enumerate(slots):
        for other in slots[i + 1 :]:
            assert not ports & other
    base = embedded_s3.pick_base_port(slot=embedded_s3.SLOT_COUNT + 2)
    assert embedded_s3.PORT_LOW + 2 * embedded_s3.SLOT_STRIDE <= base < embedded_s3.PORT_LOW + 2 * 1400 + 80


def test_a_server_that_does_not_answer_as_ours_is_given_up_for_a_fresh_block(tmp_path):
    """start_verified counts a port as ready only when the probe (a signed call with our keys) passes."""
    embedded_s3.ensure_identities(tmp_path / "identities.json")
    seen = []

    def probe(url):
        seen.append(url)
        return len(set(seen)) > 1  # the first block "answers as someone else's server"

    proc, url = embedded_s3.start_verified(tmp_path, probe, slot=xdist_slot(extra=1), ready_timeout=5)
    try:
        assert url != seen[0] and url == seen[-1]
        assert proc.poll() is None
    finally:
        embedded_s3.stop(proc)


def test_sync_buckets_command(endpoint, make_bucket, capsys):
    name = make_bucket("cmd")
    call_command("sync_buckets")
    assert Bucket.objects.filter(endpoint=endpoint, name=name).exists()
    assert "local:" in capsys.readouterr().out


def test_console_run_serves_and_stops_everything(tmp_path):
    """`make run`'s command end to end: migrate, SeaweedFS, admin, worker, web; SIGINT stops all."""
    port = embedded_s3.pick_base_port(slot=xdist_slot(extra=1))
    web_port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "CONSOLE_VAR_DIR": str(tmp_path),
        "EMBEDDED_S3_PORT": str(port),
        "DJANGO_SETTINGS_MODULE": "console.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("SECRET_KEY", None)  # as `make run` starts: it generates one into var/
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "console_run", "--addr", f"127.0.0.1:{web_port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "Console on http" in line:
                break
        output = "".join(lines)
        assert "Created the first admin. User: admin" in output, output
        assert "Registered endpoint 'local'" in output, output
        embedded_s3.wait_ready(f"http://127.0.0.1:{web_port}/login/", timeout=30)
        import urllib.request

        body = urllib.request.urlopen(f"http://127.0.0.1:{web_port}/login/").read().decode()
        assert "Log in" in body
        assert stat.S_IMODE((tmp_path / "s3-identities.json").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    finally:
        os.killpg(proc.pid, 2)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    assert embedded_s3.ports_free(port)
    # In the checkout it set up, manage.py commands work as typed: no DEBUG=1, no SECRET_KEY.
    plain = {k: v for k, v in env.items() if k not in {"DEBUG", "SECRET_KEY"}}
    verify = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"], cwd=ROOT, env=plain, capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- login and roles ------------------------------------------------------------
def _all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            yield from _all_patterns(item, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            yield prefix + str(item.pattern), item


def _example_path(route: str) -> str:
    import re

    replacements = {"int": "1", "str": "some-bucket", "uuid": "00000000-0000-0000-0000-000000000000", "path": "x"}
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: replacements.get(m.group(1) or "str", "x"), route)


# The OpenID views answer 404 while single sign-on is not configured, and are open to anonymous users;
# healthz and metrics: tests/test_health_metrics.py.
PUBLIC = {"login", "set_password_link", "oidc_start", "oidc_callback", "healthz", "metrics"}


@pytest.mark.django_db
def test_every_url_needs_login(client):
    checked = 0
    for route, pattern in _all_patterns():
        if pattern.name in PUBLIC or route.startswith(("static/", "__")):
            continue
        path = _example_path(route)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            where = f"{method.upper()} {path} ({pattern.name})"
            assert response.status_code == 302, f"{where} answered {response.status_code}"
            assert response["Location"].startswith("/login/"), path
        checked += 1
    assert checked >= 8


def test_viewer_reaching_an_admin_page_gets_403_and_a_denied_row(viewer_client, viewer_user):
    response = viewer_client.get(reverse("endpoint_list"))
    assert response.status_code == 403
    event = AuditEvent.objects.get(outcome="denied")
    assert event.actor == viewer_user and event.action == "endpoint.list" and event.role == "viewer"
    assert event.client_ip == "127.0.0.1"


def test_user_without_a_role_sees_no_buckets_and_gets_404(client, nobody_user, endpoint, make_bucket):
    name = make_bucket("hidden")
    bucket_services.buckets_sync(actor=audit.Actor(None, "test"), endpoint=endpoint)
    client.force_login(nobody_user)
    assert name not in client.get(reverse("bucket_list")).content.decode()
    assert client.post(reverse("bucket_sync", args=[endpoint.pk])).status_code == 404


def test_htmx_request_with_an_expired_session_goes_to_login(client, htmx_headers):
    response = client.get(reverse("bucket_list"), HTTP_HX_CURRENT_URL="http://testserver/buckets/?q=a", **htmx_headers)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_htmx_denial_becomes_a_flash_message(viewer_client, htmx_headers):
    response = viewer_client.get(reverse("endpoint_list"), **htmx_headers)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#flash"
    assert "admin role" in response.content.decode()


# --- audit rows around S3 calls ---------------------------------------------------
def test_audit_row_for_a_successful_s3_call(admin_user, endpoint, make_bucket):
    name = make_bucket("ok")
    actor = audit.Actor(admin_user.pk, admin_user.username, "10.0.0.1", "admin")
    with audit.change(actor, "object.put", endpoint=endpoint, bucket=name, key="a.txt", params={"size": 1}) as ev:
        s3.put_object(endpoint=endpoint, bucket=name, key="a.txt", body=b"x")
        ev.after = {"etag": "x"}
    event = AuditEvent.objects.get(action="object.put")
    assert event.outcome == "ok" and event.key == "a.txt" and event.client_ip == "10.0.0.1"
    assert event.request_id, "the S3 request id is recorded"
    assert event.after == {"etag": "x"}


def test_audit_row_for_a_failed_s3_call(admin_user, readonly_endpoint):
    actor = audit.Actor(admin_user.pk, admin_user.username, None, "admin")
    with pytest.raises(s3.S3Error) as raised:
        with audit.change(actor, "bucket.create", endpoint=readonly_endpoint, bucket="ro-denied", params={"x": 1}):
            s3_client.call(readonly_endpoint, "create_bucket", Bucket="ro-denied")
    event = AuditEvent.objects.get(action="bucket.create")
    assert event.outcome == "failed"
    assert event.error_code == raised.value.code == "AccessDenied"


def test_audit_row_when_the_body_raises_something_else(admin_user):
    with pytest.raises(ZeroDivisionError):
        with audit.change(audit.Actor(admin_user.pk, "alice"), "thing.do", params={"secret_key": "s", "n": 1}):
            1 / 0  # noqa: B018
    event = AuditEvent.objects.get(action="thing.do")
    assert event.outcome == "failed" and event.error_code == "ZeroDivisionError"
    assert event.params == {"secret_key": "***", "n": 1}


def test_audit_events_cannot_be_changed_through_the_model(admin_user):
    event = audit.record(audit.Actor(admin_user.pk, "alice"), "x.y", outcome="ok")
    event.action = "changed"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


# --- bucket records ----------------------------------------------------------------
def test_sync_adds_and_removes_records(admin_client, endpoint, make_bucket, s3client):
    keep, gone = make_bucket("keep"), make_bucket("gone")
    admin_client.post(reverse("bucket_sync", args=[endpoint.pk]))
    assert set(Bucket.objects.values_list("name", flat=True)) >= {keep, gone}
    s3client.delete_bucket(Bucket=gone)
    response = admin_client.post(reverse("bucket_sync", args=[endpoint.pk]), follow=True)
    assert Bucket.objects.filter(name=keep).exists()
    assert not Bucket.objects.filter(name=gone).exists()
    assert f"removed from the list: {gone}" in response.content.decode()
    event = AuditEvent.objects.filter(action="buckets.sync").latest("id")
    assert gone in event.after["removed"]


def test_sync_of_an_unreachable_endpoint_says_so(admin_client, settings):
    settings.S3_CONNECT_TIMEOUT = 1
    settings.S3_MAX_ATTEMPTS = 1
    endpoint = Endpoint(name="down", url="http://127.0.0.1:9", credential_source="keys", access_key_id="AKIADOWN")
    endpoint.set_secret_access_key("secret")
    endpoint.save()
    response = admin_client.post(reverse("bucket_sync", args=[endpoint.pk]), follow=True)
    assert response.status_code == 200
    assert "cannot be reached" in response.content.decode()
    assert AuditEvent.objects.get(action="buckets.sync").outcome == "failed"


def test_bucket_list_queries_do_not_grow_with_buckets(admin_client, endpoint, django_assert_num_queries):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Bucket.objects.create(endpoint=endpoint, name="b-0")
    admin_client.get(reverse("bucket_list"))  # the first request of a session also slides its expiry
    caches["pages"].clear()  # the table built again, not the one kept (console/fragments.py)
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(reverse("bucket_list")).status_code == 200
    Bucket.objects.bulk_create([Bucket(endpoint=endpoint, name=f"b-{i}") for i in range(1, 200)])
    calls = s3.CALL_COUNTS.copy()
    with CaptureQueriesContext(connection) as many:
        page = admin_client.get(reverse("bucket_list"))
    assert len(many) == len(one)
    assert calls == s3.CALL_COUNTS, "the bucket list makes no S3 call"
    assert "200 buckets" in page.content.decode()


# --- settings ---------------------------------------------------------------------
def _settings_check(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _settings_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    result = _settings_check(DEBUG="0", SECRET_KEY="short")
    assert "at least 50 characters" in result.stderr
    assert _settings_check(DEBUG="0", SECRET_KEY="k" * 60, ALLOWED_HOSTS="console.example.com").returncode == 0


def test_default_chain_without_credentials_says_so(admin_client, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    endpoint = Endpoint.objects.create(name="nocreds", url="http://127.0.0.1:9", credential_source="default")
    response = admin_client.post(reverse("bucket_sync", args=[endpoint.pk]), follow=True)
    assert "No credentials were found" in response.content.decode()


def test_bad_environment_values_are_refused():
    result = _settings_check(DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr


def test_session_expiry_slides_with_activity_without_a_write_per_request(admin_client, settings):
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin_client.get(reverse("dashboard"))
    key = admin_client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse("dashboard"))
    assert not [q for q in queries if "UPDATE" in q["sql"] and "django_session" in q["sql"]]
    settings.SESSION_TOUCH_INTERVAL = 0
    admin_client.get(reverse("dashboard"))
    assert Session.objects.get(session_key=key).expire_date > first


def test_an_idle_session_expires(admin_client):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    admin_client.get(reverse("dashboard"))
    Session.objects.filter(session_key=admin_client.session.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )
    response = admin_client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_ensure_endpoint_takes_the_secret_from_the_environment(db, monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.delenv("S3_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(CommandError):
        call_command("ensure_endpoint", name="env", url="http://127.0.0.1:8333", access_key="AK")
    monkeypatch.setenv("S3_SECRET_ACCESS_KEY", "from-env")
    call_command("ensure_endpoint", name="env", url="http://127.0.0.1:8333", access_key="AK")
    assert Endpoint.objects.get(name="env").get_secret_access_key() == "from-env"


def test_logout_says_so_and_ends_the_session(admin_client):
    response = admin_client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have been logged out." in response.content.decode()
    assert admin_client.get(reverse("dashboard")).status_code == 302
    assert admin_client.get(reverse("logout")).status_code in (302, 405)


def test_the_fast_timestamp_parser_agrees_with_botocore():
    import botocore.utils

    from buckets.s3.fastparse import fast_timestamp

    for text in ("2026-12-01T20:35:32.000Z", "2026-12-01T20:35:32Z", "2026-12-01T20:35:32.123456+02:00",
                 "Tue, 01 Dec 2026 20:35:32 GMT", "2026-12-01T20:35:32", "1764621332"):  # fmt: skip
        assert fast_timestamp(text) == botocore.utils.parse_timestamp(text), text


def test_bucket_list_pages_in_endpoint_then_name_order(admin_client, monkeypatch):
    """The pager counts the filtered buckets; each page holds the next rows, by endpoint name then bucket name."""
    import re

    from buckets.views import buckets as bucket_views

    monkeypatch.setattr(bucket_views, "BUCKETS_PER_PAGE", 2)
    second = Endpoint.objects.create(name="b-endpoint", url="http://127.0.0.1:9")
    first = Endpoint.objects.create(name="a-endpoint", url="http://127.0.0.1:9")
    for endpoint, names in ((second, ["zeta", "alpha"]), (first, ["omega", "beta", "delta-x"])):
        Bucket.objects.bulk_create([Bucket(endpoint=endpoint, name=name) for name in names])

    def rows(query: str) -> tuple[list[str], str]:
        html = admin_client.get(reverse("bucket_list") + query).content.decode()
        return re.findall(r"<strong><a href=\"[^\"]+\">([^<]+)</a>", html), html

    assert rows("")[0] == ["beta", "delta-x"]
    names, html = rows("?page=2")
    assert names == ["omega", "alpha"] and "Page 2 of 3 · 5 buckets" in html
    assert rows("?page=3")[0] == ["zeta"]
    assert rows("?page=99")[0] == ["zeta"]  # past the end: the last page, as Paginator.get_page does
    names, html = rows("?q=ta&page=2")  # beta, delta-x, zeta
    assert names == ["zeta"] and "Page 2 of 2 · 3 buckets" in html
    assert rows(f"?endpoint={second.pk}")[0] == ["alpha", "zeta"]
