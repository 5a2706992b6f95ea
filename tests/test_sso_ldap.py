"""LDAP sign-in through the login form against a real OpenLDAP (slapd, started by the tests).

Password checked by the directory, nested groups mapped to console groups, refusals with their
reason (no mapped group, a local account of the same name, the directory down), StartTLS and
LDAPS with a CA file, and the next sign-in refreshing the groups.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from console import access
from console.models import AuditEvent, DirectoryGroupMapping, Endpoint, ExternalIdentity, Role, RoleAssignment
from tests.ldap_fixtures import BASE, PASSWORDS
from tests.oidc_fixtures import silent_port

User = get_user_model()
PEOPLE = f"ou=people,{BASE}"


@pytest.fixture
def teams(db):
    """s3-admins (nested) → admins: admin on alpha; ops (by DN) → operators: operator on alpha."""
    alpha = Endpoint.objects.create(name="alpha", url="http://127.0.0.1:9")
    admins, operators = Group.objects.create(name="admins"), Group.objects.create(name="operators")
    RoleAssignment.objects.create(group=admins, role=Role.ADMIN, endpoint=alpha)
    RoleAssignment.objects.create(group=operators, role=Role.OPERATOR, endpoint=alpha)
    DirectoryGroupMapping.objects.create(source="ldap", directory_group="s3-admins", group=admins)
    DirectoryGroupMapping.objects.create(source="ldap", directory_group=f"CN=ops,OU=groups,{BASE}", group=operators)
    return alpha


def login(client: Client, username: str, password: str | None = None):
    return client.post(reverse("login"), {"username": username, "password": password or PASSWORDS[username]})


def test_sign_in_with_the_directory_password_and_nested_groups(ldap_on, teams):
    client = Client(HTTP_USER_AGENT="ldap test")
    response = login(client, "grace")
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    grace = User.objects.get(username="grace")
    assert (grace.first_name, grace.last_name, grace.email) == ("Grace", "Hopper", "grace@example.org")
    assert not grace.has_usable_password(), "the password stays in the directory"
    assert list(grace.groups.values_list("name", flat=True)) == ["admins"], "s3-admins through platform"
    assert access.effective_role(grace, endpoint=teams) == Role.ADMIN
    assert ExternalIdentity.objects.get(user=grace, source="ldap").directory_groups == ["platform", "s3-admins"]
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["auth.user.created", "auth.groups.changed", "auth.sso.login"]
    event = AuditEvent.objects.get(action="auth.sso.login")
    assert event.params["source"] == "ldap" and event.params["user_agent"] == "ldap test"
    # A group mapped by its DN (in another case than the directory's) works too.
    assert login(Client(), "linus").status_code == 302
    assert access.effective_role(User.objects.get(username="linus"), endpoint=teams) == Role.OPERATOR


def test_a_wrong_password_is_a_failed_login(ldap_on, teams):
    response = login(Client(), "grace", "not her password")
    assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    assert not User.objects.exists()
    assert AuditEvent.objects.get(action="auth.login.failed").params["reason"] == "wrong user name or password"


def test_a_user_in_no_mapped_group_is_refused(ldap_on, teams):
    response = login(Client(), "mallory")
    assert response.status_code == 200 and "in no group that has access to this console" in response.text
    event = AuditEvent.objects.get(action="auth.sso.refused")
    assert (event.actor_name, event.params["source"], event.params["reason"]) == ("mallory", "ldap", "no mapped group")
    assert "marketing" in event.params["detail"]
    assert not User.objects.filter(username="mallory").exists()
    assert not AuditEvent.objects.filter(action="auth.login.failed").exists(), "one row for one refusal"


def test_the_next_sign_in_shows_a_group_change(ldap_on, teams):
    login(Client(), "linus")
    linus = User.objects.get(username="linus")
    assert access.effective_role(linus, endpoint=teams) == Role.OPERATOR
    ldap_on.set_members("ops", f"uid=grace,{PEOPLE}")  # linus leaves ops ...
    ldap_on.set_members("platform", f"uid=grace,{PEOPLE}", f"uid=linus,{PEOPLE}")  # ... and joins platform
    assert login(Client(), "linus").status_code == 302
    linus.refresh_from_db()
    assert list(linus.groups.values_list("name", flat=True)) == ["admins"]
    change = AuditEvent.objects.filter(action="auth.groups.changed").latest("seq")
    assert change.params["added"] == ["admins"] and change.params["removed"] == ["operators"]
    ldap_on.set_members("ops")
    ldap_on.set_members("platform")
    assert login(Client(), "linus").status_code == 200, "in no mapped group any more: refused"
    assert not linus.groups.exists(), "and the roles are gone"


def test_the_next_sign_in_refreshes_name_and_email(ldap_on, teams):
    login(Client(), "grace")
    ldap_on.set_attribute("grace", "mail", "grace.hopper@example.org")
    ldap_on.set_attribute("grace", "givenName", "Amazing Grace")
    assert login(Client(), "grace").status_code == 302
    grace = User.objects.get(username="grace")
    assert (grace.first_name, grace.email) == ("Amazing Grace", "grace.hopper@example.org")
    event = AuditEvent.objects.get(action="auth.user.refreshed")
    assert event.params["source"] == "ldap"
    assert event.after == {"email": "grace.hopper@example.org", "first_name": "Amazing Grace"}
    assert login(Client(), "grace").status_code == 302
    assert AuditEvent.objects.filter(action="auth.user.refreshed").count() == 1, "nothing changed: no row"


@pytest.mark.parametrize(("group_type", "nested"), [("nestedActiveDirectory", True), ("activeDirectory", False)])
def test_active_directory_group_types(ldap_on, teams, settings, group_type, nested):
    """Active Directory's group types (groups found by their member attribute) against the same directory."""
    settings.LDAP_GROUP_TYPE = group_type
    response = login(Client(), "grace")
    if nested:  # grace is in s3-admins through platform
        assert response.status_code == 302
        assert list(User.objects.get(username="grace").groups.values_list("name", flat=True)) == ["admins"]
    else:  # only platform, which maps to nothing
        assert response.status_code == 200 and "in no group that has access" in response.text
        assert not User.objects.exists()


