"""The console in a real browser (Chromium through Playwright) against a real SeaweedFS.

Log in through the login page, upload two files from the object list straight to S3 (the bucket
has a CORS rule for the live server's origin, so the direct path runs), open one of them, edit a
metadata value inline, and find both changes on the audit page. Then the upload panel's other
paths: through the console (no CORS rule) with a dropped file and a folder, the one-click CORS
rule and a direct upload from the swapped-in panel, cancel of a running multipart upload, and the
key limit that comes from the server.
"""

from __future__ import annotations

import os
import re

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from buckets import vocabulary
from buckets.services import uploads as upload
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


def close_connections() -> None:
    """Close the connections a test's ORM calls opened while Playwright's loop ran (inside its `with`).

    Django keeps those apart from the test session's (asgiref's Local follows the running loop), so
    nothing else closes them, and PostgreSQL's test database is still "being accessed by other users"
    when pytest-django drops it.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


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
        page.on("filechooser", lambda chooser: None)  # interception on from the start (see a11y_helpers)
        yield page
        browser.close()
        close_connections()
        assert not errors, f"JavaScript errors in the page: {errors}"


def log_in(page, origin: str, user) -> None:
    page.goto(f"{origin}{reverse('login')}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", f"pw-{user.username}-123456")
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login/"))


def open_panel(page, origin: str, endpoint, bucket: str, prefix: str = ""):
    """The object list of the folder, once its upload panel has arrived (htmx loads it)."""
    page.goto(f"{origin}{reverse('object_list', args=[endpoint.pk, bucket])}?prefix={prefix}")
    folded = page.locator("details#upload-toggle:not([open]) > summary")
    if folded.count():  # the panel folds away in a folder that has objects: unfold it
        folded.click()
    panel = page.locator("[data-upload-panel]")
    expect(panel).to_have_attribute("data-can-upload", "")
    return panel


def requests_to(page, prefix: str) -> list[str]:
    """The "METHOD url" of every request the page sends to URLs starting with prefix, as it goes."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.method} {r.url}") if r.url.startswith(prefix) else None)
    return seen


def test_upload_edit_metadata_and_audit(page, live_server, operator_user, endpoint, make_bucket, s3client, tmp_path):
    bucket = make_bucket("br")
    origin = live_server.url  # http://localhost:<port>
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    big = os.urandom(9 * MiB)  # two parts: 8 MiB and 1 MiB
    small = b"first line\nsecond line\n"
    (tmp_path / "data.bin").write_bytes(big)  # from disk: a buffer this size crawls through the Playwright pipe
    (tmp_path / "readme.txt").write_bytes(small)

    log_in(page, origin, operator_user)
    panel = open_panel(page, origin, endpoint, bucket, "docs/")
    expect(panel).to_have_attribute("data-method", "direct")  # the CORS rule was found
    expect(panel.locator(".badge")).to_have_text("Direct to S3")

    # "Choose files" is a real button (it shows its focus); it opens the hidden file input.
    with page.expect_file_chooser() as chooser:
        panel.get_by_role("button", name="Choose files").click()
    chooser.value.set_files([tmp_path / "readme.txt", tmp_path / "data.bin"])
    expect(panel.locator("[data-staged-summary]")).to_have_text("2 files · 9.0 MiB")  # the console's units
    expect(panel.locator(".upload-file").filter(has_text="readme.txt")).to_contain_text("23 bytes")
    panel.locator(".upload-options summary").click()
    panel.locator("[data-upload-add-row=meta]").click()
    panel.locator("[data-meta-row] [data-name]").fill("project")
    panel.locator("[data-meta-row] [data-value]").fill("apollo")
    panel.locator("[data-upload-go]").click()

    expect(panel.locator("[data-batch-percent]")).to_have_text("100%")
    expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 2 files (9.0 MiB)")
    # Focus on the summary (not dropped to <body> with the Upload button), said in the live region too.
    expect(panel.locator("[data-batch-summary]")).to_be_focused()
    expect(panel.locator("[data-live][aria-live=polite]")).to_contain_text("Uploaded 2 files")
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
    expect(section).not_to_have_class(re.compile(r"\bediting\b"))  # back to the display
    expect(section).to_contain_text("gemini")
    assert s3client.head_object(Bucket=bucket, Key="docs/readme.txt")["Metadata"] == {"project": "gemini"}

    # The audit page shows the upload and the change, by this user.
    page.goto(f"{origin}{reverse('audit_list')}?bucket={bucket}")
    table = page.locator("table.audit-table")
    edit_row = table.locator("tr", has_text="object.metadata.put")
    expect(edit_row).to_contain_text("docs/readme.txt")
    expect(edit_row).to_contain_text(operator_user.username)
    expect(table.locator("tr", has_text="object.upload.start")).to_have_count(2)  # each start is audited
    expect(table.locator("tr", has_text="object.upload")).to_have_count(4)  # …and each finished upload


