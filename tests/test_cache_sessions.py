"""The shared cache (REDIS_URL): sessions without a query, logout seen by every instance, a Redis that
dies or hangs costs nothing but speed, and remembered bucket facts shared between instances.

A real redis-server (Debian's, installed by `make test`) runs on a free loopback port for these tests.
"Another instance" is a second cache handler on the same Redis, as a second gunicorn host would have.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console import cache as console_cache
from tests.oidc_fixtures import free_port

REDIS = "/usr/bin/redis-server"


def start_redis(workdir) -> tuple[subprocess.Popen, str]:
    if not os.path.exists(REDIS):
        pytest.fail("redis-server is missing: `make test` installs Debian's redis-server")
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--protected-mode",
            "yes",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(200):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield proc, url
    os.kill(proc.pid, signal.SIGCONT)
    proc.terminate()
    proc.wait(10)


def redis_caches(url: str) -> dict:
    options = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3}
    backend = {"BACKEND": "console.cache.ResilientRedisCache", "LOCATION": url, "OPTIONS": options}
    pages = settings.CACHES["pages"]  # kept page output stays in each process (console/fragments.py)
    return {"default": {**backend, "KEY_PREFIX": "t"}, "other": {**backend, "KEY_PREFIX": "t"}, "pages": pages}


@pytest.fixture
def shared(redis_server, monkeypatch):
    proc, url = redis_server
    monkeypatch.setattr(console_cache, "RETRY_AFTER", 0.0)
    with override_settings(CACHES=redis_caches(url), SESSION_ENGINE="console.sessions.cached_db"):
        caches["default"].clear()
        yield proc, url


def session_queries(client: Client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(path)
    assert answer.status_code == 200, answer.status_code
    return [q["sql"] for q in ctx.captured_queries if "django_session" in q["sql"]]


def test_a_page_reads_the_session_from_redis_not_the_database(shared, admin_user):
    client = Client()
    client.force_login(admin_user)
    page = reverse("dashboard")
    client.get(page)  # the first load after login may save the session (the idle-timeout touch)
    assert session_queries(client, page) == []


def test_logout_in_one_instance_ends_the_session_in_every_instance(shared, admin_user):
    client = Client()
    client.force_login(admin_user)
    cookie = client.cookies["sessionid"].value
    key = f"django.contrib.sessions.cached_db{cookie}"
    assert caches["other"].get(key) is not None  # what a second instance sees
    client.post(reverse("logout"))
    assert caches["other"].get(key) is None
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get(reverse("dashboard")).status_code == 302  # to the login page


def test_a_session_missing_from_redis_is_read_from_the_database_once_and_kept_again(shared, admin_user):
    client = Client()
    client.force_login(admin_user)
    page = reverse("dashboard")
    client.get(page)
    key = f"django.contrib.sessions.cached_db{client.cookies['sessionid'].value}"
    caches["other"].delete(key)  # evicted, or Redis restarted empty
    assert len(session_queries(client, page)) == 1  # console.sessions' lookup of the unexpired row
    assert caches["other"].get(key) is not None
    assert session_queries(client, page) == []


@pytest.mark.parametrize("failure", ["killed", "hung"])
def test_pages_keep_working_when_redis_is_killed_or_hangs(shared, admin_user, caplog, tmp_path, failure):
    proc, url = shared
    if failure == "killed":
        proc, url = start_redis(tmp_path)  # a Redis of this test's own, killed below
    client = Client()
    with override_settings(CACHES=redis_caches(url)):
        client.force_login(admin_user)
        os.kill(proc.pid, signal.SIGKILL if failure == "killed" else signal.SIGSTOP)  # hung: accepts, never answers
        try:
            started = time.monotonic()
            with CaptureQueriesContext(connection) as ctx:
                answer = client.get(reverse("dashboard"))
            took = time.monotonic() - started
        finally:
            os.kill(proc.pid, signal.SIGCONT) if failure == "hung" else proc.wait(10)
    assert answer.status_code == 200
    assert any("django_session" in q["sql"] for q in ctx.captured_queries)  # the session came from the database
    assert "Redis cache get failed" in caplog.text
    assert took < 30  # not a hang: each Redis call gives up after its socket timeout


def test_bucket_facts_are_shared_and_forgotten_everywhere(shared, db):
    from buckets.services import reads
    from console.models import Endpoint

    endpoint = Endpoint.objects.create(name="facts", url="http://127.0.0.1:9")
    calls = []
    assert reads.remembered("ownership", endpoint, "b", lambda: calls.append(1) or True) is True
    assert reads.remembered("ownership", endpoint, "b", lambda: calls.append(1) or False) is True
    assert calls == [1]
    assert caches["other"].get(f"bucket-facts:{endpoint.pk}:b")["ownership"][1] is True
    reads.forget_facts(endpoint=endpoint, bucket="b")
    assert caches["other"].get(f"bucket-facts:{endpoint.pk}:b") is None
    assert reads.remembered("ownership", endpoint, "b", lambda: False) is False


def test_settings_choose_redis_sessions_only_with_a_redis_url(tmp_path):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='console.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.SESSION_ENGINE, s.CACHES['default']['BACKEND'], s.DATABASES['default']['CONN_MAX_AGE'],"
        " s.DATABASES['default']['CONN_HEALTH_CHECKS'])"
    )
    env = {**os.environ, "SECRET_KEY": "k" * 60, "CONSOLE_VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_CONN_MAX_AGE", None)
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    engine, backend, max_age, checks = plain.stdout.split()
    assert (engine, backend) == ("console.sessions.db", "django.core.cache.backends.locmem.LocMemCache")
    assert (max_age, checks) == ("600", "True")  # connections kept and checked
    env["REDIS_URL"] = "redis://127.0.0.1:6379/3"
    shared = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    engine, backend = shared.stdout.split()[:2]
    assert (engine, backend) == ("console.sessions.cached_db", "console.cache.ResilientRedisCache")
