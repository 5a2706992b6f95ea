"""At phone width (390 px, Chromium): the top bar shows every link, bucket names wrap in a column of readable
width, and the audit table, the users and the locked sign-ins fit the screen (rows stacked) — measured in
the browser, not eyeballed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from buckets.models import Bucket
from console.models import Role, RoleAssignment
from tests.audit_helpers import event
from tests.test_browser import log_in, page  # noqa: F401 - the Chromium page fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LONG = "averylongbucketnamewithouthyphensatall-0123456789abcdef"


def test_phone_width(page, live_server, admin_user, endpoint, django_user_model, settings):  # noqa: F811
    origin = live_server.url
    Bucket.objects.create(endpoint=endpoint, name=LONG)
    for i in range(3):
        event("alice", "object.tags.put", endpoint=endpoint, bucket=LONG, key=f"team-a/a/long/path/file-{i}.csv")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, origin, admin_user)

    page.goto(origin + reverse("bucket_list"))
    users = page.locator(".topbar nav a", has_text="Users").bounding_box()
    assert users and users["x"] >= 0 and users["x"] + users["width"] <= 390, "the top bar cuts off Users"
    name = page.locator("#bucket-table td", has_text=LONG).bounding_box()
    assert name and name["width"] >= 150, f"bucket names get a column of {name and name['width']} px"
    wrap = page.locator("#bucket-table")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the bucket list scrolls sideways"

    page.goto(origin + reverse("audit_list"))
    table = page.locator(".table-wrap:has(.audit-table)")
    assert table.evaluate("e => e.scrollWidth <= e.clientWidth"), "the audit table scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row = page.locator(".audit-table tbody tr").first
    when, action = row.locator("td").nth(0).bounding_box(), row.locator("td").nth(2).bounding_box()
    assert action["y"] > when["y"], "rows are stacked: the action is under the time, not beside it"

    # The Users page: the locked sign-ins (their Lift lock button) and the users, stacked, no sideways scrolling.
    pat = django_user_model.objects.create_user("pat", password="pw-pat-123456")
    RoleAssignment.objects.create(user=pat, role=Role.VIEWER, endpoint=endpoint, bucket=LONG, prefix="team-a/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": "pat", "password": "wrong"}, REMOTE_ADDR="10.0.0.5")
    page.goto(origin + reverse("user_list"))
    for table in ("#lock-table", "#user-table"):
        wrap = page.locator(f".table-wrap:has({table})")
        assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{table} scrolls sideways"
    lift = page.get_by_role("button", name="Lift lock").bounding_box()
    assert lift and lift["x"] + lift["width"] <= 390, "the Lift lock button is off the screen"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(origin + reverse("user_detail", args=[pat.pk]))
    for table in page.locator(".table-wrap").all():
        assert table.evaluate("e => e.scrollWidth <= e.clientWidth"), "a table of the user's roles scrolls sideways"
    scope = page.locator("td[data-label=Scope]").first.bounding_box()
    assert scope and scope["width"] >= 250, "the scope gets the row's width, not a column of a few letters"
