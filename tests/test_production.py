"""The production configuration as the README runs it, in a real browser.

DEBUG=0, `collectstatic` with the manifest storage, gunicorn started with the repository's
gunicorn.conf.py (several workers, no proxy: WhiteNoise serves the static files), the task worker
(`console_worker`) beside it, a database of their own (a SQLite file, or a fresh PostgreSQL
database when DATABASE_URL points at PostgreSQL) and the test SeaweedFS. Chromium logs in, sees
styled pages whose static files have hashed names and long cache headers, and edits an object's
metadata inline through htmx; /healthz follows the worker; /metrics adds up every worker's counts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN, PASSWORD = "root", "a-long-production-password-7"
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
TEN_YEARS = 315360000
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))  # the venv's, beside its python


# --- a database of its own ------------------------------------------------------------------------
@pytest.fixture
def production_db_url(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'console.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'console'}_prod_{uuid.uuid4().hex[:8]}"
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production_env(tmp_path, production_db_url):
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_", "GUNICORN_"))}
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_COOKIES", "DATABASE_URL", "XDG_RUNTIME_DIR"):
        keep.pop(name, None)
    home = tmp_path / "home"
    home.mkdir()
    return {
        **keep,
        "HOME": str(home),  # where gunicorn 23+ would put its shared control socket
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DEBUG": "0",
        "SECRET_KEY": "production-like-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": production_db_url,
        "CONSOLE_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "METRICS_TOKEN": METRICS_TOKEN,
        "WORKER_HEARTBEAT_INTERVAL": "1",
        "GUNICORN_BIND": "127.0.0.1:0",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    }


def manage(env: dict, *args: str, **extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(predicate, what: str, log: Path, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen; log:\n{log.read_text()}")


def get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a loopback test server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def production(production_env, seaweed, make_bucket, s3client, tmp_path):
    """gunicorn with gunicorn.conf.py and the task worker, set up as the README's first deploy."""
    env = production_env
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "ensure_admin", DJANGO_SUPERUSER_USERNAME=ADMIN, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    manage(
        env,
        "ensure_endpoint",
        "--name",
        "local",
        "--url",
        seaweed.url,
        "--access-key",
        seaweed.ids.access_key,
        S3_SECRET_ACCESS_KEY=seaweed.ids.secret_key,
    )
    bucket = make_bucket("prod")
    s3client.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello\n", Metadata={"project": "apollo"})
    manage(env, "sync_buckets")

    web_log, worker_log = tmp_path / "gunicorn.log", tmp_path / "worker.log"
    web = start([GUNICORN, "-c", "gunicorn.conf.py"], env, web_log)
    worker = start([sys.executable, "manage.py", "console_worker", "--no-reload"], env, worker_log)
    try:
        found = wait_for(
            lambda: re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", web_log.read_text()),
            "gunicorn start",
            web_log,
        )
        origin = found.group(1)
        wait_for(lambda: get(f"{origin}/healthz")[0] == 200, "a healthy instance", web_log)
        yield {"origin": origin, "bucket": bucket, "web_log": web_log, "worker": worker, "home": Path(env["HOME"])}
    finally:
        stop(worker)
        stop(web)
        # Shown by pytest when the test failed: what the servers said.
        print("--- gunicorn ---", web_log.read_text()[-6000:], sep="\n")
        print("--- worker ---", worker_log.read_text()[-3000:], sep="\n")


@pytest.fixture
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield page
        browser.close()
        assert not errors, f"errors in the page (a CSP violation or a missing file shows here): {errors}"


