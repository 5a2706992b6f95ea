"""console.rowlookup: the session, user and endpoint lookups every request makes, without the ORM's compile,
give what the ORM gives (on SQLite and PostgreSQL, converters and all) and refuse what it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from buckets.views.common import endpoint_or_404
from console.backends import LocalPasswordBackend, user_by_pk
from console.models import AuditEvent, Endpoint
from console.rowlookup import RowLookup
from console.sessions.db import SessionStore

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _same_as_the_orm(found, expected) -> None:
    assert type(found) is type(expected)
    assert _fields(found) == _fields(expected)
    assert (found._state.adding, found._state.db) == (False, expected._state.db)


def test_a_user_an_endpoint_and_a_session_read_as_the_orm_reads_them(admin_client, admin_user):
    admin_user.last_login = timezone.now() - timedelta(days=3, microseconds=17)
    admin_user.save()
    _same_as_the_orm(user_by_pk(admin_user.pk), get_user_model().objects.get(pk=admin_user.pk))
    assert user_by_pk(str(admin_user.pk)) is not None  # a session holds the id as text; the ORM takes that too
    found = user_by_pk(admin_user.pk)
    assert timezone.is_aware(found.last_login) and found.last_login == admin_user.last_login  # SQLite: converted

    endpoint = Endpoint(name="keys", url="https://s3.example.com", credential_source="keys", access_key_id="AKIA1")
    endpoint.set_secret_access_key("a-secret-value")
    endpoint.save()
    read = endpoint_or_404(endpoint.pk)
    _same_as_the_orm(read, Endpoint.objects.get(pk=endpoint.pk))
    assert read.get_secret_access_key() == "a-secret-value"
    read.region = "eu-west-1"
    read.save()  # an instance built by from_db saves as an update
    assert Endpoint.objects.get(pk=endpoint.pk).region == "eu-west-1" and Endpoint.objects.count() == 1

    key = admin_client.cookies["sessionid"].value
    _same_as_the_orm(RowLookup(Session, "session_key").get(key), Session.objects.get(session_key=key))


def test_what_matches_no_row_or_several_is_none():
    users = get_user_model().objects
    first, _ = users.create_user("twin1", first_name="Same"), users.create_user("twin2", first_name="Same")
    assert RowLookup(get_user_model(), "first_name").get("Same") is None  # not unique: as get() would refuse
    assert RowLookup(get_user_model(), "first_name", "pk").get("Same", first.pk).username == "twin1"
    assert user_by_pk(first.pk + 1000) is None
    assert user_by_pk(None) is None
    with pytest.raises(ValueError):
        user_by_pk("1 OR 1=1")  # prepared as the ORM prepares it: an id is a number
    with pytest.raises(Exception, match="404|endpoint"):
        endpoint_or_404(12345)


def test_a_manager_that_filters_is_refused():
    class Visible(AuditEvent._default_manager.__class__):
        def get_queryset(self):
            return super().get_queryset().filter(outcome="ok")

    manager = Visible()
    manager.model = AuditEvent
    lookup = RowLookup(AuditEvent, "pk")
    lookup.model = type("Filtered", (), {"_default_manager": manager, "_meta": AuditEvent._meta})
    with pytest.raises(ValueError, match="filters"):
        lookup.get(1)


def test_an_expired_session_is_not_read_and_its_browser_signs_in_again(admin_client):
    key = admin_client.cookies["sessionid"].value
    assert admin_client.get(reverse("dashboard")).status_code == 200
    store = SessionStore(key)
    assert store.load()["_auth_user_id"]
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None  # a new session, as Django's own store does
    answer = admin_client.get(reverse("dashboard"))
    assert answer.status_code == 302 and reverse("login") in answer["Location"]


def test_a_deactivated_user_is_signed_out_at_the_next_request(admin_client, admin_user):
    assert admin_client.get(reverse("dashboard")).status_code == 200
    get_user_model().objects.filter(pk=admin_user.pk).update(is_active=False)
    assert LocalPasswordBackend().get_user(admin_user.pk) is None
    answer = admin_client.get(reverse("dashboard"))
    assert answer.status_code == 302 and reverse("login") in answer["Location"]


def test_a_request_reads_its_session_and_user_in_one_query_each(admin_user):
    client = Client()
    client.force_login(admin_user)
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum('FROM "django_session"' in sql for sql in statements) == 1
    assert sum('FROM "auth_user" WHERE' in sql for sql in statements) == 1


def test_a_users_role_assignments_are_their_own_and_their_groups_only(django_user_model):
    from django.contrib.auth.models import Group
    from django.db.models import Q

    from console import access
    from console.models import RoleAssignment

    endpoint = Endpoint.objects.create(name="roles", url="https://s3.example.com")
    ann, bob = django_user_model.objects.create_user("ann"), django_user_model.objects.create_user("bob")
    team, other = Group.objects.create(name="team"), Group.objects.create(name="other")
    ann.groups.add(team)
    bob.groups.add(other)
    mine = RoleAssignment.objects.create(user=ann, role="viewer", endpoint=endpoint, bucket="b1", prefix="logs/")
    ours = RoleAssignment.objects.create(group=team, role="operator", endpoint=endpoint)
    RoleAssignment.objects.create(user=bob, role="admin")  # bob's and his group's: not ann's
    RoleAssignment.objects.create(group=other, role="admin")
    held = access._assignments(ann)
    expected = RoleAssignment.objects.filter(Q(user=ann) | Q(group__in=ann.groups.all()))
    assert sorted(_fields(a).items() for a in held) == sorted(_fields(a).items() for a in expected)
    assert {a.pk for a in held} == {mine.pk, ours.pk}
    assert all(timezone.is_aware(a.created_at) for a in held)
    assert access.effective_role(ann, endpoint=endpoint) == "operator"
    ann.groups.remove(team)
    access.forget(ann)
    assert [a.pk for a in access._assignments(ann)] == [mine.pk]
    assert access.effective_role(ann, endpoint=endpoint) is None
