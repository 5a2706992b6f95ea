"""Accessibility: axe-core over every page and htmx fragment, in light and dark mode; a keyboard-only walk.

The page walk is driven by the URL resolver: every named URL must either be reached by the walk (seen as an
HTML response in the browser, page or fragment, and checked by axe while it is on screen) or be listed in
NOT_PAGES with the reason it renders no page of its own. A new page therefore fails this test until the walk
reaches it.
"""

from __future__ import annotations

import re
import struct
import time
import urllib.parse
import zlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from buckets.models import Bucket, Job
from buckets.services import uploads as upload
from console import audit
from console.models import AuditEvent, Role, RoleAssignment
from tests import a11y_helpers as a11y
from tests.audit_helpers import event
from tests.objects_fixtures import allow_acls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Named URLs that render no page or fragment of their own: POST actions that redirect (the page they redirect to
# is walked), downloads and exports, and the JSON calls of the upload flow.
NOT_PAGES = {
    "logout": "POST, redirects to the login page",
    "endpoint_check": None,  # walked (POST fragment); listed here only if the walk misses it, see below
    "user_deactivate": "POST, redirects to the user page",
    "user_reactivate": "POST, redirects to the user page",
    "user_set_password": "POST, redirects to the user page",
    "user_role_assign": "POST, redirects to the user page",
    "user_otp_require": "POST, redirects to the user page",
    "user_otp_reset": "POST, redirects to the user page",
    "role_remove": "POST, redirects to the user or group page",
    "group_delete": "POST, redirects to the user list",
    "group_member_add": "POST, redirects to the group page",
    "group_member_remove": "POST, redirects to the group page",
    "group_role_assign": "POST, redirects to the group page",
    "otp_disable": "POST, redirects to the two-factor page",
    "audit_export_csv": "CSV download",
    "audit_export_jsonl": "JSON Lines download",
    "bucket_sync": "POST, redirects to the bucket list",
    "bucket_sync_all": "POST, redirects to the bucket list",
    "object_download": "redirects to a presigned S3 URL",
    "object_version_restore": "POST, redirects to the versions page",
    "object_undelete": "POST, redirects to the object list",
    "multipart_abort": "POST, redirects to the incomplete-uploads page",
    "bucket_setting_save": "POST from an edit form; its answers (display or form with errors) are the walked fragments",
    "bucket_setting_remove": "POST, answers the walked display fragment",
    "lifecycle_rule_save": "POST from the walked rule form; answers the walked lifecycle fragment",
    "lifecycle_rule_delete": "POST, answers the walked lifecycle fragment",
    "bucket_setting_recheck": "POST, answers the walked display fragment",
    "object_section_save": "POST from a walked edit form; answers the walked display or form",
    "object_section_remove": "POST, answers the walked display fragment",
    "object_section_recheck": "POST, answers the walked display fragment",
    "healthz": "JSON for load balancers",
    "oidc_start": "redirects to the OpenID provider (404 while single sign-on is off)",
    "oidc_callback": "the OpenID provider's redirect back (404 while single sign-on is off)",
    "user_lock_lift": "POST, redirects to the user list",
    "directory_mapping_create": "POST, redirects to the directory page",
    "directory_mapping_remove": "POST, redirects to the directory page",
    "metrics": "Prometheus text",
    "upload_cors_allow": "POST, answers the walked upload panel",
    "upload_start": "JSON (upload flow)",
    "upload_part_urls": "JSON (upload flow)",
    "upload_part": "JSON (upload flow)",
    "upload_put": "JSON (upload flow)",
    "upload_complete": "JSON (upload flow)",
    "upload_abort": "JSON (upload flow)",
    "selection_copy_run": "POST from the walked review page; starts a job (job page walked)",
    "selection_move_run": "POST from the walked review page; starts a job (job page walked)",
    "selection_delete": "POST from the walked review page; redirects to the object list",
    "alert_rule_delete": "POST, redirects to the alerts page",
    "alert_destination_delete": "POST, redirects to the alerts page",
    "alert_destination_test": "POST, redirects to the walked destination page",
    "alert_delivery_retry": "POST, redirects to the alerts page",
    "bucket_drift_check": "POST, answers the walked drift card of the bucket page",
    "bulk_start": "POST from the walked dry-run page; redirects to the walked job page",
    "job_pause": "POST, redirects to the job page",
    "job_resume": "POST, redirects to the job page",
    "job_cancel": "POST, redirects to the job page",
    "job_report": "CSV download",
    "folder_create": "POST, redirects to the object list",
    "catalog_uploads_abort_old": "POST, redirects to the walked analytics page",
    "catalog_index_enable": "POST, redirects to the walked index page",
    "catalog_index_crawl": "POST, redirects to the walked job page",
    "catalog_index_disable": "POST, redirects to the walked index page",
    "catalog_inventory_load": "POST, redirects to the walked job page",
    "catalog_inventory_setup": "POST, redirects to the walked index page",
    "catalog_endpoint_enable": "POST, redirects to the walked endpoint analytics page",
}
NOT_PAGES = {name: why for name, why in NOT_PAGES.items() if why}


def url_names(patterns=None) -> set[str]:
    names: set[str] = set()
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            names |= url_names(p.url_patterns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(p.name)
    return names


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x30\x80\xd0" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def browser():
    with a11y.chromium() as b:
        yield b


@pytest.fixture
def seeded(endpoint, make_bucket, s3client, admin_user, operator_user, viewer_user, nobody_user, live_server):
    """Everything a page can show: buckets with settings, objects with versions, users, a group, events, jobs."""
    bucket = make_bucket("a11y", versioned=True)
    s3client.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"first\n", ContentType="text/plain")
    s3client.put_object(
        Bucket=bucket, Key="docs/readme.txt", Body=b"second\n", ContentType="text/plain", Metadata={"project": "apollo"}
    )
    s3client.put_object_tagging(
        Bucket=bucket, Key="docs/readme.txt", Tagging={"TagSet": [{"Key": "team", "Value": "ops"}]}
    )
    s3client.put_object(Bucket=bucket, Key="docs/", Body=b"")
    s3client.put_object(Bucket=bucket, Key="photo.png", Body=tiny_png(), ContentType="image/png")
    s3client.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    s3client.delete_object(Bucket=bucket, Key="gone.txt")
    s3client.create_multipart_upload(Bucket=bucket, Key="big.bin")
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(live_server.url)]})
    allow_acls(s3client, bucket)  # the ACL sections can be edited (and walked)
    other = make_bucket("a11y-plain")
    for name in (bucket, other):
        Bucket.objects.create(endpoint=endpoint, name=name, region="us-east-1")

    RoleAssignment.objects.create(user=viewer_user, role=Role.VIEWER, endpoint=endpoint, bucket=bucket, prefix="docs/")
    nobody_user.is_active = False
    nobody_user.save()
    TOTPDevice.objects.create(user=viewer_user, name="phone", confirmed=True)

    event("alice", "bucket.tags.put", endpoint=endpoint, bucket=bucket, before={"env": "dev"}, after={"env": "test"})
    event("oscar", "object.delete", endpoint=endpoint, bucket=bucket, key="docs/old.txt", outcome="denied")
    event("alice", "object.metadata.put", endpoint=endpoint, bucket=bucket, key="docs/readme.txt", outcome="failed")
    job = Job.objects.create(
        kind="count",
        title=f"Count objects in {bucket}",
        status=Job.Status.DONE,
        endpoint=endpoint,
        bucket=bucket,
        actor=admin_user,
        total=5,
        done=5,
        started_at=timezone.now() - timedelta(seconds=3),
        finished_at=timezone.now(),
        message="5 objects, 14 bytes.",
    )
    running = Job.objects.create(
        kind="delete_prefix",
        title=f"Delete docs/ in {bucket}",
        status=Job.Status.RUNNING,
        endpoint=endpoint,
        bucket=bucket,
        prefix="docs/",
        actor=admin_user,
        total=10,
        done=4,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(hours=1),  # not taken for lost on a slow machine mid-walk
    )
    versions = s3client.list_object_versions(Bucket=bucket, Prefix="docs/readme.txt")["Versions"]
    old_version = next(v["VersionId"] for v in versions if not v["IsLatest"])
    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "other": other,
        "job": job,
        "running": running,
        "old_version": old_version,
        "users": {"admin": admin_user, "operator": operator_user, "viewer": viewer_user, "nobody": nobody_user},
        "s3client": s3client,
    }


