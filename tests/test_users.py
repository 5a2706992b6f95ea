"""Team administration through the pages: users, passwords, set-password links, roles, groups, bucket access."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from buckets.models import Bucket
from console.models import AuditEvent, Endpoint, Role, RoleAssignment

GOOD_PASSWORD = "correct horse battery staple 42"


def audit_text() -> str:
    """Everything the audit trail holds, to prove no secret is in it."""
    return json.dumps(list(AuditEvent.objects.values("params", "before", "after", "error_message")))


def test_create_user_with_a_password(admin_client, django_user_model):
    weak = admin_client.post(
        reverse("user_create"), {"username": "bob", "password1": "12345678", "password2": "12345678"}
    )
    assert weak.status_code == 422
    assert "too short" in weak.content.decode() or "too common" in weak.content.decode()
    assert not django_user_model.objects.filter(username="bob").exists()
    differ = admin_client.post(
        reverse("user_create"), {"username": "bob", "password1": GOOD_PASSWORD, "password2": "x"}
    )
    assert differ.status_code == 422 and "differ" in differ.content.decode()

    response = admin_client.post(
        reverse("user_create"),
        {"username": "bob", "email": "bob@example.com", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    bob = django_user_model.objects.get(username="bob")
    assert response.status_code == 302 and response["Location"] == reverse("user_detail", args=[bob.pk])
    assert bob.check_password(GOOD_PASSWORD)
    event = AuditEvent.objects.get(action="user.create")
    assert event.outcome == "ok" and event.params == {"username": "bob"}
    assert event.after["email"] == "bob@example.com" and event.after["login_ready"] is True
    assert GOOD_PASSWORD not in audit_text()


def test_user_without_password_gets_a_one_time_link(admin_client, django_user_model):
    admin_client.post(reverse("user_create"), {"username": "carol"})
    carol = django_user_model.objects.get(username="carol")
    assert not carol.has_usable_password()
    page = admin_client.get(reverse("user_detail", args=[carol.pk])).content.decode()
    assert "not set" in page and "set-password link" in page

    response = admin_client.post(reverse("user_password_link", args=[carol.pk]))
    assert response.status_code == 200
    link = re.search(r'value="(http://testserver/password/set/[^"]+)"', response.content.decode()).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    event = AuditEvent.objects.get(action="user.password_link.create")
    assert event.params["username"] == "carol" and event.outcome == "ok"
    assert token not in audit_text(), "the token never reaches the audit trail"

    anon = Client()
    opened = anon.get(link)
    assert opened.status_code == 302 and token not in opened["Location"], "Django moves the token out of the URL"
    form = anon.get(opened["Location"])
    assert form.status_code == 200 and "Choose your password" in form.content.decode()
    weak = anon.post(opened["Location"], {"new_password1": "carol", "new_password2": "carol"})
    assert weak.status_code == 200 and "errors" in weak.content.decode()
    done = anon.post(opened["Location"], {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("login")
    carol.refresh_from_db()
    assert carol.check_password(GOOD_PASSWORD)
    set_event = AuditEvent.objects.get(action="auth.password.change")
    assert set_event.actor_name == "carol" and set_event.params == {
        "username": "carol",
        "via": "link",
        "user_agent": "",
    }
    assert GOOD_PASSWORD not in audit_text()

    # Used once: the same link no longer works, for anyone.
    again = Client().get(link, follow=True)
    assert "This link does not work" in again.content.decode()
    logged_in = Client().post(reverse("login"), {"username": "carol", "password": GOOD_PASSWORD})
    assert logged_in.status_code == 302 and logged_in["Location"] == reverse("dashboard")


def test_admin_sets_a_password(admin_client, django_user_model):
    user_client = Client()
    dave = django_user_model.objects.create_user("dave", password="old password for dave 1")
    user_client.force_login(dave)
    url = reverse("user_set_password", args=[dave.pk])
    refused = admin_client.post(url, {"password1": "dave", "password2": "dave"})
    assert refused.status_code == 422 and "too short" in refused.content.decode()
    assert admin_client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}).status_code == 302
    dave.refresh_from_db()
    assert dave.check_password(GOOD_PASSWORD)
    event = AuditEvent.objects.get(action="auth.password.change")
    assert event.actor_name == "alice" and event.params == {"username": "dave", "via": "admin", "user_agent": ""}
    assert GOOD_PASSWORD not in audit_text()
    assert user_client.get(reverse("dashboard")).status_code == 302, "a new password ends the user's sessions"


def test_deactivate_and_reactivate(admin_client, admin_user, django_user_model):
    user_client = Client()
    erin = django_user_model.objects.create_user("erin", password=GOOD_PASSWORD)
    RoleAssignment.objects.create(user=erin, role=Role.VIEWER)
    user_client.force_login(erin)
    assert user_client.get(reverse("dashboard")).status_code == 200
    admin_client.post(reverse("user_deactivate", args=[erin.pk]))
    erin.refresh_from_db()
    assert not erin.is_active
    assert user_client.get(reverse("dashboard")).status_code == 302, "an open session ends"
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.before["is_active"] is True and event.after["is_active"] is False
    page = admin_client.get(reverse("user_detail", args=[erin.pk])).content.decode()
    assert "inactive" in page and "Reactivate" in page
    admin_client.post(reverse("user_reactivate", args=[erin.pk]))
    erin.refresh_from_db()
    assert erin.is_active and AuditEvent.objects.filter(action="user.reactivate", outcome="ok").exists()
    # Nobody locks themselves out.
    admin_client.post(reverse("user_deactivate", args=[admin_user.pk]), follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active and not AuditEvent.objects.filter(action="user.deactivate", params__username="alice")


def test_role_assignment_form_and_effect(admin_client, django_user_model, endpoint):
    user_client = Client()
    frank = django_user_model.objects.create_user("frank", password=GOOD_PASSWORD)
    Bucket.objects.create(endpoint=endpoint, name="known-bucket")
    url = reverse("user_role_assign", args=[frank.pk])
    cases = [
        ({"role": "viewer", "scope": "bucket", "bucket": "known-bucket"}, "Choose an endpoint"),
        ({"role": "viewer", "scope": "bucket", "endpoint": endpoint.pk, "bucket": "Bad_Name"}, "lowercase letters"),
        ({"role": "viewer", "scope": "bucket", "endpoint": endpoint.pk, "bucket": "192.168.1.1"}, "IP address"),
        ({"role": "viewer", "scope": "prefix", "endpoint": endpoint.pk, "prefix": "logs/"}, "Choose a bucket"),
        ({"role": "boss", "scope": "everything"}, "Select a valid choice"),
    ]
    for data, message in cases:
        response = admin_client.post(url, data)
        assert response.status_code == 422 and message in response.content.decode(), data
    assert not RoleAssignment.objects.filter(user=frank).exists()

    # A known bucket, and a valid name of a bucket not synced yet (once the form's box says so), are accepted.
    known = {"role": "operator", "scope": "bucket", "endpoint": endpoint.pk, "bucket": "known-bucket"}
    assert admin_client.post(url, known).status_code == 302
    data = {"role": "viewer", "scope": "prefix", "endpoint": endpoint.pk, "bucket": "not-synced-yet"}
    data["prefix"] = "/team/"
    warned = admin_client.post(url, data)
    assert warned.status_code == 422 and "knows no bucket “not-synced-yet” on local" in warned.content.decode()
    assert 'name="unknown_bucket"' in warned.content.decode()
    data["unknown_bucket"] = "on"
    assert admin_client.post(url, data).status_code == 302
    duplicate = admin_client.post(url, data)
    assert duplicate.status_code == 422 and "exists already" in duplicate.content.decode()
    prefix_role = RoleAssignment.objects.get(user=frank, bucket="not-synced-yet")
    assert prefix_role.prefix == "team/", "a leading slash is not part of S3 keys"
    events = AuditEvent.objects.filter(action="role.assign").order_by("seq")
    assert [e.bucket for e in events] == ["known-bucket", "not-synced-yet"]
    assert events[1].key == "team/" and events[1].after == {
        "principal": "user:frank",
        "role": "viewer",
        "scope": "local / not-synced-yet / team/*",
    }

    user_client.force_login(frank)
    assert "known-bucket" in user_client.get(reverse("bucket_list")).content.decode()
    role = RoleAssignment.objects.get(user=frank, bucket="known-bucket")
    assert admin_client.post(reverse("role_remove", args=[role.pk])).status_code == 302
    assert AuditEvent.objects.get(action="role.remove").before["scope"] == "local / known-bucket"
    assert "known-bucket" not in user_client.get(reverse("bucket_list")).content.decode()


def test_global_role_assignment_is_chosen_not_defaulted(admin_client, django_user_model):
    gina = django_user_model.objects.create_user("gina", password=GOOD_PASSWORD)
    data = {"role": "admin", "scope": "everything"}
    assert admin_client.post(reverse("user_role_assign", args=[gina.pk]), data).status_code == 302
    assignment = RoleAssignment.objects.get(user=gina)
    assert assignment.endpoint is None and assignment.role == "admin"
    assert "Admin on everything" in admin_client.get(reverse("user_list")).content.decode()


def test_groups_give_roles_to_their_members(admin_client, django_user_model, endpoint):
    user_client = Client()
    hank = django_user_model.objects.create_user("hank", password=GOOD_PASSWORD)
    Bucket.objects.create(endpoint=endpoint, name="team-bucket")
    response = admin_client.post(reverse("group_create"), {"name": "data-team"})
    group = Group.objects.get(name="data-team")
    assert response["Location"] == reverse("group_detail", args=[group.pk])
    admin_client.post(reverse("group_member_add", args=[group.pk]), {"user": hank.pk})
    admin_client.post(
        reverse("group_role_assign", args=[group.pk]),
        {"role": "operator", "scope": "bucket", "endpoint": endpoint.pk, "bucket": "team-bucket"},
    )
    assert RoleAssignment.objects.filter(group=group, bucket="team-bucket", role="operator").exists()
    user_client.force_login(hank)
    assert "team-bucket" in user_client.get(reverse("bucket_list")).content.decode()

    page = admin_client.get(reverse("group_detail", args=[group.pk])).content.decode()
    assert "hank" in page and "local / team-bucket" in page
    access_page = admin_client.get(reverse("bucket_access", args=[endpoint.pk, "team-bucket"])).content.decode()
    assert "member of group “data-team”" in access_page and "hank" in access_page

    admin_client.post(reverse("group_member_remove", args=[group.pk, hank.pk]))
    assert not group.user_set.filter(pk=hank.pk).exists()
    assert "team-bucket" not in user_client.get(reverse("bucket_list")).content.decode()
    admin_client.post(reverse("group_delete", args=[group.pk]))
    assert not Group.objects.filter(name="data-team").exists()
    assert not RoleAssignment.objects.filter(bucket="team-bucket").exists()
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == [
        "group.create",
        "group.member.add",
        "role.assign",
        "group.member.remove",
        "group.delete",
    ]


def test_bucket_access_page_for_a_bucket_admin(client, django_user_model, endpoint):
    other = Endpoint.objects.create(name="other", url="http://127.0.0.1:9")
    boss = django_user_model.objects.create_user("boss", password=GOOD_PASSWORD)
    RoleAssignment.objects.create(user=boss, role=Role.ADMIN, endpoint=endpoint, bucket="reports")
    reader = django_user_model.objects.create_user("reader", password=GOOD_PASSWORD, is_active=False)
    RoleAssignment.objects.create(user=reader, role=Role.VIEWER, endpoint=endpoint, bucket="reports", prefix="q1/")
    RoleAssignment.objects.create(user=reader, role=Role.ADMIN, endpoint=other)
    client.force_login(boss)
    page = client.get(reverse("bucket_access", args=[endpoint.pk, "reports"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "boss" in html and "reader" in html and "only keys under <code>q1/</code>" in html
    assert "inactive" in html
    assert "other" not in html.split("<tbody>")[1], "assignments on other endpoints are not listed"
    assert client.get(reverse("bucket_access", args=[endpoint.pk, "elsewhere"])).status_code == 404
    assert client.get(reverse("user_list")).status_code == 403


@pytest.mark.parametrize("name", ["user_create", "group_create"])
def test_denied_admin_pages_leave_a_row(viewer_client, name):
    assert viewer_client.post(reverse(name), {"username": "x", "name": "x"}).status_code == 403
    assert AuditEvent.objects.filter(outcome="denied", actor_name="victor").count() == 1
