"""OpenID Connect sign-in against a real provider (oidc-provider from npm, tests/oidc/), over HTTP.

The provider's own login and consent pages are driven with requests here (the browser test in
test_sso_browser.py does the same in Chromium). Every refusal of issue 11 has a test: it shows
its reason on the login page, writes an ``auth.sso.refused`` row, and creates or changes no account.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from console import access, oidc
from console.models import (
    AuditEvent,
    DirectoryGroupMapping,
    DirectoryMembership,
    Endpoint,
    ExternalIdentity,
    Role,
    RoleAssignment,
)
from tests.oidc_fixtures import ProviderBrowser, callback, console_client, sign_in, silent_port, start

User = get_user_model()
ADA = {"preferred_username": "ada", "email": "ada@example.com", "name": "Ada Lovelace", "groups": ["eng"]}


@pytest.fixture
def teams(db):
    """Directory group eng → console group engineers (viewer on alpha); ops → operators (operator on beta)."""
    alpha = Endpoint.objects.create(name="alpha", url="http://127.0.0.1:9")
    beta = Endpoint.objects.create(name="beta", url="http://127.0.0.1:9")
    engineers, operators = Group.objects.create(name="engineers"), Group.objects.create(name="operators")
    RoleAssignment.objects.create(group=engineers, role=Role.VIEWER, endpoint=alpha)
    RoleAssignment.objects.create(group=operators, role=Role.OPERATOR, endpoint=beta)
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="eng", group=engineers)
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="ops", group=operators)
    return alpha, beta


def refused(response, reason_text: str, code: str):
    """The login page with the reason, and the audit row; returns the row."""
    assert response.status_code == 302 and response["Location"] == reverse("login"), response
    assert "_auth_user_id" not in response.wsgi_request.session
    event = AuditEvent.objects.filter(action="auth.sso.refused").latest("seq")
    assert event.outcome == "denied" and event.params["reason"] == code and event.params["source"] == "oidc"
    return event


def login_page_message(client) -> str:
    return client.get(reverse("login")).text


def test_first_sign_in_creates_the_user_with_the_roles_of_their_groups(oidc_on, teams):
    alpha, beta = teams
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="requests test")
    page = client.get(reverse("login")).text
    assert "Sign in with Test IdP" in page and 'name="password"' in page, "both ways to sign in"

    response = sign_in(client, "sub-ada", next_url="/buckets/")
    assert response.status_code == 302 and response["Location"] == "/buckets/"
    user = User.objects.get(username="ada")
    assert (user.email, user.first_name, user.has_usable_password()) == ("ada@example.com", "Ada Lovelace", False)
    assert ExternalIdentity.objects.get(user=user).subject == "sub-ada"
    assert list(user.groups.values_list("name", flat=True)) == ["engineers"]
    assert access.effective_role(user, endpoint=alpha) == Role.VIEWER
    assert access.effective_role(user, endpoint=beta) is None
    assert client.get(reverse("dashboard")).status_code == 200

    actions = list(AuditEvent.objects.order_by("seq").values_list("action", "actor_name", "client_ip"))
    assert actions == [
        ("auth.user.created", "ada", "10.1.2.3"),
        ("auth.groups.changed", "ada", "10.1.2.3"),
        ("auth.sso.login", "ada", "10.1.2.3"),
    ]
    assert AuditEvent.objects.get(action="auth.groups.changed").params["added"] == ["engineers"]
    login = AuditEvent.objects.get(action="auth.sso.login")
    assert login.params["directory_groups"] == ["eng"] and login.params["user_agent"] == "requests test"


def test_the_next_sign_in_refreshes_groups_name_and_email(oidc_on, teams, admin_client):
    alpha, beta = teams
    oidc_on.set_accounts({"sub-ada": ADA})
    browser = ProviderBrowser()
    sign_in(console_client(), "sub-ada", browser)
    ada = User.objects.get(username="ada")
    # At the provider: ada moves from eng to ops, and changes her e-mail (still the same subject).
    oidc_on.set_accounts({"sub-ada": {**ADA, "email": "ada@new.example", "groups": ["ops"]}})
    client = console_client()
    assert sign_in(client, "sub-ada", browser).status_code == 302
    assert User.objects.filter(username__startswith="ada").count() == 1, "matched by subject, not by e-mail"
    ada.refresh_from_db()
    assert ada.email == "ada@new.example"
    assert list(ada.groups.values_list("name", flat=True)) == ["operators"]
    assert access.effective_role(ada, endpoint=alpha) is None
    assert access.effective_role(ada, endpoint=beta) == Role.OPERATOR
    change = AuditEvent.objects.filter(action="auth.groups.changed").latest("seq")
    assert change.params["added"] == ["operators"] and change.params["removed"] == ["engineers"]

    # The admin sees where each role comes from, and the mapping.
    page = admin_client.get(reverse("user_detail", args=[ada.pk])).text
    assert "directory group <code>ops</code> (OpenID Connect)" in page and "operators" in page
    mapping = admin_client.get(reverse("directory_mappings")).text
    assert "<code>eng</code>" in mapping and "Operator on beta" in mapping


def test_accounts_follow_the_subject_not_the_name_or_the_email(oidc_on, teams):
    # Another subject with ada's user name and e-mail (a reused address, a second provider account): not ada.
    oidc_on.set_accounts({"sub-ada": ADA, "sub-other": ADA})
    sign_in(console_client(), "sub-ada")
    sign_in(console_client(), "sub-other")
    ada = User.objects.get(username="ada")
    other = ExternalIdentity.objects.get(subject="sub-other").user
    assert other != ada and other.username == "ada-2"
    # Renamed at the provider, new display name: still her account, the name refreshed and audited.
    oidc_on.set_accounts({"sub-ada": {**ADA, "preferred_username": "ada.king", "name": "Ada King"}})
    sign_in(console_client(), "sub-ada")
    assert User.objects.count() == 2
    ada.refresh_from_db()
    assert (ada.username, ada.first_name) == ("ada", "Ada King")
    event = AuditEvent.objects.get(action="auth.user.refreshed")
    assert (event.actor_name, event.before, event.after) == (
        "ada",
        {"first_name": "Ada Lovelace"},
        {"first_name": "Ada King"},
    )
    created = AuditEvent.objects.filter(action="auth.user.created").order_by("seq")
    assert [(e.actor_name, e.params["subject"], e.after["user_id"]) for e in created] == [
        ("ada", "sub-ada", ada.pk),
        ("ada-2", "sub-other", other.pk),
    ]


def test_who_has_access_shows_access_from_the_directory(oidc_on, teams, admin_client):
    alpha, _ = teams
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    page = admin_client.get(reverse("bucket_access", args=[alpha.pk, "team-data"])).text
    assert "member of group “engineers” through directory group eng" in page
    assert "given at sign-in to members of directory group eng" in page


def test_a_membership_given_by_an_admin_stays(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    ada = User.objects.get(username="ada")
    Group.objects.get(name="operators").user_set.add(ada)  # by hand, on the Users page
    oidc_on.set_accounts({"sub-ada": {**ADA, "groups": ["eng", "ops"]}})
    sign_in(console_client(), "sub-ada")
    assert DirectoryMembership.objects.get(user=ada, group__name="operators").was_local
    oidc_on.set_accounts({"sub-ada": {**ADA, "groups": ["eng"]}})
    sign_in(console_client(), "sub-ada")
    assert set(ada.groups.values_list("name", flat=True)) == {"engineers", "operators"}


def test_a_user_in_no_mapped_group_is_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-eve": {**ADA, "preferred_username": "eve", "groups": ["marketing"]}})
    client = console_client()
    event = refused(sign_in(client, "sub-eve"), "no group", "no mapped group")
    assert event.actor_name == "eve" and "marketing" in event.params["detail"]
    assert "in no group that has access to this console" in login_page_message(client)
    assert not User.objects.filter(username="eve").exists()


def test_leaving_every_mapped_group_takes_the_roles_away(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    oidc_on.set_accounts({"sub-ada": {**ADA, "groups": []}})
    refused(sign_in(console_client(), "sub-ada"), "", "no mapped group")
    assert not User.objects.get(username="ada").groups.exists()


def test_a_deactivated_user_is_signed_out_at_once_and_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    sign_in(client, "sub-ada")
    assert client.get(reverse("dashboard")).status_code == 200
    User.objects.filter(username="ada").update(is_active=False)
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login")), "the session ended"
    refused(sign_in(client, "sub-ada"), "", "deactivated")
    assert "deactivated" in login_page_message(client)


def test_a_wrong_state_is_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    url = ProviderBrowser().sign_in(start(client), "sub-ada")
    other = console_client()  # another browser: the state is not one it sent
    refused(callback(other, url), "", "wrong state")
    assert "does not belong to a sign-in started in this browser" in login_page_message(other)
    assert not User.objects.exists()


def test_a_wrong_nonce_is_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    url = ProviderBrowser().sign_in(start(client), "sub-ada")
    session = client.session
    for state in session["oidc_states"].values():
        state["nonce"] = "not-the-nonce-sent"
    session.save()
    refused(callback(client, url), "", "wrong nonce")
    assert "did not pass the console" in login_page_message(client)
    assert not User.objects.exists()


def test_a_replayed_code_is_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    url = ProviderBrowser().sign_in(start(client), "sub-ada")
    states = dict(client.session["oidc_states"])
    assert callback(client, url).status_code == 302 and client.get(reverse("dashboard")).status_code == 200
    # The same answer again, in a browser whose session holds that state (as if it had not been used).
    replay = console_client()
    start(replay)
    session = replay.session
    session["oidc_states"] = states
    session.save()
    before = User.objects.get(username="ada").groups.count()
    refused(callback(replay, url), "", "code refused")
    assert "expired or was used already" in login_page_message(replay)
    assert User.objects.get(username="ada").groups.count() == before


def test_the_sign_in_uses_pkce(oidc_on, teams):
    """An S256 challenge goes with the request (the test provider requires PKCE); a wrong verifier gets no tokens."""
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    url = start(client)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    answer = ProviderBrowser().sign_in(url, "sub-ada")
    session = client.session
    for state in session["oidc_states"].values():
        state["code_verifier"] = "a-verifier-that-does-not-match-the-challenge-0123456789"
    session.save()
    event = refused(callback(client, answer), "", "code refused")
    assert "invalid_grant" in event.params["detail"]
    message = login_page_message(client)
    assert "(invalid_grant" in message and "does not match the sign-in this browser started" in message
    assert not User.objects.exists()


def test_an_expired_code_is_refused(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    oidc_on.set_faults({"code_ttl": 1})  # the provider's codes live one second
    client = console_client()
    answer = ProviderBrowser().sign_in(start(client), "sub-ada")
    time.sleep(2.2)
    event = refused(callback(client, answer), "", "code refused")
    assert "invalid_grant" in event.params["detail"]
    assert "expired or was used already" in login_page_message(client)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"id_token": {"set": {"aud": "another-client"}}}, "wrong audience"),
        ({"id_token": {"set": {"iss": "http://127.0.0.1:1/elsewhere"}}}, "wrong issuer"),
        ({"id_token": {"resign": True}}, "bad signature"),
        ({"id_token": {"set": {"exp": 1000000000}}}, "expired token"),
    ],
)
def test_a_token_that_fails_a_check_is_refused(oidc_on, teams, fault, code):
    oidc_on.set_accounts({"sub-ada": ADA})
    oidc_on.set_faults(fault)
    client = console_client()
    refused(sign_in(client, "sub-ada"), "", code)
    assert not User.objects.exists() and not ExternalIdentity.objects.exists()


@pytest.mark.parametrize(
    ("account", "code", "message"),
    [
        ({"email": "x@example.com", "groups": ["eng"]}, "missing claim", "did not send the claim"),
        ({"preferred_username": "ada", "email": "x@example.com"}, "groups claim missing", "sent no group list"),
        ({"preferred_username": "ada", "groups": "eng"}, "groups claim not a list", "is not a list of group names"),
    ],
)
def test_claims_the_console_cannot_use_are_refused(oidc_on, teams, account, code, message):
    oidc_on.set_accounts({"sub-ada": account})
    client = console_client()
    refused(sign_in(client, "sub-ada"), "", code)
    assert message in login_page_message(client)
    assert not User.objects.exists()


def test_claims_changed_on_an_existing_account_change_nothing(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    oidc_on.set_accounts({"sub-ada": {**ADA, "email": "new@example.com", "groups": "eng"}})
    refused(sign_in(console_client(), "sub-ada"), "", "groups claim not a list")
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@example.com" and list(ada.groups.values_list("name", flat=True)) == ["engineers"]


def test_a_provider_that_is_down(oidc_on, teams, django_user_model, settings):
    settings.OIDC_DISCOVERY_URL = "http://127.0.0.1:9/.well-known/openid-configuration"  # nothing listens
    oidc.discovery.forget()
    client = console_client()
    response = client.get(reverse("oidc_start"))
    refused(response, "", "provider unreachable")
    assert "cannot be reached now" in login_page_message(client)
    # Break-glass: a local admin still signs in with a password.
    django_user_model.objects.create_user("root", password="a long local password 1")
    ok = client.post(reverse("login"), {"username": "root", "password": "a long local password 1"})
    assert ok.status_code == 302 and ok["Location"] == reverse("dashboard")


def test_a_provider_that_does_not_answer_times_out(oidc_on, teams, settings):
    settings.OIDC_TIMEOUT = 1.0
    with silent_port() as port:
        settings.OIDC_DISCOVERY_URL = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        oidc.discovery.forget()
        client = console_client()
        began = time.monotonic()
        response = client.get(reverse("oidc_start"))
        took = time.monotonic() - began
    event = refused(response, "", "provider unreachable")
    assert "Timeout" in event.params["detail"] and took < 5, took
    assert "cannot be reached now" in login_page_message(client)


def test_sso_only_hides_the_password_form_but_for_break_glass_admins(oidc_on, teams, django_user_model, settings):
    settings.SSO_ONLY = True
    settings.SSO_BREAK_GLASS_USERS = ["root"]
    django_user_model.objects.create_user("root", password="a long local password 1")
    django_user_model.objects.create_user("bob", password="a long local password 2")
    client = console_client()
    page = client.get(reverse("login")).text
    assert "Sign in with Test IdP" in page and 'name="password"' not in page and "?local=1" in page
    assert 'name="password"' in client.get(reverse("login") + "?local=1").text
    denied = client.post(reverse("login"), {"username": "bob", "password": "a long local password 2"})
    assert denied.status_code == 200 and "only for break-glass admins" in denied.text
    assert AuditEvent.objects.get(action="auth.login.failed").params["reason"] == "SSO only"
    ok = client.post(reverse("login"), {"username": "root", "password": "a long local password 1"})
    assert ok.status_code == 302


def test_logout_ends_the_provider_session_too(oidc_on, teams):
    oidc_on.set_accounts({"sub-ada": ADA})
    client = console_client()
    sign_in(client, "sub-ada")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{oidc_on.issuer}/session/end?id_token_hint=")
    assert "post_logout_redirect_uri=http%3A%2F%2Flocalhost%2Flogin%2F" in response["Location"]
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="auth.logout", actor_name="ada").exists()


def test_console_two_factor_unless_the_provider_vouches_for_it(oidc_on, teams, settings):
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    TOTPDevice.objects.create(user=User.objects.get(username="ada"), name="phone", confirmed=True)
    client = console_client()
    sign_in(client, "sub-ada")
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("otp_verify")), "the console's own TOTP"

    settings.SSO_MFA_BY_PROVIDER = True
    settings.OIDC_MFA_AMR = ["mfa", "otp"]
    refused(sign_in(console_client(), "sub-ada"), "", "no mfa")  # no amr in the token
    oidc_on.set_faults({"id_token": {"set": {"amr": ["pwd", "otp"]}}})
    client = console_client()
    sign_in(client, "sub-ada")
    assert client.get(reverse("dashboard")).status_code == 200, "the provider did the second factor"


@pytest.mark.parametrize(
    ("acr_list", "acr", "passes"),
    [([], "", True), (["urn:acme:mfa"], "urn:acme:mfa", True), (["urn:acme:mfa"], "urn:acme:password", False)],
)
def test_the_provider_vouches_for_mfa_by_the_setting_or_acr(oidc_on, teams, settings, acr_list, acr, passes):
    """SSO_MFA_BY_PROVIDER alone trusts the provider; with OIDC_MFA_ACR the token's acr must be one of them."""
    oidc_on.set_accounts({"sub-ada": ADA})
    sign_in(console_client(), "sub-ada")
    TOTPDevice.objects.create(user=User.objects.get(username="ada"), name="phone", confirmed=True)
    settings.SSO_MFA_BY_PROVIDER, settings.OIDC_MFA_AMR, settings.OIDC_MFA_ACR = True, [], acr_list
    oidc_on.set_faults({"id_token": {"set": {"acr": acr}}} if acr else None)
    client = console_client()
    response = sign_in(client, "sub-ada")
    if passes:
        assert client.get(reverse("dashboard")).status_code == 200, "no TOTP asked: the provider did it"
    else:
        event = refused(response, "", "no mfa")
        assert "urn:acme:password" in event.params["detail"]
