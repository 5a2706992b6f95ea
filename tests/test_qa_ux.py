"""Fixes from the QA pass in a browser: feedback after inline saves, a CORS form that adds nothing by itself,
error pages inside the console, links back, "just now" instead of "0 minutes ago"."""

from __future__ import annotations

import html
import json
from datetime import timedelta
from pathlib import Path

from botocore.stub import Stubber
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from buckets import s3
from buckets.models import Bucket
from console.audit import Actor, change
from console.models import AuditEvent
from tests.bucket_helpers import HTMX, record
from tests.bucket_helpers import url as bucket_url
from tests.objects_fixtures import section_url, url


def test_ago_filter_says_just_now_under_a_minute():
    template = Template("{% load console_time %}{{ a|ago }}|{{ b|ago }}|{{ c|ago }}")
    now = timezone.now()
    text = template.render(Context({"a": now - timedelta(seconds=20), "b": now - timedelta(minutes=3), "c": None}))
    assert text == "just now|3\xa0minutes ago|"


def test_inline_object_saves_say_so_in_the_section(operator_client, endpoint, s3client, make_bucket, htmx_headers):
    bucket = make_bucket("qa-saved")
    s3client.put_object(Bucket=bucket, Key="notes.txt", Body=b"x", ContentType="text/plain")
    form = operator_client.get(section_url("edit", "tags", endpoint, bucket, key="notes.txt"), **htmx_headers)
    hidden = {"key": "notes.txt", "seen": form.context["s"]["form"]["seen"].value()}
    saved = operator_client.post(
        section_url("save", "tags", endpoint, bucket),
        {**hidden, "tag_key": ["env"], "tag_value": ["prod"]},
        **htmx_headers,
    )
    page = saved.content.decode()
    assert (
        saved.status_code == 200
        and 'class="setting-note ok" role="status">Tags saved. Showing what S3 now holds.</p>' in page
    )
    assert s3client.get_object_tagging(Bucket=bucket, Key="notes.txt")["TagSet"] == [{"Key": "env", "Value": "prod"}]

    # Metadata re-renders other sections out of band: the note shows once, in the section that was saved.
    form = operator_client.get(section_url("edit", "metadata", endpoint, bucket, key="notes.txt"), **htmx_headers)
    meta = form.context["s"]["form"]
    data = {"key": "notes.txt", "seen": meta["seen"].value(), "content_type": "text/csv"}
    saved = operator_client.post(
        section_url("save", "metadata", endpoint, bucket), data, **htmx_headers
    ).content.decode()
    assert (
        saved.count("setting-note ok") == 1
        and "Metadata and content headers saved." in saved
        and 'hx-swap-oob="true"' in saved
    )
    # A plain (no-JavaScript) post still gets a redirect and a flash message, not the note.
    assert s3client.head_object(Bucket=bucket, Key="notes.txt")["ContentType"] == "text/csv"


def test_cors_form_starts_empty_and_an_unchanged_save_adds_no_rule(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("qa-cors")
    record(endpoint, bucket)
    form = admin_client.get(bucket_url("bucket_setting_edit", endpoint, bucket, "cors"), **HTMX).content.decode()
    assert "app.example.com" in form  # the example is there to read, as the placeholder and in the help
    textarea = form[form.index("<textarea") : form.index("</textarea>")]
    assert 'placeholder="[' in textarea and textarea.endswith(">\n")  # ...but the field itself is empty

    saved = admin_client.post(bucket_url("bucket_setting_save", endpoint, bucket, "cors"), {"rules": ""}, **HTMX)
    assert saved.status_code == 200
    assert "No CORS rules" in saved.content.decode()
    try:
        rules = s3client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except s3client.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchCORSConfiguration"
        rules = []
    assert rules == []

    # With rules stored, the form shows them (not the example).
    s3client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://x.test"], "AllowedMethods": ["GET"]}]},
    )
    form = admin_client.get(bucket_url("bucket_setting_edit", endpoint, bucket, "cors"), **HTMX).content.decode()
    textarea = form[form.index("<textarea") : form.index("</textarea>")]
    assert "https://x.test" in textarea and json.loads(html.unescape(textarea[textarea.index(">") + 1 :]))[0][
        "AllowedMethods"
    ] == ["GET"]


def test_denied_and_missing_pages_stay_inside_the_console(viewer_client):
    denied = viewer_client.get(reverse("endpoint_list"))
    page = denied.content.decode()
    assert denied.status_code == 403
    assert "Not allowed" in page and 'class="topbar"' in page and "console.css" in page
    missing = viewer_client.get(reverse("job_detail", args=["6f1c7a52-1d7e-4a5e-9d3a-2c0c6f0b9a11"]))
    assert missing.status_code == 404


def test_base_page_has_a_favicon_and_does_not_settle_style_attributes(viewer_client):
    page = viewer_client.get(reverse("dashboard")).content.decode()
    assert 'rel="icon" href="/static/console/favicon.svg"' in page
    # htmx copies "settled" attributes with setAttribute; a style attribute is refused by the CSP (style-src 'self').
    config = page[page.index('name="htmx-config" content=\'') :].split("'")[1]
    assert json.loads(config)["attributesToSettle"] == ["class", "width", "height"]
    assert (Path(settings.BASE_DIR) / "static/console/favicon.svg").read_text().startswith("<svg")


def test_bucket_list_shows_counts_and_public_badge(admin_client, endpoint):
    now = timezone.now()
    Bucket.objects.create(endpoint=endpoint, name="qa-counted", object_count=12345, total_bytes=2048, counted_at=now)
    Bucket.objects.create(endpoint=endpoint, name="qa-open", is_public=True, public_checked_at=now, last_synced=now)
    page = admin_client.get(reverse("bucket_list")).content.decode()
    assert "12,345" in page and "2.0\xa0KiB" in page
    row = page[page.index("qa-open") :]
    assert row.index('class="badge public"') < row.index("</tr>") and "just now" in row[: row.index("</tr>")]


def test_audit_event_links_to_its_bucket_and_object(admin_client, admin_user, endpoint):
    with change(
        Actor(admin_user.pk, admin_user.username, role="admin"),
        "object.tags.put",
        endpoint=endpoint,
        bucket="qa-b",
        key="a b/c&d.txt",
    ):
        pass
    event = AuditEvent.objects.get(action="object.tags.put", bucket="qa-b")
    page = admin_client.get(reverse("audit_detail", args=[event.pk])).content.decode()
    assert f'href="{reverse("bucket_detail", args=[endpoint.pk, "qa-b"])}"' in page
    assert f'href="{url("object_detail", endpoint, "qa-b")}?key=a%20b%2Fc%26d.txt"' in page


def test_creating_a_bucket_this_endpoint_already_has_says_so(admin_client, endpoint):
    """SeaweedFS answers BucketAlreadyExists (not ...OwnedByYou) for its own bucket: not "taken by another account"."""
    Bucket.objects.create(endpoint=endpoint, name="qa-mine")
    for name, message in [
        ("qa-mine", "This endpoint already has a bucket with that name."),
        ("qa-theirs", "That name is taken: bucket names are shared by every account"),
    ]:
        with Stubber(s3.client_for(endpoint)) as stub:
            stub.add_client_error("create_bucket", service_error_code="BucketAlreadyExists", http_status_code=409)
            answer = admin_client.post(reverse("bucket_create"), {"endpoint": endpoint.pk, "name": name})
        assert answer.status_code == 422 and message in answer.content.decode()
    assert AuditEvent.objects.filter(action="bucket.create", outcome="failed").count() == 2