def test_through_the_console_with_a_drop_and_a_folder_then_direct_after_allowing_cors(
    page, live_server, admin_user, endpoint, make_bucket, s3client, seaweed, tmp_path
):
    bucket = make_bucket("fb")  # no CORS rule: the browser may not send to S3
    origin = live_server.url
    album = tmp_path / "album"
    (album / "2026").mkdir(parents=True)
    (album / "cover.txt").write_bytes(b"cover\n")
    big = os.urandom(9 * MiB)
    (album / "2026" / "raw.bin").write_bytes(big)
    to_s3 = requests_to(page, seaweed.url)

    log_in(page, origin, admin_user)
    panel = open_panel(page, origin, endpoint, bucket, "pics/")
    expect(panel).to_have_attribute("data-method", "fallback")
    expect(panel.locator(".badge")).to_have_text("Through the console")

    # A file dropped on the panel (a DataTransfer as the browser builds one for a drop)...
    transfer = page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(["dropped\\n"], "note.md", { type: "text/markdown" }));
            return transfer;
        }"""
    )
    panel.locator(".dropzone").dispatch_event("drop", {"dataTransfer": transfer})
    expect(panel.locator("[data-staged-summary]")).to_contain_text("1 file")
    # ...and a folder from the folder picker: the files keep their paths under the folder's name.
    page.set_input_files("[data-upload-panel] input[data-file-input=folder]", album)
    expect(panel.locator("[data-staged-summary]")).to_contain_text("3 files")
    expect(panel.locator(".upload-file")).to_have_text(
        [re.compile("note.md"), re.compile(r"album/"), re.compile(r"album/")]
    )
    panel.locator("[data-upload-go]").click()
    expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 3 files")
    expect(panel.locator(".upload-file[data-state=done]")).to_have_count(3)
    expect(panel.locator(".upload-file").first).to_contain_text("Done (through the console)")

    assert s3client.get_object(Bucket=bucket, Key="pics/note.md")["Body"].read() == b"dropped\n"
    assert s3client.get_object(Bucket=bucket, Key="pics/album/cover.txt")["Body"].read() == b"cover\n"
    assert s3client.get_object(Bucket=bucket, Key="pics/album/2026/raw.bin")["Body"].read() == big
    uploads = AuditEvent.objects.filter(action="object.upload", bucket=bucket, outcome="ok")
    assert {(e.key, e.params["method"], e.params["parts"]) for e in uploads} == {
        ("pics/note.md", "fallback", 0),
        ("pics/album/cover.txt", "fallback", 0),
        ("pics/album/2026/raw.bin", "fallback", 2),
    }
    assert to_s3 == []  # every byte went through the console

    # The one-click CORS rule swaps the panel in place; the new panel uploads straight to S3.
    panel.get_by_role("button", name="Allow uploads from this console").click()
    expect(panel).to_have_attribute("data-method", "direct")
    expect(panel.locator("[data-panel-focus]")).to_be_focused()  # not dropped to <body>
    page.set_input_files("[data-upload-panel] input[data-file-input=files]", album / "cover.txt")
    panel.locator("[data-upload-go]").click()
    expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 1 file")
    event = AuditEvent.objects.filter(action="object.upload", key="pics/cover.txt").get()
    assert event.params["method"] == "direct"
    assert [r.split(" ")[0] for r in to_s3] == ["PUT"]  # the presigned PUT, from the browser


def test_cancel_a_running_upload_and_the_key_limit_from_the_server(
    page, live_server, operator_user, endpoint, make_bucket, s3client, seaweed, tmp_path, monkeypatch
):
    bucket = make_bucket("cx")
    origin = live_server.url
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    (tmp_path / "video.bin").write_bytes(os.urandom(9 * MiB))
    (tmp_path / "a-name-longer-than-the-limit.txt").write_bytes(b"x")
    # The panel checks keys against the limit the server hands it, not one of its own.
    monkeypatch.setattr(vocabulary, "MAX_KEY_BYTES", 30)
    starts = requests_to(page, f"{origin}{reverse('upload_start', args=[endpoint.pk, bucket])}")
    # Hold every part on its way to S3, so the upload is still running when it is cancelled.
    held = []
    page.route(re.compile(r".*[?&]uploadId=.*"), lambda route: held.append(route))

    log_in(page, origin, operator_user)
    panel = open_panel(page, origin, endpoint, bucket, "clips/")
    page.set_input_files(
        "[data-upload-panel] input[data-file-input=files]",
        [tmp_path / "video.bin", tmp_path / "a-name-longer-than-the-limit.txt"],
    )
    too_long = panel.locator(".upload-file").filter(has_text="a-name-longer")
    expect(too_long).to_contain_text("The object key is longer than 30 bytes (UTF-8). It will be skipped.")
    panel.locator("[data-upload-go]").click()
    expect(too_long).to_have_attribute("data-state", "failed")
    video = panel.locator(".upload-file").filter(has_text="video.bin")
    expect(video).to_have_attribute("data-state", "uploading")
    page.wait_for_function("() => document.querySelector('.upload-file[data-state=uploading]')")

    abort_url = f"{origin}{reverse('upload_abort', args=[endpoint.pk, bucket])}"
    with page.expect_response(abort_url) as aborted:
        video.get_by_role("button", name="Cancel video.bin").click()
    assert aborted.value.status == 204
    expect(video).to_have_attribute("data-state", "cancelled")
    expect(panel.locator("[data-batch-summary]")).to_have_text("Nothing was uploaded. 1 file failed. 1 file cancelled.")
    expect(panel.locator("[data-batch-summary]")).to_be_focused()

    assert len(starts) == 1  # the refused key never reached the console
    assert s3client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert AuditEvent.objects.filter(action="object.upload.abort", key="clips/video.bin", outcome="ok").count() == 1
    assert not AuditEvent.objects.filter(action="object.upload", bucket=bucket).exists()


def test_a_default_retention_sends_every_part_through_the_console(
    page, live_server, operator_user, endpoint, s3client, seaweed, tmp_path
):
    """Object lock with a default retention: S3 takes a part only with a checksum, which a presigned request
    from the browser cannot carry. A panel that showed "Direct to S3" (the retention was set after it loaded)
    still sends every byte through the console, because the console's plan for the file says so."""
    from buckets.services import reads

    bucket = f"lockbr-{os.urandom(6).hex()}"
    s3client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)  # no default retention yet
    origin = live_server.url
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    big = os.urandom(9 * MiB)
    (tmp_path / "raw.bin").write_bytes(big)
    to_s3 = requests_to(page, seaweed.url)
    try:
        log_in(page, origin, operator_user)
        panel = open_panel(page, origin, endpoint, bucket)
        expect(panel).to_have_attribute("data-method", "direct")
        retention = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
        s3client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=retention)
        reads.forget_facts(endpoint=endpoint, bucket=bucket)  # as the console's own object-lock change does

        page.set_input_files("[data-upload-panel] input[data-file-input=files]", tmp_path / "raw.bin")
        panel.locator("[data-upload-go]").click()
        expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 1 file")
        expect(panel.locator(".upload-file").first).to_contain_text("Done (through the console)")
        assert to_s3 == []  # no part went straight to S3
        head = s3client.head_object(Bucket=bucket, Key="raw.bin")
        assert head["ContentLength"] == len(big) and head["ObjectLockMode"] == "GOVERNANCE"
        event = AuditEvent.objects.get(action="object.upload", key="raw.bin", outcome="ok")
        assert (event.params["method"], event.params["parts"]) == ("fallback", 2)

        # The panel, loaded again, says so from the start.
        panel = open_panel(page, origin, endpoint, bucket)
        expect(panel).to_have_attribute("data-method", "fallback")
        expect(panel).to_contain_text("object lock")
    finally:
        for v in s3client.list_object_versions(Bucket=bucket).get("Versions", []):
            s3client.delete_object(
                Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True
            )
        s3client.delete_bucket(Bucket=bucket)