def test_sso_only_keeps_directory_and_break_glass_sign_in(ldap_on, teams, django_user_model, settings):
    settings.SSO_ONLY, settings.SSO_BREAK_GLASS_USERS = True, ["root"]
    django_user_model.objects.create_user("root", password="a long local password 1")
    django_user_model.objects.create_user("bob", password="a long local password 2")
    page = Client().get(reverse("login")).text
    assert 'name="password"' in page, "directory accounts sign in with the form"
    assert login(Client(), "bob", "a long local password 2").status_code == 200, "a local password: refused"
    assert login(Client(), "root", "a long local password 1").status_code == 302, "a break-glass admin"
    assert login(Client(), "grace").status_code == 302, "a directory account"


def test_a_local_account_is_not_taken_over(ldap_on, teams, django_user_model):
    local = django_user_model.objects.create_user("grace", password="the local one's password")
    response = login(Client(), "grace")
    assert response.status_code == 200 and "A local console account has this name" in response.text
    event = AuditEvent.objects.get(action="auth.sso.refused")
    assert event.params["reason"] == "local account of that name"
    local.refresh_from_db()
    assert not local.groups.exists() and not ExternalIdentity.objects.exists()


def test_a_deactivated_user_is_refused_and_signed_out(ldap_on, teams):
    client = Client()
    login(client, "grace")
    assert client.get(reverse("dashboard")).status_code == 200
    User.objects.filter(username="grace").update(is_active=False)
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert login(Client(), "grace").status_code == 200
    assert AuditEvent.objects.get(action="auth.sso.refused").params["reason"] == "deactivated"


def test_a_signed_in_directory_user_is_read_each_request_with_their_directory_side(ldap_on, teams):
    from console.ldap_auth import ConsoleLDAPBackend

    client = Client()
    login(client, "grace")
    grace = User.objects.get(username="grace")
    assert client.session["_auth_user_backend"] == "console.ldap_auth.ConsoleLDAPBackend"
    found = ConsoleLDAPBackend().get_user(grace.pk)
    assert found.pk == grace.pk and found.ldap_user.dn.lower().startswith("uid=grace")  # as the package sets it
    assert ConsoleLDAPBackend().get_user(grace.pk + 1000) is None
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_directory_that_is_down(ldap_on, teams, django_user_model, settings):
    settings.LDAP_SERVER_URI = "ldap://127.0.0.1:9"  # nothing listens
    response = login(Client(), "grace")
    assert response.status_code == 200 and "The directory (LDAP) cannot be reached now" in response.text
    assert AuditEvent.objects.get(action="auth.login.failed").params["reason"] == "directory unreachable"
    django_user_model.objects.create_user("root", password="a long local password 1")
    assert login(Client(), "root", "a long local password 1").status_code == 302, "break-glass still works"


def test_a_directory_that_does_not_answer_times_out(ldap_on, teams, settings):
    settings.LDAP_TIMEOUT = 1.0
    with silent_port() as port:
        settings.LDAP_SERVER_URI = f"ldap://127.0.0.1:{port}"
        began = time.monotonic()
        response = login(Client(), "grace")
        took = time.monotonic() - began
    assert response.status_code == 200 and "The directory (LDAP) cannot be reached now" in response.text
    assert took < 6, took
    assert AuditEvent.objects.get(action="auth.login.failed").params["reason"] == "directory unreachable"


def test_direct_bind_without_a_service_account(ldap_on, teams, settings):
    settings.LDAP_BIND_DN = settings.LDAP_BIND_PASSWORD = ""
    settings.LDAP_USER_DN_TEMPLATE = f"uid=%(user)s,{PEOPLE}"
    assert login(Client(), "grace").status_code == 302
    assert User.objects.get(username="grace").groups.filter(name="admins").exists()


@pytest.mark.parametrize("how", ["starttls", "ldaps"])
def test_tls_with_a_ca_file(ldap_on, teams, settings, how):
    settings.LDAP_CA_FILE = ldap_on.ca_file
    if how == "starttls":
        settings.LDAP_START_TLS = True
    else:
        settings.LDAP_SERVER_URI = ldap_on.ldaps_uri
    assert login(Client(), "grace").status_code == 302
    # A certificate the configured CA did not sign: no sign-in, a clear message.
    settings.LDAP_CA_FILE = ldap_on.other_ca_file
    response = login(Client(), "linus")
    assert response.status_code == 200 and "cannot be reached" in response.text
    assert not User.objects.filter(username="linus").exists()