def metric_values(origin: str) -> dict[tuple, float]:
    status, _, body = get(f"{origin}/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 200, body
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_production_deploy_serves_styled_pages_and_htmx_edits(production, page, s3client, tmp_path):
    origin, bucket = production["origin"], production["bucket"]
    htmx_requests: list[str] = []
    page.on("request", lambda r: htmx_requests.append(f"{r.method} {r.url}") if r.headers.get("hx-request") else None)

    # Logged out: the login page, styled by console.css from a hashed, long-cached, compressed file.
    page.goto(f"{origin}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    login_button = page.get_by_role("button", name="Log in")
    assert (
        login_button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 88, 202)"
    )  # the accent of console.css (4.5:1 on white)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    assets = page.evaluate(
        "[...document.querySelectorAll('link[rel=stylesheet][href], script[src]')].map(e => e.href || e.src)"
    )
    assert any(re.search(r"/static/console/console\.[0-9a-f]{12}\.css$", a) for a in assets), assets
    assert any(re.search(r"/static/django_htmx/.*\.[0-9a-f]{12}\.js$", a) for a in assets) or any(
        re.search(r"htmx[^/]*\.[0-9a-f]{12}\.js$", a) for a in assets
    ), assets
    for asset in assets:
        status, headers, body = get(asset, **{"Accept-Encoding": "gzip"})
        assert status == 200, asset
        assert f"max-age={TEN_YEARS}" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"], headers
        assert headers.get("Content-Encoding") == "gzip", asset
    status, headers, _ = get(f"{origin}/static/console/console.css")  # the plain name: served, cached briefly
    assert status == 200 and "max-age=60" in headers["Cache-Control"]
    assert get(f"{origin}/static/console/no-such-file.css")[0] == 404

    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    login_button.click()
    expect(page).not_to_have_url(re.compile(r"/login/"))

    # The bucket list (records from sync_buckets), then the object page of one object.
    page.goto(f"{origin}/buckets/")
    page.get_by_role("link", name=bucket, exact=True).first.click()
    expect(page).to_have_url(re.compile(rf"/b/\d+/{bucket}/"))
    endpoint_pk = re.search(r"/b/(\d+)/", page.url).group(1)
    page.goto(f"{origin}/b/{endpoint_pk}/{bucket}/object/?key=docs/readme.txt")
    object_url = page.url
    assert page.evaluate("typeof htmx") == "object", "htmx did not load"

    # Inline edit through htmx: the section swaps to a form and back, the page never navigates.
    # The section is a region named by its heading; Edit is a button that swaps the form in.
    section = page.get_by_role("region", name="Metadata and content headers")
    expect(section).to_contain_text("apollo")
    section.get_by_role("button", name="Edit").click()
    expect(section).to_have_class(re.compile(r"\bediting\b"))
    value = section.get_by_role("textbox", name="Value", exact=True)
    expect(value).to_have_value("apollo")
    value.fill("gemini")
    section.get_by_role("button", name="Save").click()
    expect(section).not_to_have_class(re.compile(r"\bediting\b"))
    expect(section).to_contain_text("gemini")
    assert page.url == object_url
    assert any(r.startswith("GET ") and "/metadata" in r for r in htmx_requests), htmx_requests
    assert any(r.startswith("POST ") and "/metadata" in r for r in htmx_requests), htmx_requests
    assert s3client.head_object(Bucket=bucket, Key="docs/readme.txt")["Metadata"] == {"project": "gemini"}
    page.screenshot(path=str(tmp_path / "production-object.png"), full_page=True)

    # The change is in the audit trail, by this user.
    page.goto(f"{origin}/audit/?bucket={bucket}")
    row = page.locator("tr", has_text="object.metadata.put")
    expect(row).to_contain_text(ADMIN)
    expect(row).to_contain_text("docs/readme.txt")

    # /metrics adds up the gunicorn workers (multiprocess mode): this edit's S3 calls and requests.
    values = metric_values(origin)
    copies = [
        v
        for (name, labels), v in values.items()
        if name == "console_s3_calls_total"
        and ("operation", "CopyObject") in labels
        and ("outcome", "ok") in labels
        and ("endpoint", "local") in labels
    ]
    assert copies and sum(copies) >= 1, sorted(k for k in values if k[0].startswith("console_s3"))
    assert (
        values[
            ("console_http_requests_total", (("method", "POST"), ("status", "200"), ("view", "object_section_save")))
        ]
        >= 1
    )
    assert values[("console_audit_events", (("outcome", "ok"),))] >= 1
    assert values[("console_task_workers", ())] == 1
    assert get(f"{origin}/metrics")[0] == 401

    # The access log has the request time; a set-password token never reaches it.
    assert get(f"{origin}/password/set/MQ/abc-secret-token-123/")[0] in {200, 302}
    web_log = production["web_log"]
    log = wait_for(lambda: "/password/set/" in (text := web_log.read_text()) and text, "the access log line", web_log)
    assert re.search(r'"GET /healthz HTTP/1\.1" 200 \d+ .* \d+ms', log), log[-2000:]
    assert "abc-secret-token-123" not in log and "/password/set/MQ/[redacted]" in log
    assert log.count("Booting worker with pid") == 2, "GUNICORN_WORKERS=2"
    # No control socket shared with every other gunicorn of this user.
    assert not (production["home"] / ".gunicorn").exists()

    # The container's HEALTHCHECK script agrees (it sends a Host from ALLOWED_HOSTS).
    healthcheck = [sys.executable, str(ROOT / "deploy/healthcheck.py"), f"{origin}/healthz"]
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1"}
    assert subprocess.run(healthcheck, env=env, capture_output=True, timeout=30).returncode == 0

    # The worker stops: its heartbeat goes, and the health check says so.
    stop(production["worker"])
    assert subprocess.run(healthcheck, env=env, capture_output=True, timeout=30).returncode == 1
    status, _, body = get(f"{origin}/healthz")
    assert status == 503, body
    assert json.loads(body)["checks"] == {
        "database": {"status": "ok"},
        "worker": {"status": "missing", "detail": "no task worker is running (manage.py console_worker)"},
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GUNICORN_TIMEOUT": "20"}, "GUNICORN_TIMEOUT (20 s) must be above S3_PAGE_BUDGET (20 s)"),
        ({"SECRET_KEY": ""}, "Configuration error: SECRET_KEY is not set"),
        ({"GUNICORN_WORKERS": "many"}, "GUNICORN_WORKERS must be an integer"),
    ],
)
def test_gunicorn_refuses_to_start_misconfigured(production_env, env, message):
    result = subprocess.run(
        [GUNICORN, "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**production_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Booting worker" not in result.stdout + result.stderr
