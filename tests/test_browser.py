"""The console in a real browser (Chromium through Playwright) against a real SeaweedFS.

Log in through the login page, upload two files from the object list straight to S3 (the bucket
has a CORS rule for the live server's origin, so the direct path runs), open one of them, edit a
metadata value inline, and find both changes on the audit page.
"""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from buckets import upload
from console.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MiB = 1024 * 1024


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, f"JavaScript errors in the page: {errors}"


def test_upload_edit_metadata_and_audit(page, live_server, operator_user, endpoint, make_bucket, s3client, tmp_path):
    bucket = make_bucket("br")
    origin = live_server.url  # http://localhost:<port>
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    big = os.urandom(9 * MiB)  # two parts: 8 MiB and 1 MiB
    small = b"first line\nsecond line\n"
    (tmp_path / "data.bin").write_bytes(big)  # from disk: a buffer this size crawls through the Playwright pipe
    (tmp_path / "readme.txt").write_bytes(small)

    page.goto(f"{origin}{reverse('login')}")
    page.fill("input[name=username]", operator_user.username)
    page.fill("input[name=password]", "pw-oscar-123456")
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login/"))

    page.goto(f"{origin}{reverse('object_list', args=[endpoint.pk, bucket])}?prefix=docs/")
    panel = page.locator("[data-upload-panel]")
    expect(panel).to_have_attribute("data-method", "direct")  # the CORS rule was found
    expect(panel.locator(".badge")).to_have_text("Direct to S3")

    page.set_input_files(
        "[data-upload-panel] input[data-file-input]:not([webkitdirectory])",
        [tmp_path / "readme.txt", tmp_path / "data.bin"],
    )
    expect(panel.locator("[data-staged-summary]")).to_contain_text("2 files")
    panel.locator(".upload-options summary").click()
    panel.locator("[data-upload-add-row=meta]").click()
    panel.locator("[data-meta-row] [data-name]").fill("project")
    panel.locator("[data-meta-row] [data-value]").fill("apollo")
    panel.locator("[data-upload-go]").click()

    expect(panel.locator("[data-batch-percent]")).to_have_text("100%")
    expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 2 files")
    rows = panel.locator(".upload-file")
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_have_attribute("data-state", "done")
        assert rows.nth(i).locator("progress").evaluate("el => el.value") == 100

    # In S3, with the options; audited as direct uploads (the bytes never went through the console).
    assert s3client.get_object(Bucket=bucket, Key="docs/data.bin")["Body"].read() == big
    obj = s3client.get_object(Bucket=bucket, Key="docs/readme.txt")
    assert obj["Body"].read() == small
    assert obj["ContentType"] == "text/plain" and obj["Metadata"] == {"project": "apollo"}
    uploads = AuditEvent.objects.filter(action="object.upload", bucket=bucket, outcome="ok")
    assert {(e.key, e.params["method"], e.params["parts"]) for e in uploads} == {
        ("docs/readme.txt", "direct", 0),
        ("docs/data.bin", "direct", 2),
    }
    expect(page.locator("#object-table")).to_contain_text("readme.txt")  # the list refreshed itself

    # Open the object and edit the metadata value inline.
    rows.filter(has_text="readme.txt").get_by_role("link", name="Open").click()
    section = page.locator("#object-metadata")
    expect(section).to_contain_text("apollo")
    section.get_by_role("button", name="Edit").click()
    value = section.locator("input[name=meta_value]").first
    expect(value).to_have_value("apollo")
    value.fill("gemini")
    section.get_by_role("button", name="Save").click()
    expect(section.locator("form[method=post]")).to_have_count(0)  # the Edit button sits in a GET form
    expect(section).to_contain_text("gemini")
    assert s3client.head_object(Bucket=bucket, Key="docs/readme.txt")["Metadata"] == {"project": "gemini"}

    # The audit page shows the upload and the change, by this user.
    page.goto(f"{origin}{reverse('audit_list')}?bucket={bucket}")
    table = page.locator("table.audit-table")
    edit_row = table.locator("tr", has_text="object.metadata.put")
    expect(edit_row).to_contain_text("docs/readme.txt")
    expect(edit_row).to_contain_text(operator_user.username)
    expect(table.locator("tr", has_text="object.upload")).to_have_count(2)
