"""The object browser's additions in Chromium: create a folder, the per-row menu by keyboard, ticking a folder
for a bulk job (and following it to its end), and the upload panel that stays folded as it was left."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from buckets.models import Bucket, Job
from tests.test_browser import log_in, page  # noqa: F401 - the page fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("BULK_SHOTS", "")  # a folder: also save screenshots there (1440 and 390 px wide)


def _shot(page, name: str) -> None:  # noqa: F811 - the fixture, passed in
    if not SHOTS:
        return
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_folder_menu_selection_and_bulk_job(page, live_server, operator_user, endpoint, make_bucket, s3client):  # noqa: F811
    bucket = make_bucket("bb")
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    for key in ("photos/2024/a.jpg", "photos/2024/b.jpg", "photos/c.jpg", "readme.txt"):
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    origin = live_server.url
    log_in(page, origin, operator_user)
    page.goto(f"{origin}{reverse('object_list', args=[endpoint.pk, bucket])}")

    # The upload panel is folded (the folder has objects); unfolded, it stays so on the next visit.
    toggle = page.locator("details#upload-toggle")
    expect(toggle).not_to_have_attribute("open", "")
    _shot(page, "object-list")
    toggle.locator("> summary").click()
    expect(page.locator("[data-upload-panel]")).to_have_attribute("data-can-upload", "")
    # The toggle event (which writes the cookie) comes after the click: a reload at once could beat it.
    page.wait_for_function("document.cookie.includes('upload_panel=open')")
    page.reload()
    expect(toggle).to_have_attribute("open", "")
    toggle.locator("> summary").click()  # folded again, remembered again
    page.wait_for_function("document.cookie.includes('upload_panel=closed')")
    page.reload()
    expect(toggle).not_to_have_attribute("open", "")

    # Create a folder from the page head.
    page.get_by_text("New folder", exact=True).click()
    page.fill("#new-folder-name", "reports")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"prefix=reports%2F"))
    expect(page.locator(".flash-success, .flash-info")).to_contain_text("reports/")
    assert s3client.head_object(Bucket=bucket, Key="reports/")["ContentLength"] == 0
    page.goto(f"{origin}{reverse('object_list', args=[endpoint.pk, bucket])}")

    # The per-row menu by keyboard: focus its button, open it with Enter, Escape closes it again.
    menu = page.locator("tr", has_text="readme.txt").locator("details.menu")
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Rename…")).to_be_visible()
    _shot(page, "row-menu")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()

    # Tick a folder and an object; "More actions…" takes both to a bulk job.
    page.get_by_role("checkbox", name="Select the folder photos/").check()
    page.get_by_role("checkbox", name="Select readme.txt").check()
    expect(page.locator("[data-selection-count]")).to_have_text("2 selected:")
    page.get_by_role("button", name="More actions…").click()
    expect(page.locator("h1")).to_have_text("Bulk action")
    expect(page.get_by_text("1 selected object and everything in “photos/”")).to_be_visible()
    page.select_option("select[name=action]", "tag")
    expect(page.locator("[data-bulk-options=storage_class]")).to_be_hidden()
    page.fill("textarea[name=tags]", "album=summer")
    _shot(page, "bulk-form")
    page.get_by_role("button", name="Count (dry run)").click()
    expect(page.locator("[data-dry-run-count]")).to_have_attribute("data-dry-run-count", "4")
    _shot(page, "bulk-review")
    page.get_by_role("button", name="Start: set tags").click()
    expect(page.locator("h2").first).to_have_text("Finished")
    expect(page.get_by_role("link", name="Report (CSV)")).to_be_visible()
    _shot(page, "bulk-job")
    job = Job.objects.get(kind="bulk.tag")
    assert (job.status, job.done) == ("done", 4)
    tags = s3client.get_object_tagging(Bucket=bucket, Key="photos/2024/b.jpg")["TagSet"]
    assert tags == [{"Key": "album", "Value": "summer"}]


def test_delete_confirmation_and_versions_restore(page, live_server, operator_user, endpoint, make_bucket, s3client):  # noqa: F811
    bucket = make_bucket("bb", versioned=True)
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    old = s3client.put_object(Bucket=bucket, Key="v/doc.txt", Body=b"old")["VersionId"]
    s3client.put_object(Bucket=bucket, Key="v/doc.txt", Body=b"new")
    origin = live_server.url
    log_in(page, origin, operator_user)
    page.goto(f"{origin}{reverse('object_list', args=[endpoint.pk, bucket])}?prefix=v/&versions=1")
    _shot(page, "versions-list")
    page.get_by_role("button", name=re.compile(r"^Restore version")).click()
    expect(page.locator(".flash-success, .flash-info")).to_contain_text("restored")
    assert s3client.get_object(Bucket=bucket, Key="v/doc.txt")["Body"].read() == b"old"
    assert any(v["VersionId"] == old for v in s3client.list_object_versions(Bucket=bucket)["Versions"])

    page.goto(f"{origin}{reverse('bulk_new', args=[endpoint.pk, bucket])}?prefix=v/")
    page.select_option("select[name=action]", "delete")
    page.get_by_role("button", name="Count (dry run)").click()
    start = page.get_by_role("button", name="Start: delete")
    expect(start).to_be_disabled()
    page.get_by_label(f"Type “{bucket}” to confirm").fill(bucket)
    expect(start).to_be_enabled()
    _shot(page, "bulk-delete-confirm")
    start.click()
    expect(page.locator("h2").first).to_have_text("Finished")
    assert "Contents" not in s3client.list_objects_v2(Bucket=bucket)
