"""The bucket list's table is kept (console/fragments.py) under the change counters of what it shows
(console/generations.py): a second load costs one small query, and every kind of write — in this
process, or committed by another one — shows on the next load. A user's scope is part of the key, so
no one gets a table kept for someone who sees more.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from buckets.models import Bucket
from catalog.models import IndexedBucket
from console import fragments
from console.models import Endpoint, Generation, Role, RoleAssignment
from tests import job_processes as procs
from tests.audit_helpers import event
from watch.models import Alert

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@pytest.fixture
def records(db):
    east = Endpoint.objects.create(name="east", url="http://127.0.0.1:9")
    west = Endpoint.objects.create(name="west", url="http://127.0.0.1:9")
    Bucket.objects.create(endpoint=east, name="alpha", region="eu-north-1")
    Bucket.objects.create(endpoint=west, name="beta", region="us-west-2")
    return east, west


def _list(client, name: str = "bucket_list", **headers) -> str:
    response = client.get(reverse(name), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_load_sends_the_kept_table_after_one_query_for_the_counters(admin_client, records):
    first = _list(admin_client, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as queries:
        second = _list(admin_client, HTTP_HX_REQUEST="true")
    assert second == first and "alpha" in first
    sql = [q["sql"] for q in queries]
    assert not any('FROM "buckets_bucket"' in s or 'FROM "console_endpoint"' in s for s in sql), sql
    assert sum("console_generation" in s for s in sql) == 1
    assert len(sql) == 4, sql  # the session, the user, their roles, the counters


@pytest.mark.parametrize(
    "write, text, shown",
    [
        (lambda east, west: Bucket.objects.create(endpoint=east, name="gamma"), "gamma", True),
        (lambda east, west: Bucket.objects.filter(name="alpha").update(region="ap-south-2"), "ap-south-2", True),
        (lambda east, west: Bucket.objects.bulk_update([_region(Bucket.objects.get(name="beta"))], ["region"]),
         "sa-east-9", True),
        (lambda east, west: Bucket.objects.filter(name="alpha").delete(), "alpha", False),
        (lambda east, west: Bucket.objects.get(name="beta").delete(), "beta", False),
        (lambda east, west: Endpoint.objects.filter(pk=east.pk).update(name="east-renamed"), "east-renamed", True),
        (lambda east, west: _rename(west), "west-renamed", True),
        (lambda east, west: IndexedBucket.objects.create(
            endpoint=east, bucket="alpha", indexed_at=timezone.now(), object_count=4242, total_bytes=1), "4,242", True),
    ],
    ids=["create", "update", "bulk_update", "queryset-delete", "instance-delete", "endpoint-update",
         "endpoint-save", "index-sizes"],
)  # fmt: skip
def test_every_kind_of_write_shows_on_the_next_load(admin_client, records, write, text, shown):
    assert (text in _list(admin_client, HTTP_HX_REQUEST="true")) is not shown
    assert (text in _list(admin_client, HTTP_HX_REQUEST="true")) is not shown  # kept
    write(*records)
    assert (text in _list(admin_client, HTTP_HX_REQUEST="true")) is shown


def _region(bucket: Bucket) -> Bucket:
    bucket.region = "sa-east-9"
    return bucket


def _rename(endpoint: Endpoint) -> None:
    endpoint.name = "west-renamed"
    endpoint.save()


def test_a_scoped_viewer_never_gets_a_table_kept_for_someone_who_sees_more(admin_client, client, viewer_user, records):
    east, _ = records
    RoleAssignment.objects.filter(user=viewer_user).delete()
    grant = RoleAssignment.objects.create(user=viewer_user, role=Role.VIEWER, endpoint=east, bucket="alpha")
    everything = _list(admin_client)
    assert "alpha" in everything and "beta" in everything
    client.force_login(viewer_user)
    own = _list(client)
    assert "alpha" in own and "beta" not in own and "west" not in own
    grant.delete()  # a role is not a counted record: the scope, part of the key, changes with it
    assert "alpha" not in _list(client)


def test_kept_forms_carry_each_requests_own_csrf_token(admin_user, django_user_model, records):
    """The sync forms are in kept output: each user's page has their own token, and it is accepted."""
    from django.test import Client

    other = django_user_model.objects.create_user(username="bob", password="pw-bob-123456", is_superuser=True)
    sync = reverse("bucket_sync", args=[records[0].pk])
    found = []
    for user in (admin_user, other):  # the same scope (global admins): the second page is the kept one
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = _list(client)
        assert fragments.CSRF_STANDIN not in page
        form = re.search(
            rf'action="{sync}"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page
        )
        found.append((client, form.group(1)))  # the sync form's (kept), not the logout form's (rendered each time)
    for client, token in found:  # (a sync's audit row changes what is kept: posted once both pages are read)
        assert client.post(sync, {"csrfmiddlewaretoken": token}).status_code == 302  # not 403: the token is theirs
    tokens = [token for _, token in found]
    assert tokens[0] != tokens[1]


