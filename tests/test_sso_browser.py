"""Single sign-on in Chromium: the console's button, the real provider's login and consent pages, back.

The provider is oidc-provider from npm (tests/oidc/); nothing of it is mocked. A second sign-in
after the person's groups changed at the provider shows the other roles. Screenshots of the
pages this feature added go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from console.models import AuditEvent, DirectoryGroupMapping, Endpoint, Role, RoleAssignment
from tests.test_browser import ARGS, CHROMIUM, close_connections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ADA = {"preferred_username": "ada", "email": "ada@example.com", "name": "Ada Lovelace", "groups": ["eng"]}


@pytest.fixture
def browser_page(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        close_connections()
        assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sso-{name}.png"), full_page=True)


def provider_sign_in(page, login: str) -> None:
    """The provider's own pages: its login form, then its consent page (the first time only)."""
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("input[name=prompt][value=consent]").count():
        shot(page, "provider-consent")
        page.click("button[type=submit]")


def test_sign_in_with_the_provider_then_again_after_a_group_change(browser_page, live_server, oidc_on, settings):
    page, origin = browser_page, live_server.url  # http://localhost:<port>
    alpha = Endpoint.objects.create(name="alpha-store", url="http://127.0.0.1:9")
    beta = Endpoint.objects.create(name="beta-store", url="http://127.0.0.1:9")
    engineers, operators = Group.objects.create(name="engineers"), Group.objects.create(name="operators")
    RoleAssignment.objects.create(group=engineers, role=Role.VIEWER, endpoint=alpha)
    RoleAssignment.objects.create(group=operators, role=Role.OPERATOR, endpoint=beta)
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="eng", group=engineers)
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="ops", group=operators)
    oidc_on.set_accounts({"sub-ada": ADA})

    page.goto(f"{origin}{reverse('login')}")
    shot(page, "login")
    page.click("text=Sign in with Test IdP")
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_on.issuer)}/interaction/"))
    shot(page, "provider-login")
    provider_sign_in(page, "sub-ada")
    expect(page).to_have_url(f"{origin}/")
    main = page.locator("main")
    expect(main).to_contain_text("alpha-store")
    expect(main).not_to_contain_text("beta-store")
    shot(page, "dashboard-first")

    # At the provider, ada moves from eng to ops. She logs out (the provider's session ends too) and back in.
    oidc_on.set_accounts({"sub-ada": {**ADA, "groups": ["ops"]}})
    page.click("form.logout button")
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_on.issuer)}/session/end"))
    page.click("button[name=logout], button[type=submit]")
    expect(page).to_have_url(re.compile(rf"^{re.escape(origin)}/login/"))
    page.click("text=Sign in with Test IdP")
    expect(page).to_have_url(re.compile(r"/interaction/"))  # the provider asks again: its session ended
    provider_sign_in(page, "sub-ada")
    expect(page).to_have_url(f"{origin}/")
    expect(main).to_contain_text("beta-store")
    expect(main).not_to_contain_text("alpha-store")

    actions = list(AuditEvent.objects.filter(actor_name="ada").order_by("seq").values_list("action", flat=True))
    assert actions == [
        "auth.user.created",
        "auth.groups.changed",
        "auth.sso.login",
        "auth.logout",
        "auth.groups.changed",
        "auth.sso.login",
    ]


def test_admin_pages_of_single_sign_on(browser_page, live_server, oidc_on, django_user_model, settings):
    """What an admin sees: the mapping, where a user's roles come from, who has access; screenshots."""
    page, origin = browser_page, live_server.url
    alpha = Endpoint.objects.create(name="alpha-store", url="http://127.0.0.1:9")
    engineers = Group.objects.create(name="engineers")
    RoleAssignment.objects.create(group=engineers, role=Role.VIEWER, endpoint=alpha, bucket="team-data")
    DirectoryGroupMapping.objects.create(source="oidc", directory_group="eng", group=engineers)
    DirectoryGroupMapping.objects.create(
        source="ldap", directory_group="cn=s3-admins,ou=groups,dc=example,dc=org", group=engineers
    )
    oidc_on.set_accounts({"sub-ada": ADA})
    admin = django_user_model.objects.create_user("root", password="a long local password 1")
    RoleAssignment.objects.create(user=admin, role=Role.ADMIN)

    page.goto(f"{origin}{reverse('login')}")
    page.click("text=Sign in with Test IdP")
    provider_sign_in(page, "sub-ada")
    expect(page).to_have_url(f"{origin}/")
    ada = django_user_model.objects.get(username="ada")
    RoleAssignment.objects.create(user=ada, role=Role.OPERATOR, endpoint=alpha, bucket="team-data", prefix="ada/")
    page.context.clear_cookies()
    for _ in range(settings.AXES_FAILURE_LIMIT):  # someone mistypes: a lock to show on the Users page
        page.goto(f"{origin}{reverse('login')}")
        page.fill("input[name=username]", "bob")
        page.fill("input[name=password]", "wrong")
        page.click("form.stack button[type=submit]")
    shot(page, "login-locked")

    page.goto(f"{origin}{reverse('login')}")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "a long local password 1")
    page.click("form.stack button[type=submit]")
    expect(page).to_have_url(f"{origin}/")

    page.goto(f"{origin}{reverse('directory_mappings')}")
    expect(page.locator("main")).to_contain_text("Viewer on alpha-store / team-data")
    shot(page, "directory-mappings")
    page.goto(f"{origin}{reverse('user_detail', args=[ada.pk])}")
    table = page.locator("table.role-sources")
    expect(table).to_contain_text("directory group eng (OpenID Connect) → group engineers")
    expect(table).to_contain_text("their own assignment (local)")
    shot(page, "user-detail")
    page.goto(f"{origin}{reverse('user_list')}")
    expect(page.locator("#locks")).to_contain_text("bob")
    shot(page, "user-list")
    page.goto(f"{origin}{reverse('bucket_access', args=[alpha.pk, 'team-data'])}")
    expect(page.locator("main")).to_contain_text("through directory group eng")
    shot(page, "bucket-access")
    page.goto(f"{origin}{reverse('audit_list')}?action=auth.")
    shot(page, "audit-auth")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{origin}{reverse('directory_mappings')}")
    shot(page, "directory-mappings-phone")
