"""What a new user tripped over (issue 10, §5), as they see it: the password rules, the create-bucket form's
endpoint, syncing every endpoint, sizes in one convention, a finished job's links, and the phone layout."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse

from buckets.models import Bucket, Job
from console.models import AuditEvent, Endpoint, Role, RoleAssignment
from console.sizes import human_size
from tests.conftest import empty_and_delete

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def _down(name: str) -> Endpoint:
    return Endpoint.objects.create(name=name, url="http://127.0.0.1:9", region="us-east-1")


def test_password_rules_are_a_list_not_tags_as_text(admin_client, admin_user):
    for path in (reverse("user_create"), reverse("user_detail", args=[admin_user.pk])):
        page = admin_client.get(path).content.decode()
        assert "&lt;ul&gt;" not in page and "&lt;li&gt;" not in page, path
        assert re.search(r'<div class="help" id="id_password1_helptext"><ul><li>', page), path
    assert (
        "<p>Leave both empty to hand out a one-time set-password link instead.</p>"
        in admin_client.get(reverse("user_create")).content.decode()
    )


def _selected(page: str) -> str:
    select = re.search(r'<select name="endpoint"[^>]*>(.*?)</select>', page, re.S).group(1)
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select)
    return chosen.group(1) if chosen else ""


def test_create_bucket_preselects_the_endpoint_the_user_came_from(admin_client, endpoint):
    down = _down("aaa-unreachable")  # first by name: it used to be preselected
    create = reverse("bucket_create")
    assert _selected(admin_client.get(create).content.decode()) == "", "nothing chosen for the user"
    assert _selected(admin_client.get(create, {"endpoint": endpoint.pk}).content.decode()) == str(endpoint.pk)
    came_from = f"http://testserver{reverse('bucket_list')}?endpoint={endpoint.pk}"
    assert _selected(admin_client.get(create, HTTP_REFERER=came_from).content.decode()) == str(endpoint.pk)
    bucket_page = f"http://testserver{reverse('bucket_detail', args=[endpoint.pk, 'some-bucket'])}"
    assert _selected(admin_client.get(create, HTTP_REFERER=bucket_page).content.decode()) == str(endpoint.pk)
    elsewhere = f"http://evil.example{reverse('bucket_detail', args=[down.pk, 'x'])}"
    assert _selected(admin_client.get(create, HTTP_REFERER=elsewhere).content.decode()) == ""
    # The bucket list's button carries the endpoint it is filtered by.
    listing = admin_client.get(reverse("bucket_list"), {"endpoint": endpoint.pk}).content.decode()
    assert f'href="{create}?endpoint={endpoint.pk}"' in listing
    # Posting without a choice is a form error, not a 404.
    response = admin_client.post(create, {"name": "never-made-bucket"})
    assert response.status_code == 422 and "Choose the endpoint." in response.content.decode()
    Endpoint.objects.filter(pk=down.pk).delete()
    assert _selected(admin_client.get(create).content.decode()) == str(endpoint.pk), "the only one"


def test_sync_all_endpoints_and_no_never_synced_after_create(admin_client, endpoint, s3client):
    name = f"fresh-{uuid.uuid4().hex[:12]}"
    s3client.create_bucket(Bucket=name)
    _down("zz-unreachable")
    made = f"made-{uuid.uuid4().hex[:12]}"
    try:
        listing = admin_client.get(reverse("bucket_list")).content.decode()
        assert "Sync all endpoints" in listing and f'action="{reverse("bucket_sync_all")}"' in listing
        done = admin_client.post(reverse("bucket_sync_all"), follow=True).content.decode()
        assert "“local”:" in done and "Could not list the buckets of “zz-unreachable”" in done
        assert Bucket.objects.filter(endpoint=endpoint, name=name).exists()
        syncs = AuditEvent.objects.filter(action="buckets.sync").values_list("endpoint_name", "outcome")
        assert sorted(syncs) == [("local", "ok"), ("zz-unreachable", "failed")]

        assert admin_client.post(reverse("bucket_create"), {"endpoint": endpoint.pk, "name": made}).status_code == 302
        assert Bucket.objects.get(endpoint=endpoint, name=made).last_synced is not None
        row = re.search(rf"<tr>\s*<td[^>]*><strong><a [^>]*>{made}</a>.*?</tr>", admin_client.get(
            reverse("bucket_list"), {"q": made}).content.decode(), re.S).group(0)  # fmt: skip
        assert "never" not in row
    finally:
        empty_and_delete(s3client, name)
        empty_and_delete(s3client, made)


def test_sync_all_only_touches_endpoints_of_the_users_roles(client, django_user_model, endpoint):
    other = _down("not-theirs")
    user = django_user_model.objects.create_user("sam", password="pw-sam-123456")
    RoleAssignment.objects.create(user=user, role=Role.VIEWER, endpoint=other, bucket="b")  # a bucket role only
    client.force_login(user)
    assert client.post(reverse("bucket_sync_all")).status_code == 403
    assert not AuditEvent.objects.filter(action="buckets.sync", outcome="ok").exists()


def test_one_size_convention_in_python_templates_and_the_upload_panel():
    assert [human_size(n) for n in (0, 1, 1023, 1536, 9 * 1024**2, 5 * 1024**4)] == [
        "0 bytes", "1 byte", "1023 bytes", "1.5 KiB", "9.0 MiB", "5.0 TiB",
    ]  # fmt: skip
    assert Template("{% load console_size %}{{ n|size }}").render(Context({"n": 1536})) == "1.5\xa0KiB"
    js = (ROOT / "static/console/upload/format.js").read_text()
    assert 'const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];' in js and "value /= 1024" in js
    # No template nor module uses Django's filesizeformat (1,024 steps labelled "KB") any more.
    code = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("buckets/**/*.py"), *ROOT.glob("console/**/*.py")]
    assert [str(p) for p in code if "filesizeformat" in p.read_text() and p.name != "sizes.py"] == []


def test_a_finished_job_does_not_link_to_a_bucket_that_is_gone(admin_client, endpoint):
    Bucket.objects.create(endpoint=endpoint, name="still-here")
    job = Job.objects.create(kind="bucket.empty", title="Empty", endpoint=endpoint, bucket="gone-bucket",
                             prefix="logs/", status=Job.Status.DONE)  # fmt: skip
    page = admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "/gone-bucket/" not in page and "All buckets" in page and "gone-bucket" in page
    Bucket.objects.create(endpoint=endpoint, name="gone-bucket")  # there after all: linked again
    page = admin_client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("bucket_detail", args=[endpoint.pk, "gone-bucket"]) in page and "Browse gone-bucket" in page