def test_the_page_shows_what_it_kept_to_a_partial_request_too(admin_client, records):
    page = _list(admin_client)
    fragment = _list(admin_client, HTTP_HX_REQUEST="true")
    assert fragment.lstrip().startswith('<div id="bucket-table"') and fragment.strip() in page


def test_kept_output_lives_at_most_page_keep_seconds(admin_client, records):
    """A write that no counter sees (raw SQL here; a restored database, say) shows once the output expires."""

    def sneak(region: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE buckets_bucket SET region = %s WHERE name = 'alpha'", [region])

    with override_settings(PAGE_KEEP_SECONDS=1):
        assert "eu-north-1" in _list(admin_client)
        sneak("me-central-7")
        assert "me-central-7" not in _list(admin_client)
        time.sleep(1.1)
        assert "me-central-7" in _list(admin_client)
    with override_settings(PAGE_KEEP_SECONDS=0):
        sneak("af-south-8")
        assert "af-south-8" in _list(admin_client)


@pytest.mark.django_db(transaction=True)
def test_a_counter_is_raised_only_once_the_change_commits(records):
    from django.db import transaction

    def value() -> int:
        return Generation.objects.filter(name=Bucket.counted_as).values_list("value", flat=True).first() or 0

    start = value()
    with transaction.atomic():
        Bucket.objects.filter(name="alpha").update(region="x-1")
        assert value() == start  # not inside the writer's transaction: writers never queue on the counter
    assert value() == start + 1
    with contextlib.suppress(RuntimeError), transaction.atomic():
        Bucket.objects.filter(name="alpha").update(region="x-2")
        raise RuntimeError("rolled back")
    assert value() == start + 1


def test_the_audit_page_shows_an_event_recorded_after_it_was_kept(admin_client, records):
    east, _ = records
    event("alice", "object.put", endpoint=east, bucket="alpha", key="first.txt")
    page = _list(admin_client, "audit_list")
    assert "first.txt" in page and "second.txt" not in page
    with CaptureQueriesContext(connection) as queries:
        assert "first.txt" in _list(admin_client, "audit_list")
    assert not any("console_auditevent" in q["sql"] for q in queries)  # kept: no event read
    event("alice", "object.put", endpoint=east, bucket="alpha", key="second.txt")
    assert "second.txt" in _list(admin_client, "audit_list")


def test_a_viewer_never_gets_the_audit_page_kept_for_an_admin(admin_client, client, viewer_user, records):
    east, _ = records
    event("alice", "endpoint.edit", endpoint=east)  # console administration: for global admins only
    event("alice", "object.put", endpoint=east, bucket="alpha", key="shared.txt")
    assert "endpoint.edit" in _list(admin_client, "audit_list")
    RoleAssignment.objects.filter(user=viewer_user).delete()
    RoleAssignment.objects.create(user=viewer_user, role=Role.VIEWER, endpoint=east, bucket="alpha")
    client.force_login(viewer_user)
    own = _list(client, "audit_list")
    assert "shared.txt" in own and "endpoint.edit" not in own
    assert "Sign-in events" not in own  # the admin's filter link is not in a viewer's page


def test_the_dashboard_shows_each_kind_of_change_after_it_was_kept(admin_client, records):
    east, _ = records
    page = _list(admin_client, "dashboard")
    assert "Nothing recorded yet." in page and "No alert has fired." in page
    event("alice", "object.put", endpoint=east, bucket="alpha", key="seen.txt", outcome="failed")
    page = _list(admin_client, "dashboard")
    assert "seen.txt" in page and "None. All good." not in page
    Alert.objects.create(rule_name="Denied", event_id=1, title="a rule fired here")
    page = _list(admin_client, "dashboard")
    assert "a rule fired here" in page
    Bucket.objects.filter(name="beta").update(is_public=True, public_checked_at=timezone.now())
    assert "beta" in _list(admin_client, "dashboard")


def test_an_event_builds_again_only_the_dashboard_s_activity(admin_client, records):
    """The dashboard is kept in two parts: an event (every sign-in writes one) builds again the activity, not
    the buckets' overview, and a bucket change the overview, not the activity."""
    east, _ = records
    _list(admin_client, "dashboard")

    def reads(sql: list[str]) -> set[str]:
        tables = {"buckets": 'FROM "buckets_bucket"', "endpoints": 'FROM "console_endpoint"',
                  "events": 'FROM "console_auditevent"'}  # fmt: skip
        return {name for name, table in tables.items() if any(table in s for s in sql)}

    event("alice", "object.put", endpoint=east, bucket="alpha", key="fresh.txt")
    with CaptureQueriesContext(connection) as queries:
        page = _list(admin_client, "dashboard")
    assert "fresh.txt" in page and '>2</div><div class="label">Buckets' in page
    assert reads([q["sql"] for q in queries]) == {"events"}
    Bucket.objects.create(endpoint=east, name="gamma")
    with CaptureQueriesContext(connection) as queries:
        page = _list(admin_client, "dashboard")
    assert '>3</div><div class="label">Buckets' in page and "fresh.txt" in page
    assert reads([q["sql"] for q in queries]) == {"buckets", "endpoints"}
    with override_settings(PAGE_KEEP_SECONDS=0):  # nothing kept: every part built, from every table
        with CaptureQueriesContext(connection) as queries:
            assert "fresh.txt" in _list(admin_client, "dashboard")
        assert reads([q["sql"] for q in queries]) == {"buckets", "endpoints", "events"}


# --- two processes: one keeps the table, another commits a change -------------------------------------
def _shell(db: procs.Database, code: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], env=procs.environment(db), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


SETUP = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import get_user_model
from buckets.models import Bucket
from console.models import Endpoint
user = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password-for-root-1")
endpoint = Endpoint.objects.create(name="far", url="http://127.0.0.1:9")
Bucket.objects.create(endpoint=endpoint, name="shared", region="eu-west-1")
session = import_module(settings.SESSION_ENGINE).SessionStore()
session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[-1],
                "_auth_user_hash": user.get_session_auth_hash()})
