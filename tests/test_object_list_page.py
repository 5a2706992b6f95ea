"""The object list page is made while S3 lists: the base layout, the content around the table (kept) and the
selection's bar are rendered before the listing answers; only the table waits for it."""

from __future__ import annotations

import re
import time

from django.test import Client
from django.test.signals import template_rendered

from buckets.views import browse
from console import fragments
from console.models import Endpoint, Role, RoleAssignment
from tests.bucket_helpers import login, seaweed_endpoint
from tests.job_processes import Proxy
from tests.objects_fixtures import url

HELD = 0.8  # seconds the proxy holds the listing


def test_the_page_around_the_table_is_rendered_while_s3_lists(admin_user, seaweed, s3client, make_bucket):
    bucket = make_bucket("ahead")
    s3client.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"x")
    held: list[float] = []
    rendered: dict[str, float] = {}

    def hold(op: str, path: str) -> float:
        if op != "ListObjectsV2":
            return 0.0
        held.append(time.monotonic())
        return HELD

    def note(sender, template, **kwargs):
        rendered.setdefault(template.name, time.monotonic())

    with Proxy(seaweed.url) as proxy:
        endpoint = seaweed_endpoint(seaweed, "slow", proxy.url)
        proxy.rules.delay = hold
        template_rendered.connect(note)
        try:
            page = login(admin_user).get(url("object_list", endpoint, bucket, prefix="docs/")).content.decode()
        finally:
            template_rendered.disconnect(note)
    assert "readme.txt" in page and browse.TABLE_STANDIN not in page and browse.CONTENT_STANDIN not in page
    (asked,) = held
    # The base layout, the content around the table and the selection's bar: before the listing's answer.
    for name in (browse.TEMPLATE, browse.CONTENT, browse.BULK_BAR):
        assert rendered[name] < asked + HELD, name
    assert rendered[browse.TABLE] >= asked + HELD  # the table, once S3 answered


def test_the_kept_content_follows_the_endpoint_and_each_users_role(
    admin_user, operator_user, viewer_user, endpoint, s3client, make_bucket
):
    bucket = make_bucket("kept")
    s3client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"x")
    path = url("object_list", endpoint, bucket, prefix="a/")
    admin = login(admin_user)
    assert "New folder" in admin.get(path).content.decode()
    Endpoint.objects.filter(pk=endpoint.pk).update(name="renamed-store")  # its name is part of the key
    assert ">renamed-store</a>" in admin.get(path).content.decode()
    operator, viewer = login(operator_user).get(path).content.decode(), login(viewer_user).get(path).content.decode()
    assert "New folder" in operator and 'id="upload-toggle"' in operator
    assert "New folder" not in viewer and 'id="upload-toggle"' not in viewer and "b.txt" in viewer
    # A role on a prefix only: no bucket settings link, though an admin's page of the same folder was kept.
    scoped = type(viewer_user).objects.create_user(username="pia", password="pw-pia-123456")
    RoleAssignment.objects.create(user=scoped, role=Role.VIEWER, endpoint=endpoint, bucket=bucket, prefix="a/")
    mine = login(scoped).get(path).content.decode()
    assert "b.txt" in mine and "Bucket settings" not in mine and "Bucket settings" in admin.get(path).content.decode()


def test_the_kept_new_folder_form_carries_each_requests_csrf_token(
    admin_user, django_user_model, endpoint, make_bucket
):
    bucket = make_bucket("csrf")
    other = django_user_model.objects.create_user(username="bea", password="pw-bea-123456", is_superuser=True)
    path = url("object_list", endpoint, bucket)
    found = []
    for user in (admin_user, other):  # one scope (global admins): the second content is the kept one
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = client.get(path).content.decode()
        assert fragments.CSRF_STANDIN not in page
        form = re.search(
            r'class="new-folder-pop"><input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page
        )
        found.append((client, form.group(1)))
    for n, (client, token) in enumerate(found):
        answer = client.post(
            url("folder_create", endpoint, bucket), {"csrfmiddlewaretoken": token, "prefix": "", "name": f"f{n}"},
            follow=True,
        )  # fmt: skip
        assert answer.status_code == 200 and f"Folder “f{n}/” created." in answer.content.decode()
    assert found[0][1] != found[1][1]


def test_the_kept_selection_bar_carries_each_requests_csrf_token(
    admin_user, django_user_model, endpoint, make_bucket, s3client
):
    """The selection's action bar is kept per folder and role: each page's bar holds that request's token,
    the one every form of the page holds (masked once a response), and a selection sent with it is acted on."""
    from buckets.forms.transfer import encode_key

    bucket = make_bucket("bar")
    for key in ("docs/a.txt", "docs/b.txt"):
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    other = django_user_model.objects.create_user(username="cai", password="pw-cai-123456", is_superuser=True)
    path = url("object_list", endpoint, bucket, prefix="docs/")
    for user, key in ((admin_user, "docs/a.txt"), (other, "docs/b.txt")):  # the second bar is the kept one
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = client.get(path).content.decode()
        bar = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)" form="object-actions"', page).group(1)
        assert fragments.CSRF_STANDIN not in page
        assert set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)) == {bar}
        assert f'"X-CSRFToken": "{bar}"' in page  # the layout's htmx header too
        answer = client.post(
            url("selection_delete", endpoint, bucket),
            {"csrfmiddlewaretoken": bar, "prefix": "docs/", "key_b64": encode_key(key)}, follow=True,
        )  # fmt: skip
        assert answer.status_code == 200, answer.content.decode()[:300]
        assert key not in [o["Key"] for o in s3client.list_objects_v2(Bucket=bucket).get("Contents", [])]