def seed_alerting(endpoint, bucket: str, *, s3client) -> dict:
    """A drift check that found an outside change, a rule, a destination and a dead letter."""
    from watch.models import Alert, AlertRule, Delivery, Destination
    from watch.services import drift

    drift.drift_check(endpoints=[endpoint], bucket=bucket, trigger="command")
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "outside"}]})
    found = drift.drift_check(endpoints=[endpoint], bucket=bucket, trigger="command").events
    destination = Destination.objects.create(name="ops-mail", kind="email", recipients="ops@example.com")
    rule = AlertRule.objects.create(name="outside changes", condition="external")
    rule.destinations.add(destination)
    alert = Alert.objects.create(rule=rule, rule_name=rule.name, event_id=found[0].pk, title="outside changes: tags")
    refused = "The mail server refused or could not be reached (ConnectionRefusedError)."
    Delivery.objects.create(alert=alert, destination=destination, status="dead", attempts=6, last_error=refused)
    return {"rule": rule, "destination": destination}


def login(page, origin: str, username: str) -> None:
    page.goto(f"{origin}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}-123456")
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login/$"))


class Walk:
    """A browser page that records which named URLs it received HTML from, and runs axe on request."""

    def __init__(self, page, origin: str):
        self.page, self.origin = page, origin
        self.covered: set[str] = set()
        self.found: list[str] = []
        page.on("response", self._seen)

    def _seen(self, response) -> None:
        if not response.url.startswith(self.origin):
            return
        if "text/html" not in (response.headers.get("content-type") or "") or response.status >= 500:
            return
        try:
            match = resolve(urllib.parse.urlsplit(response.url).path)
        except Resolver404:
            return
        if match.url_name:
            self.covered.add(match.url_name)

    def visit(self, path: str, label: str | None = None) -> None:
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status < 500, f"{path}: {response and response.status}"
        a11y.settle(self.page)
        self.check(label or path)

    def check(self, label: str) -> None:
        a11y.settle(self.page)
        a11y.check(self.page, label, self.found)


