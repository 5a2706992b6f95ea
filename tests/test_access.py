"""console/access.py on its own: effective roles for every kind of scope, visibility, refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse

from buckets.models import Bucket
from console import access
from console.models import AuditEvent, Endpoint, Role, RoleAssignment

V, O, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN  # noqa: E741 - V/O/A read like the table they form


@pytest.fixture
def eps(db):
    return (
        Endpoint.objects.create(name="one", url="http://127.0.0.1:1"),
        Endpoint.objects.create(name="two", url="http://127.0.0.1:2"),
    )


@pytest.fixture
def make_user(db, django_user_model):
    def make(name, *grants, **fields):
        user = django_user_model.objects.create_user(name, password="pw-access-123456", **fields)
        for role, endpoint, bucket, prefix in grants:
            RoleAssignment.objects.create(user=user, role=role, endpoint=endpoint, bucket=bucket, prefix=prefix)
        return user

    return make


def role(user, endpoint=None, bucket="", key=None):
    return access.effective_role(user, endpoint=endpoint, bucket=bucket, key=key)


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_superuser_is_admin_everywhere_unless_inactive(make_user, eps):
    su = make_user("su", is_superuser=True)
    assert role(su) == A and role(su, eps[1], "b", "k") == A
    assert access.visible_endpoint_ids(su) is None and access.bucket_filter(su) is None
    assert access.allowed_prefixes(su, eps[0], "b") is None
    su.is_active = False
    assert role(su) is None and role(su, eps[0], "b") is None
    assert not access.can_see(su, endpoint=eps[0])


def test_anonymous_and_inactive_users_have_nothing(make_user, eps):
    anon = AnonymousUser()
    assert role(anon) is None and role(anon, eps[0], "b", "k") is None
    assert not access.can_see(anon, endpoint=eps[0])
    assert access.visible_endpoint_ids(anon) == set()
    assert access.allowed_prefixes(anon, eps[0], "b") == []
    gone = make_user("gone", (A, None, "", ""), is_active=False)
    assert role(gone) is None and not access.is_global_admin(gone)
    assert access.visible_endpoint_ids(gone) == set()
    assert not Bucket.objects.filter(access.bucket_filter(gone)).exists()


def test_global_role_covers_everything(make_user, eps):
    viewer = make_user("v", (V, None, "", ""))
    for scope in [(None, "", None), (eps[0], "", None), (eps[1], "b", None), (eps[1], "b", "any/key")]:
        assert role(viewer, *scope) == V
    assert access.can_see(viewer, endpoint=eps[1], bucket="whatever")
    assert access.visible_endpoint_ids(viewer) is None
    assert not access.is_global_admin(viewer)
    assert access.is_global_admin(make_user("a", (A, None, "", "")))


def test_endpoint_role_covers_that_endpoint_only(make_user, eps):
    op = make_user("op", (O, eps[0], "", ""))
    assert role(op, eps[0]) == O and role(op, eps[0], "b") == O and role(op, eps[0], "b", "k") == O
    assert role(op) is None, "no role on everything"
    assert role(op, eps[1]) is None and role(op, eps[1], "b") is None
    assert access.can_see(op, endpoint=eps[0], bucket="b") and not access.can_see(op, endpoint=eps[1])
    assert access.visible_endpoint_ids(op) == {eps[0].pk}


def test_bucket_role_covers_that_bucket_only(make_user, eps):
    Bucket.objects.create(endpoint=eps[0], name="mine")
    Bucket.objects.create(endpoint=eps[0], name="theirs")
    Bucket.objects.create(endpoint=eps[1], name="mine")
    adm = make_user("adm", (A, eps[0], "mine", ""))
    assert role(adm, eps[0], "mine") == A and role(adm, eps[0], "mine", "deep/key") == A
    assert role(adm, eps[0]) is None, "a bucket role is no role on the endpoint"
    assert role(adm, eps[0], "theirs") is None and role(adm, eps[1], "mine") is None
    assert access.can_see(adm, endpoint=eps[0]) and access.can_see(adm, endpoint=eps[0], bucket="mine")
    assert not access.can_see(adm, endpoint=eps[0], bucket="theirs")
    assert not access.can_see(adm, endpoint=eps[1], bucket="mine")
    visible = Bucket.objects.filter(access.bucket_filter(adm))
    assert [(b.endpoint.name, b.name) for b in visible] == [("one", "mine")]
    assert access.allowed_prefixes(adm, eps[0], "mine") is None
    assert access.allowed_prefixes(adm, eps[0], "theirs") == []


def test_prefix_role_acts_only_inside_the_prefix(make_user, eps):
    op = make_user("pre", (O, eps[0], "data", "team-a/"))
    assert role(op, eps[0], "data") is None, "a prefix role is no role on the whole bucket"
    assert role(op, eps[0], "data", "team-a/report.csv") == O
    assert role(op, eps[0], "data", "team-a/") == O
    assert role(op, eps[0], "data", "team-a/sub/deeper.txt") == O
    assert role(op, eps[0], "data", "team-b/report.csv") is None
    assert role(op, eps[0], "data", "team-a") is None, "the folder name without its slash is another key"
    assert role(op, eps[0], "other", "team-a/x") is None
    assert access.allowed_prefixes(op, eps[0], "data") == ["team-a/"]
    assert access.allowed_prefixes(op, eps[0], "other") == []
    # It may see the bucket, and browse down to the prefix.
    assert access.can_see(op, endpoint=eps[0], bucket="data")
    assert access.browse_role(op, endpoint=eps[0], bucket="data") == V
    assert access.browse_role(op, endpoint=eps[0], bucket="data", key="") == V
    assert access.browse_role(op, endpoint=eps[0], bucket="data", key="team-b/") is None
    assert access.browse_role(op, endpoint=eps[0], bucket="data", key="team-b/file") is None
    assert access.browse_role(op, endpoint=eps[0], bucket="other") is None


def test_nested_and_multiple_prefixes(make_user, eps):
    user = make_user(
        "multi",
        (V, eps[0], "data", "a/"),
        (A, eps[0], "data", "a/b/"),
        (O, eps[0], "data", "logs/2024/"),
    )
    assert access.allowed_prefixes(user, eps[0], "data") == ["a/", "logs/2024/"], "minimal: a/b/ lies inside a/"
    assert role(user, eps[0], "data", "a/x") == V
    assert role(user, eps[0], "data", "a/b/x") == A, "the highest covering role wins"
    assert role(user, eps[0], "data", "logs/2024/01.gz") == O
    assert role(user, eps[0], "data", "logs/2023/01.gz") is None
    prefixes = access.allowed_prefixes(user, eps[0], "data")
    assert access.key_allowed(prefixes, "a/anything") and not access.key_allowed(prefixes, "b/x")
    # Folders on the way down to a prefix are listed; siblings are not.
    assert access.folder_visible(prefixes, "") and access.folder_visible(prefixes, "logs/")
    assert access.folder_visible(prefixes, "logs/2024/") and access.folder_visible(prefixes, "a/b/c/")
    assert not access.folder_visible(prefixes, "logs/2023/") and not access.folder_visible(prefixes, "b/")
    assert access.key_allowed(None, "anything") and access.folder_visible(None, "x/")
    assert not access.key_allowed([], "x") and not access.folder_visible([], "")


def test_bucket_role_beside_a_prefix_role_opens_the_whole_bucket(make_user, eps):
    user = make_user("both", (V, eps[0], "data", ""), (O, eps[0], "data", "mine/"))
    assert access.allowed_prefixes(user, eps[0], "data") is None
    assert role(user, eps[0], "data", "mine/x") == O and role(user, eps[0], "data", "other/x") == V
    assert role(user, eps[0], "data") == V


def test_roles_through_groups_add_up(make_user, eps):
    user = make_user("member", (V, None, "", ""))
    ops = Group.objects.create(name="ops")
    RoleAssignment.objects.create(group=ops, role=O, endpoint=eps[1], bucket="shared")
    assert role(user, eps[1], "shared") == V
    ops.user_set.add(user)
    access.forget(user)
    assert role(user, eps[1], "shared") == O and role(user, eps[1], "elsewhere") == V
    ops.user_set.remove(user)
    access.forget(user)
    assert role(user, eps[1], "shared") == V


def test_group_prefix_role(make_user, eps):
    user = make_user("grp-only")
    team = Group.objects.create(name="team")
    team.user_set.add(user)
    RoleAssignment.objects.create(group=team, role=A, endpoint=eps[0], bucket="data", prefix="team/")
    assert access.allowed_prefixes(user, eps[0], "data") == ["team/"]
    assert role(user, eps[0], "data", "team/x") == A and role(user, eps[0], "data", "x") is None
    assert access.visible_endpoint_ids(user) == {eps[0].pk}


def test_assignments_are_read_once_per_request(make_user, eps, django_assert_num_queries):
    user = make_user("cached", (O, eps[0], "b", ""))
    with django_assert_num_queries(1):
        for _ in range(5):
            role(user, eps[0], "b", "k")
            access.can_see(user, endpoint=eps[0], bucket="b")
            access.allowed_prefixes(user, eps[0], "b")


def test_require_role_404_403_and_denied_rows(make_user, eps):
    user = make_user("req", (O, eps[0], "data", "team-a/"), (V, eps[0], "open", ""))
    request = request_for(user)
    ep = eps[0]
    # Visible, within the role.
    assert access.require_role(request, O, action="object.put", endpoint=ep, bucket="data", key="team-a/f") == O
    assert access.require_role(request, V, action="object.list", endpoint=ep, bucket="data") == V
    listing = access.require_role(request, V, action="object.list", endpoint=ep, bucket="data", key="", listing=True)
    assert listing == V
    assert access.require_role(request, V, action="bucket.view", endpoint=ep, bucket="open") == V
    # Visible but beyond the role: 403 and an audit row each.
    refused = [
        dict(need=O, bucket="data", key=None),  # bucket-level change with only a prefix role
        dict(need=O, bucket="data", key="team-b/f"),
        dict(need=V, bucket="data", key="team-b/f"),  # reading a key outside the prefix
        dict(need=V, bucket="data", key="team-b/"),  # listing a sibling folder
        dict(need=V, bucket="data", key=""),  # acting on the folder above the prefix (not listing it)
        dict(need=O, bucket="open", key="x"),
        dict(need=V, bucket="", key=None),  # the endpoint itself
    ]
    for case in refused:
        with pytest.raises(PermissionDenied):
            access.require_role(
                request, case["need"], action="t.refused", endpoint=ep, bucket=case["bucket"], key=case["key"]
            )
    denied = AuditEvent.objects.filter(action="t.refused", outcome="denied")
    assert denied.count() == len(refused)
    assert {e.params["needed_role"] for e in denied} == {"operator", "viewer"}
    assert denied.filter(key="team-b/f", role="").exists()
    # Not visible at all: 404, for another bucket and for another endpoint.
    for endpoint, bucket in [(ep, "hidden"), (eps[1], ""), (eps[1], "data")]:
        with pytest.raises(Http404):
            access.require_role(request, V, action="t.hidden", endpoint=endpoint, bucket=bucket)
    with pytest.raises(PermissionDenied):
        access.require_global_admin(request, action="user.list")


def test_bucket_grants_lists_everyone_and_how(make_user, eps, django_user_model):
    ep = eps[0]
    make_user("root", is_superuser=True)
    make_user("global", (V, None, "", ""))
    make_user("ep-op", (O, ep, "", ""))
    make_user("bucket-admin", (A, ep, "data", ""))
    make_user("prefix-op", (O, ep, "data", "team/"))
    make_user("elsewhere", (A, ep, "other", ""), (A, eps[1], "", ""))
    member = make_user("member")
    group = Group.objects.create(name="readers")
    group.user_set.add(member)
    RoleAssignment.objects.create(group=group, role=V, endpoint=ep, bucket="data")
    grants = access.bucket_grants(ep, "data")
    rows = {(g.principal, g.name, g.role.value, g.scope, g.via_group) for g in grants}
    assert rows == {
        ("user", "root", "admin", "everything", ""),
        ("user", "global", "viewer", "everything", ""),
        ("user", "ep-op", "operator", "endpoint", ""),
        ("user", "bucket-admin", "admin", "bucket", ""),
        ("user", "prefix-op", "operator", "prefix", ""),
        ("group", "readers", "viewer", "bucket", ""),
        ("user", "member", "viewer", "bucket", "readers"),
    }
    prefix_row = next(g for g in grants if g.name == "prefix-op")
    assert prefix_row.assignment.prefix == "team/" and "team/" in prefix_row.scope_label


def test_prefix_user_lists_only_the_way_to_their_prefix(client, django_user_model, endpoint, make_bucket, s3client):
    name = make_bucket("prefix")
    for key in ("team-a/report.csv", "team-b/secret.csv", "top-level.txt"):
        s3client.put_object(Bucket=name, Key=key, Body=b"x")
    user = django_user_model.objects.create_user("pat", password="pw-access-123456")
    RoleAssignment.objects.create(user=user, role=O, endpoint=endpoint, bucket=name, prefix="team-a/")
    client.force_login(user)
    root = client.get(reverse("object_list", args=[endpoint.pk, name]))
    assert root.status_code == 200, "the bucket root is on the way down to team-a/"
    html = root.content.decode()
    assert "team-a/" in html
    assert "team-b" not in html and "top-level.txt" not in html, "siblings of the prefix are not listed"
    assert client.get(reverse("object_list", args=[endpoint.pk, name]) + "?prefix=team-b/").status_code == 403
    inside = client.get(reverse("object_list", args=[endpoint.pk, name]) + "?prefix=team-a/")
    assert "report.csv" in inside.content.decode()


def test_prefix_user_is_sent_to_their_folders_not_the_bucket_settings(client, django_user_model, endpoint, make_bucket):
    name = make_bucket("prefix-settings")
    Bucket.objects.create(endpoint=endpoint, name=name)
    user = django_user_model.objects.create_user("pia", password="pw-access-123456")
    RoleAssignment.objects.create(user=user, role=O, endpoint=endpoint, bucket=name, prefix="team-a/")
    client.force_login(user)
    page = client.get(reverse("bucket_detail", args=[endpoint.pk, name]))
    assert page.status_code == 302 and page["Location"] == reverse("object_list", args=[endpoint.pk, name])
    policy = client.get(reverse("bucket_setting", args=[endpoint.pk, name, "policy"]))
    assert policy.status_code == 403
    assert AuditEvent.objects.filter(actor=user, outcome="denied", action__startswith="bucket.").exists()