session.create()
print(session.session_key)
"""


WRITE_AND_READ_BACK = """
import urllib.request
from buckets.models import Bucket
headers = {{"Cookie": "sessionid={session}", "HX-Request": "true"}}
def table():
    request = urllib.request.Request("{origin}/buckets/", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()
seen = 0
for i in range(20):
    table(); table()  # kept by whichever workers answer
    Bucket.objects.filter(name="shared").update(region=f"loop-{{i}}")
    seen += f"loop-{{i}}<" in table()
print(f"{{seen}} of 20")
"""


def test_a_change_committed_by_another_process_shows_on_the_next_load(tmp_path):
    with procs.database(tmp_path, os.environ.get("DATABASE_URL", "")) as db:
        session = _shell(db, SETUP)
        log = tmp_path / "gunicorn.log"
        env = {**procs.environment(db), "GUNICORN_BIND": "127.0.0.1:0", "GUNICORN_WORKERS": "2",
               "HOME": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}  # fmt: skip
        with log.open("w") as out:
            web = subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            origin = _listening(web, log)

            def table() -> str:
                request = urllib.request.Request(
                    f"{origin}/buckets/", headers={"Cookie": f"sessionid={session}", "HX-Request": "true"}
                )
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                    return response.read().decode()

            assert "eu-west-1" in table() and "eu-west-1" in table()  # built, then kept
            _shell(db, "from buckets.models import Bucket; Bucket.objects.filter(name='shared').update(region='x-9')")
            assert "x-9" in table()
            # A writer that reads each change back at once, through either of the two workers (each keeps
            # its own copy): every read after a commit shows it.
            seen = _shell(db, WRITE_AND_READ_BACK.format(origin=origin, session=session))
            assert seen == "20 of 20", seen
            _shell(db, "from console.models import Endpoint; Endpoint.objects.filter(name='far').delete()")
            assert "shared" not in table()  # the cascade deleted the bucket: the endpoint's counter moved
        finally:
            web.terminate()
            web.wait(timeout=30)


def _listening(web: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text()):
            return found.group(1)
        assert web.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def test_the_navigation_marks_the_section_of_every_page(admin_client):
    """The section comes from the view's own URL match (no second resolve), and from the path on a 404."""

    def current(path: str) -> list[str]:
        answer = admin_client.get(path)
        return re.findall(r'aria-current="page">([^<]+)</a>', answer.content.decode())

    assert current(reverse("dashboard")) == ["Dashboard"]
    assert current(reverse("bucket_list")) == ["Buckets"]
    assert current(reverse("audit_list")) == ["Audit"]
    assert current(reverse("endpoint_list")) == ["Endpoints"]
    assert current("/no-such-page/") == []


def test_a_global_role_beside_an_endpoint_role_and_a_changed_role_make_their_own_scope(
    django_user_model, records, endpoint
):
    """A global assignment has no endpoint (the key sorts it with the others), and the role is in the key:
    an operator made admin of the same scope gets what an admin sees."""
    from console.access import scope_key

    user = django_user_model.objects.create_user(username="mia", password="pw-mia-123456")
    RoleAssignment.objects.create(user=user, role=Role.VIEWER)
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("bucket_list")).status_code == 200
    before = scope_key(user)
    RoleAssignment.objects.filter(user=user, endpoint=endpoint).update(role=Role.ADMIN)
    assert scope_key(django_user_model.objects.get(pk=user.pk)) != before


def test_a_request_s_forms_share_one_csrf_token_until_its_secret_changes(rf):
    """``fragments.csrf_token``: one masked token a response (each ``get_token`` call masks anew), and a new
    one once the secret changes within the request (sign-in rotates it)."""
    from django.middleware.csrf import _unmask_cipher_token, rotate_token

    request = rf.get("/")
    first = fragments.csrf_token(request)
    assert fragments.csrf_token(request) == first and len(first) == 64
    secret = request.META["CSRF_COOKIE"]
    assert _unmask_cipher_token(first) == secret
    rotate_token(request)
    second = fragments.csrf_token(request)
    assert request.META["CSRF_COOKIE"] != secret and _unmask_cipher_token(second) == request.META["CSRF_COOKIE"]