LOCK_REFUSAL = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code><Message>Content-MD5 OR '
    b"x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters</Message></Error>"
)


def test_a_browser_put_that_object_lock_refuses_goes_through_the_console(
    page, live_server, operator_user, make_bucket, s3client, seaweed, tmp_path
):
    """AWS refuses a presigned PUT (whole file or part) without a checksum once a default retention is set;
    the console's plan did not know yet (set outside, or its remembered answer a minute old). A proxy in
    front of SeaweedFS answers as AWS does: the files still arrive, through the console, and say so."""
    from tests.bucket_helpers import seaweed_endpoint
    from tests.job_processes import Proxy

    bucket = make_bucket("lockref")
    origin = live_server.url
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    (tmp_path / "small.txt").write_bytes(b"small\n")
    big = os.urandom(9 * MiB)
    (tmp_path / "big.bin").write_bytes(big)

    def aws_refusal(op, path, headers):
        presigned = "X-Amz-Signature=" in path
        checksum = headers.get("Content-MD5") or any(h.lower().startswith("x-amz-checksum-") for h in headers)
        if op == "PUT" and presigned and not checksum:
            cors = {"Content-Type": "application/xml", "Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            return 400, cors, LOCK_REFUSAL
        return None

    with Proxy(seaweed.url) as proxy:
        endpoint = seaweed_endpoint(seaweed, "aws-like", proxy.url)
        proxy.rules.answer = aws_refusal
        to_s3 = requests_to(page, proxy.url)
        log_in(page, origin, operator_user)
        for name in ("big.bin", "small.txt"):  # refused parts, then a refused whole-file PUT
            panel = open_panel(page, origin, endpoint, bucket)
            expect(panel).to_have_attribute("data-method", "direct")
            tried = len(to_s3)
            page.set_input_files("[data-upload-panel] input[data-file-input=files]", tmp_path / name)
            panel.locator("[data-upload-go]").click()
            expect(panel.locator("[data-batch-summary]")).to_contain_text("Uploaded 1 file", timeout=30_000)
            expect(panel.locator(".upload-file").first).to_contain_text("Done (through the console)")
            assert [r for r in to_s3[tried:] if r.startswith("PUT ")], name  # S3 was tried first, and refused
    assert s3client.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == b"small\n"
    assert s3client.head_object(Bucket=bucket, Key="big.bin")["ContentLength"] == len(big)
    events = {e.key: e.params["method"] for e in AuditEvent.objects.filter(action="object.upload", outcome="ok")}
    assert events == {"small.txt": "fallback", "big.bin": "fallback"}  # a refused PUT carried nothing