def q(**params) -> str:
    return "?" + urllib.parse.urlencode(params)


def test_axe_every_page_and_fragment(browser, seeded, live_server):
    origin = live_server.url
    ep, bucket, other = seeded["endpoint"], seeded["bucket"], seeded["other"]
    users = seeded["users"]
    b = f"/b/{ep.pk}/{bucket}"
    page = a11y.new_page(browser)
    walk = Walk(page, origin)

    walk.visit("/login/", "login page")
    login(page, origin, "alice")
    walk.visit("/users/", "user list without groups")  # the empty state, with its link in the text
    group = Group.objects.create(name="ops-team")
    group.user_set.add(users["operator"])
    RoleAssignment.objects.create(group=group, role=Role.OPERATOR, endpoint=ep, bucket=bucket)
    readme = q(key="docs/readme.txt")
    alerting = seed_alerting(ep, bucket, s3client=seeded["s3client"])
    from catalog.services import index as catalog_index  # search and analytics need an index to show

    catalog_index.index_enable(actor=audit.Actor(user_id=None, username="a11y"), endpoint=ep, bucket=bucket)
    paths = [
        "/",
        "/endpoints/",
        "/endpoints/new/",
        f"/endpoints/{ep.pk}/edit/",
        f"/endpoints/{ep.pk}/delete/",
        "/users/",
        "/users/new/",
        f"/users/{users['operator'].pk}/",
        f"/users/{users['viewer'].pk}/",
        f"/users/{users['nobody'].pk}/",
        "/groups/new/",
        "/directory/",
        f"/groups/{group.pk}/",
        f"/access/bucket/{ep.pk}/{bucket}/",
        "/account/2fa/",
        "/audit/",
        "/audit/?outcome=denied",
        f"/audit/{AuditEvent.objects.filter(action='bucket.tags.put').get().pk}/",
        "/buckets/",
        "/buckets/new/",
        f"/jobs/{seeded['job'].pk}/",
        f"/jobs/{seeded['running'].pk}/",
        f"{b}/objects/",
        f"{b}/objects/?prefix=docs/",
        f"{b}/objects/?versions=1",
        f"{b}/objects/?filter=nothing-like-this",
        f"/b/{ep.pk}/{other}/objects/",
        f"{b}/object/{readme}",
        f"{b}/object/{q(key='docs/readme.txt', version_id=seeded['old_version'])}",
        f"{b}/object/{q(key='photo.png')}",
        f"{b}/object/{q(key='gone.txt')}",
        f"{b}/object/versions/{readme}",
        f"{b}/object/versions/delete/{q(key='docs/readme.txt', version_id=seeded['old_version'])}",
        *[f"{b}/object/section/{slug}/{readme}" for slug in ("properties", "metadata", "tags", "acl", "storage")],
        *[f"{b}/object/section/{slug}/edit/{readme}" for slug in ("metadata", "tags", "acl", "storage")],
        f"{b}/object/copy/{readme}",
        f"{b}/object/move/{readme}",
        f"{b}/object/rename/{readme}",
        f"{b}/object/delete/{readme}",
        f"{b}/prefix/copy/?prefix=docs/",
        f"{b}/prefix/move/?prefix=docs/",
        f"{b}/prefix/rename/?prefix=docs/",
        f"{b}/prefix/delete/?prefix=docs/",
        f"{b}/uploads/",
        f"{b}/uploads/abort-all/",
        f"{b}/empty/",
        f"{b}/delete/",
        f"{b}/settings/lifecycle/rule/",
        f"{b}/settings/versioning/",
        f"{b}/settings/versioning/edit/",
        "/alerts/",
        "/alerts/rules/new/",
        f"/alerts/rules/{alerting['rule'].pk}/",
        "/alerts/destinations/new/",
        f"/alerts/destinations/{alerting['destination'].pk}/",
        f"{b}/drift/",
        f"{b}/index/",
        f"{b}/search/",
        f"{b}/search/?q=doc",
        f"{b}/analytics/",
        f"{b}/analytics/?prefix=docs/",
        f"/b/{ep.pk}/{other}/search/",
        f"/e/{ep.pk}/analytics/",
        "/nothing-here/",
    ]
    for path in paths:
        walk.visit(path)

    # The bucket page of a slow endpoint: its settings come as one fragment after the page.
    from buckets.views import sections

    sections._inline_missed[ep.pk] = time.monotonic()
    walk.visit(f"{b}/", "bucket page, settings through htmx")
    sections._inline_missed.clear()
    # The bucket page, filled as it arrives; then every edit form is opened at once.
    walk.visit(f"{b}/", "bucket page")
    page.locator("#bucket-history").scroll_into_view_if_needed()
    edits = page.locator(".bucket-sections .setting .card-head").get_by_role("button", name="Edit")
    for i in range(edits.count()):
        edits.nth(0).click()  # the clicked section turns into a form, so the next Edit is always the first
        expect(page.locator(".setting.editing")).to_have_count(i + 1)
        a11y.settle(page)
    walk.check("bucket page, every setting editing")
    # A save that fails shows the form with its errors.
    tags = page.locator("#setting-tags")
    tags.locator("input[name=tag_key]").first.fill("bad key with = sign" * 10)
    tags.get_by_role("button", name="Save").click()
    a11y.settle(page)
    walk.check("bucket page, tags form with errors")
    # The policy editor's review step and the lifecycle rule form.
    policy = page.locator("#setting-policy")
    if policy.locator("button", has_text="Allow public read").count():
        policy.locator("button", has_text="Allow public read").click()
        a11y.settle(page)
        walk.check("bucket page, policy helper")
        policy.get_by_role("button", name="Review changes").click()
        expect(policy.get_by_role("heading", name="Review the change")).to_be_visible()
        walk.check("bucket page, policy review")
    walk.visit(f"{b}/", "bucket page again")
    page.locator("#setting-lifecycle").get_by_role("button", name=re.compile("Add a rule|Add rule")).first.click()
    a11y.settle(page)
    walk.check("bucket page, lifecycle rule form")

    # The object page with every section editing, then a share link.
    walk.visit(f"{b}/object/{readme}", "object page")
    for section in ("#object-metadata", "#object-tags", "#object-acl", "#object-storage"):
        page.locator(section).get_by_role("button", name=re.compile(r"^(Edit|Change)\b")).click()
        expect(page.locator(f"{section} form[method=post]")).to_have_count(1)
    page.locator("#object-history").scroll_into_view_if_needed()
    walk.check("object page, every section editing")
    page.locator("#object-share").get_by_role("button", name="Create link").click()
    expect(page.locator("#share-url")).to_be_visible()
    walk.check("object page, share link")

    # Review pages of the selection (POST from the object list), and the endpoint check fragment.
    for op in ("Copy…", "Move…", "Delete…"):
        walk.visit(f"{b}/objects/?prefix=docs/", "object list")
        page.get_by_role("checkbox", name="Select readme.txt").check()
        page.locator("#object-actions").get_by_role("button", name=op).first.click()
        page.wait_for_load_state("load")
        walk.check(f"selection review {op}")
    # A bulk action: its form (for what is ticked, folders included), the dry run, the job page.
    walk.visit(f"{b}/objects/?prefix=docs/", "object list, row menu open")
    page.locator("details.menu > summary").first.click()
    walk.check("object list, row menu open")
    page.get_by_role("checkbox", name="Select readme.txt").check()
    page.get_by_role("button", name="More actions…").click()
    page.wait_for_load_state("load")
    walk.check("bulk action form")
    page.fill("textarea[name=tags]", "a11y=1")
    page.get_by_role("button", name="Count (dry run)").click()
    page.wait_for_load_state("load")
    walk.check("bulk dry run")
    page.get_by_role("button", name=re.compile("^Start")).click()
    page.wait_for_url(re.compile(r"/jobs/"))
    walk.check("bulk job page")
    walk.visit(f"{b}/", "bucket page for count")
    page.get_by_role("button", name=re.compile("^Count")).first.click()
    page.wait_for_url(re.compile(r"/jobs/"))
    walk.check("count job page")
    walk.visit("/endpoints/", "endpoint list")
    page.get_by_role("button", name=re.compile("Check")).first.click()
    expect(page.locator(".check-result").first).not_to_be_empty()
    walk.check("endpoint list, check result")
    walk.visit("/buckets/new/", "create bucket")
    page.get_by_role("button", name=re.compile("Generate")).first.click()
    a11y.settle(page)
    walk.check("create bucket, generated name")
    walk.visit(f"/users/{users['operator'].pk}/", "user page")
    page.get_by_role("button", name=re.compile("link", re.I)).first.click()
    page.wait_for_load_state("load")
    walk.check("one-time password link")
    walk.visit(f"/users/{users['viewer'].pk}/", "user page, role form")
    page.locator("input[name=scope][value=bucket]").check()
    page.locator("#role-scope").get_by_text(re.compile("Choose the endpoint")).wait_for()
    walk.check("role form, scope preview")
    page.context.close()

    # As other people: a prefix-scoped viewer with two-factor, a forbidden page, a set-password link.
    page = a11y.new_page(browser)
    walk.page = page
    page.on("response", walk._seen)
    page.goto(f"{origin}/login/")
    page.fill("input[name=username]", "victor")
    page.fill("input[name=password]", "pw-victor-123456")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/account/2fa/verify/"))
    walk.check("two-factor verify")
    page.context.close()
    RoleAssignment.objects.create(user=users["operator"], role=Role.VIEWER)
    page = a11y.new_page(browser)
    walk.page = page
    page.on("response", walk._seen)
    login(page, origin, "oscar")
    walk.visit("/users/", "403 page")
    page.context.close()
    page = a11y.new_page(browser)
    walk.page = page
    page.on("response", walk._seen)
    token = default_token_generator.make_token(users["operator"])
    walk.visit(f"/password/set/{urlsafe_base64_encode(force_bytes(users['operator'].pk))}/{token}/", "set password")
    page.context.close()

    missing = url_names() - walk.covered - set(NOT_PAGES)
    problems = [a11y.report(walk.found)] if walk.found else []
    if missing:
        problems.append(f"named URLs the walk did not reach (walk them or list them in NOT_PAGES): {sorted(missing)}")
    assert not problems, "\n\n".join(problems)


FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  const label = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().replace(/\\s+/g, " ");
  return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.name ? "[name=" + el.name + "]" : ""} ${label}`
    .slice(0, 120);
}"""


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def focus_is(page, selector: str) -> bool:
    return page.evaluate("(sel) => !!document.activeElement && document.activeElement.matches(sel)", selector)


def tab_to(page, selector: str, limit: int = 60, key: str = "Tab") -> None:
    """Press Tab until focus is on an element matching selector (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focus_is(page, selector):
            return
    raise AssertionError(f"{limit} presses of {key} never reached {selector}; focus is on {focused(page)}")


def focus_ring(page) -> bool:
    """The focused element draws an outline (or its label does, for a visually hidden file input)."""
    return page.evaluate(
        """() => {
            let el = document.activeElement;
            if (el.matches("input.visually-hidden")) el = el.closest("label");
            const style = getComputedStyle(el);
            return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
        }"""
    )


def test_keyboard_upload_open_edit_and_save(
    browser, live_server, operator_user, endpoint, make_bucket, s3client, tmp_path
):
    bucket = make_bucket("kbd")
    origin = live_server.url
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [upload.upload_rule(origin)]})
    s3client.put_object(Bucket=bucket, Key="docs/other.txt", Body=b"other")
    s3client.put_object(Bucket=bucket, Key="docs/sub/deeper.txt", Body=b"deeper")
    (tmp_path / "readme.txt").write_bytes(b"hello\n")
    page = a11y.new_page(browser)
    login(page, origin, "oscar")
    page.goto(f"{origin}/b/{endpoint.pk}/{bucket}/objects/?prefix=docs/")
    a11y.settle(page)

    # The first Tab reaches the skip link, visible while focused; Enter puts focus on the main area.
    page.keyboard.press("Tab")
    assert focus_is(page, "a.skip-link"), focused(page)
    assert page.locator("a.skip-link").bounding_box()["y"] >= 0 and focus_ring(page)
    page.keyboard.press("Enter")
    assert focus_is(page, "main#main"), focused(page)

    # "?" opens the shortcut help as a modal dialog; Escape closes it and focus comes back.
    page.keyboard.press("?")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    assert page.evaluate("() => document.getElementById('shortcuts-help').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts-help")).to_be_hidden()
    assert focus_is(page, "main#main"), focused(page)

    # "u" opens the file picker; Tab reaches Upload; the file goes to S3.
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("u")
    chooser.value.set_files(tmp_path / "readme.txt")
    expect(page.locator("[data-staged-summary]")).to_contain_text("1 file")
    tab_to(page, "[data-upload-go]")
    assert focus_ring(page)
    page.keyboard.press("Enter")
    expect(page.locator("[data-batch-summary]")).to_contain_text("Uploaded 1 file")
    assert s3client.get_object(Bucket=bucket, Key="docs/readme.txt")["Body"].read() == b"hello\n"
    expect(page.locator("#object-table")).to_contain_text("readme.txt")
    # The panel after a batch (file rows, progress bars, summary) is a state of the page axe checks too.
    # Focus went to the batch summary (the button pressed is gone), not to <body>.
    assert focus_is(page, "[data-batch-summary]"), focused(page)
    found: list[str] = []
    a11y.check(page, "object list after an upload", found)
    assert not found, a11y.report(found)
    # Said aloud: the panel's live region has the outcome; the page's flash area is a live region too.
    expect(page.locator("[data-upload-panel] [data-live][aria-live=polite]")).to_contain_text("Uploaded 1 file")
    assert page.locator("#flash").get_attribute("aria-live") == "polite"
    # The pickers are buttons that show their focus (not a 1x1 px hidden input).
    tab_to(page, "button[data-pick=files]", key="Shift+Tab")
    assert focus_ring(page), focused(page)
    page.keyboard.press("Tab")
    assert focus_is(page, "button[data-pick=folder]") and focus_ring(page), focused(page)

    # "/" goes to the filter; typing filters; ArrowDown goes to the first row, "x" selects it, "a" goes to the actions.
    page.keyboard.press("/")
    assert focus_is(page, "#object-filter"), focused(page)
    page.keyboard.type("read")
    expect(page.locator("#object-table tbody tr")).to_have_count(1)
    assert focus_is(page, "#object-filter"), focused(page)
    page.keyboard.press("ArrowDown")
    assert focus_is(page, "#object-table a.entry"), focused(page)
    assert "readme.txt" in focused(page)
    page.keyboard.press("x")
    expect(page.get_by_role("checkbox", name="Select readme.txt")).to_be_checked()
    expect(page.locator("[data-selection-count]")).to_have_text("1 selected:")
    page.keyboard.press("a")
    assert focus_is(page, "#object-actions button"), focused(page)
    assert "Copy" in focused(page) and focus_ring(page)

    # Clear the filter; j/k move between rows; Backspace goes up a folder and back in with Enter.
    page.keyboard.press("/")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    expect(page.locator("#object-table tbody tr")).to_have_count(3)  # sub/, other.txt, readme.txt
    page.keyboard.press("ArrowDown")
    assert "sub" in focused(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert "readme.txt" in focused(page)
    page.keyboard.press("k")
    assert "other.txt" in focused(page)
    page.keyboard.press("Backspace")
    page.wait_for_url(re.compile(r"/objects/$"))
    a11y.settle(page)
    page.keyboard.press("j")
    assert "docs" in focused(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"prefix=docs"))
    a11y.settle(page)

    # Open readme.txt with "o".
    for _ in range(3):
        page.keyboard.press("j")
    assert "readme.txt" in focused(page)
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/object/\?key=docs%2Freadme.txt"))
    a11y.settle(page)

    # The metadata Edit is a real button: Space opens the form and focus lands on its first field.
    section = page.locator("#object-metadata")
    tab_to(page, "#object-metadata button[data-focus-return]")
    assert focus_ring(page)
    page.keyboard.press("Space")
    expect(section.locator("form[method=post]")).to_have_count(1)
    page.wait_for_function("() => document.activeElement.name === 'content_type'")
    assert focus_is(page, "#object-metadata input[name=content_type]")

    # A value S3 cannot take: the save fails and focus goes to the field that is wrong.
    page.keyboard.press("Tab")
    assert focus_is(page, "input[name=cache_control]"), focused(page)
    page.keyboard.type("max-age=60")
    tab_to(page, "input[name=expires]")
    page.keyboard.type("not a date")
    page.keyboard.press("Enter")
    expect(section.locator(".has-error")).to_have_count(1)
    page.wait_for_function("() => document.activeElement.name === 'expires'")
    assert page.locator("input[name=expires]").get_attribute("aria-invalid") == "true"
    assert "CacheControl" not in s3client.head_object(Bucket=bucket, Key="docs/readme.txt")

    # Fixed and saved with Enter: the section shows what S3 holds, focus is back on its Edit button, said aloud.
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.press("Enter")
    expect(section.locator("form[method=post]")).to_have_count(0)
    expect(section).to_contain_text("max-age=60")
    page.wait_for_function("() => document.activeElement.matches('#object-metadata [data-focus-return]')")
    expect(page.locator("#announcer")).not_to_be_empty()
    assert s3client.head_object(Bucket=bucket, Key="docs/readme.txt")["CacheControl"] == "max-age=60"

    # Enter opens it again; Cancel (a button) works with Space and returns focus to Edit.
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.name === 'content_type'")
    tab_to(page, "#object-metadata [data-cancel]")
    assert focused(page).endswith("Cancel")
    page.keyboard.press("Space")
    expect(section.locator("form[method=post]")).to_have_count(0)
    page.wait_for_function("() => document.activeElement.matches('#object-metadata [data-focus-return]')")
    assert not page.js_errors, page.js_errors
    page.context.close()


def test_keyboard_bucket_setting_focus(browser, live_server, admin_user, endpoint, make_bucket):
    """The same focus rules on the bucket page's sections (one mechanism in console.js)."""
    bucket = make_bucket("kbd-set")
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    page = a11y.new_page(browser)
    login(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/b/{endpoint.pk}/{bucket}/")
    a11y.settle(page)
    # The sections loaded by themselves: none took focus.
    assert focused(page) == "body"
    tab_to(page, "#setting-tags button[data-focus-return]")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.name === 'tag_key'")
    page.keyboard.type("bad key " + "k" * 130)
    page.keyboard.press("Enter")
    expect(page.locator("#setting-tags [role=alert]")).to_have_count(1)
    # Focus goes to the message that says what is wrong (the form's only error is not tied to one field).
    page.wait_for_function("() => document.activeElement.matches('#setting-tags [role=alert]')")
    # Escape in the form is its Cancel: the section shows the stored tags again, focus back on Edit.
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(page.locator("#setting-tags form[method=post]")).to_have_count(0)
    page.wait_for_function("() => document.activeElement.matches('#setting-tags [data-focus-return]')")
    assert not page.js_errors, page.js_errors
    page.context.close()
