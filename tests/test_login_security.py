"""Login protection through the real login page: lockout (django-axes), sign-in audit events and TOTP two-factor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.models import AuditEvent, Profile, Role, RoleAssignment

PASSWORD = "a long enough password 123"


@pytest.fixture
def member(db, django_user_model):
    user = django_user_model.objects.create_user("mia", password=PASSWORD)
    RoleAssignment.objects.create(user=user, role=Role.VIEWER)
    return user


def login(client: Client, username: str, password: str, ip: str = "127.0.0.1", next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR=ip)


# --- lockout -------------------------------------------------------------------------------------


def test_failed_logins_lock_the_name_from_that_address_only(member, django_user_model, settings):
    """The proof of issue 10: user A fails six times, user B from the same address signs in."""
    noah = django_user_model.objects.create_user("noah", password=PASSWORD)
    RoleAssignment.objects.create(user=noah, role=Role.VIEWER)
    office = "10.0.0.5"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = login(Client(HTTP_USER_AGENT="Firefox/140 test"), "mia", "wrong", ip=office)
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    locked = login(Client(), "mia", "wrong", ip=office)
    assert locked.status_code == 429
    assert "Too many failed logins for this account from your address" in locked.text
    assert "about 15 minutes" in locked.text and " until " in locked.text, "the page says how long the lock lasts"
    assert 'name="password"' in locked.text, "the login page again, not a bare error page"
    # The sixth try, with the right password: still refused from there ...
    assert login(Client(), "mia", PASSWORD, ip=office).status_code == 429
    # ... but a colleague behind the same address signs in, and so does mia from elsewhere.
    colleague = Client()
    assert login(colleague, "noah", PASSWORD, ip=office).status_code == 302
    assert colleague.get(reverse("dashboard")).status_code == 200
    assert login(Client(), "mia", PASSWORD, ip="10.9.8.7").status_code == 302

    failed = AuditEvent.objects.filter(action="auth.login.failed").order_by("seq")
    assert [e.params["reason"] for e in failed] == ["wrong user name or password"] * settings.AXES_FAILURE_LIMIT + [
        "locked out"
    ]
    first = failed.first()
    assert (first.actor_name, first.client_ip, first.outcome) == ("mia", office, "denied")
    assert first.actor_id is None and first.params["user_agent"] == "Firefox/140 test"
    lock = AuditEvent.objects.get(action="auth.lockout")
    assert (lock.actor_name, lock.client_ip, lock.params["lock"]) == ("mia", office, "user_and_address")
    logins = AuditEvent.objects.filter(action="auth.login").order_by("seq")
    assert [(e.actor_name, e.client_ip) for e in logins] == [("noah", office), ("mia", "10.9.8.7")]

    # After the cool-off time the name may be used from the office again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = login(Client(), "mia", PASSWORD, ip=office)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_many_names_from_one_address_lock_the_address(member, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8  # much higher than the per-name limit (5); 50 by default
    for i in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        assert login(Client(), f"guess{i}", "wrong", ip="10.0.0.66").status_code == 200
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.66").status_code == 302, "below the address limit"
    response = login(Client(), "guess-last", "wrong", ip="10.0.0.66")
    assert response.status_code == 429 and "Too many failed logins from your address" in response.text
    # Now the right password of a real user from that address is refused too ...
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.66").status_code == 429
    # ... but the user can log in from elsewhere.
    client = Client()
    assert login(client, "mia", PASSWORD, ip="10.0.0.1").status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.get(action="auth.lockout").params["lock"] == "address"


def test_an_admin_lifts_a_lock_from_the_users_page(member, admin_client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "mia", "wrong", ip="10.0.0.5")
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.5").status_code == 429
    page = admin_client.get(reverse("user_list")).text
    assert "Locked sign-ins" in page and "<strong>mia</strong>" in page and "10.0.0.5" in page
    response = admin_client.post(reverse("user_lock_lift"), {"ip": "10.0.0.5", "username": "mia"}, follow=True)
    assert "Lock of “mia” from 10.0.0.5 lifted" in response.text and "Locked sign-ins" not in response.text
    event = AuditEvent.objects.get(action="auth.lockout.lift")
    assert event.actor_name == "alice" and event.params == {"ip": "10.0.0.5", "username": "mia"}
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.5").status_code == 302


def test_only_global_admins_lift_locks(member, viewer_client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "mia", "wrong", ip="10.0.0.5")
    assert viewer_client.post(reverse("user_lock_lift"), {"ip": "10.0.0.5", "username": "mia"}).status_code == 403
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.5").status_code == 429


def test_sign_in_events_are_for_global_admins_only(member, admin_client, settings):
    client = Client(HTTP_USER_AGENT="Chromium test")
    login(client, "mia", "wrong", ip="10.0.0.7")
    login(client, "mia", PASSWORD, ip="10.0.0.7")
    client.post(reverse("logout"), REMOTE_ADDR="10.0.0.7")
    actions = list(AuditEvent.objects.filter(actor_name="mia").order_by("seq").values_list("action", flat=True))
    assert actions == ["auth.login.failed", "auth.login", "auth.logout"]
    # mia, a viewer on everything, sees none of them, not even her own.
    login(client, "mia", PASSWORD, ip="10.0.0.7")
    own = client.get(reverse("audit_list"), {"actor": "mia"})
    assert own.status_code == 200 and "<code>auth." not in own.text and "No events match" in own.text
    assert (
        client.get(reverse("audit_detail", args=[AuditEvent.objects.filter(actor_name="mia").first().pk])).status_code
        == 404
    )
    # The global admin filters them by address and action.
    page = admin_client.get(reverse("audit_list"), {"ip": "10.0.0.7", "action": "auth.login"}).text
    assert page.count("<code>auth.login</code>") == 2 and "auth.login.failed" in page and "auth.logout" not in page
    assert "Chromium test" in page and "wrong user name or password" in page


def test_a_successful_login_clears_the_failures(member, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(Client(), "mia", "wrong")
    assert login(Client(), "mia", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(Client(), "mia", "wrong").status_code == 200, "the count started again"


# --- two-factor ----------------------------------------------------------------------------------


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows (a later step where a code was used already)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def enroll(client: Client) -> TOTPDevice:
    page = client.get(reverse("otp_setup"))
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns' in page.text, (
        "the QR code is an inline image, no script"
    )
    device = TOTPDevice.objects.get(confirmed=False)
    wrong = client.post(reverse("otp_setup"), {"token": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 422 and "not right" in wrong.text
    device.throttle_reset()  # django-otp slows down wrong codes; the test does not wait
    done = client.post(reverse("otp_setup"), {"token": code(device)})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_enrolment_then_login_asks_for_the_code(member):
    client = Client()
    assert login(client, "mia", PASSWORD).status_code == 302
    device = enroll(client)
    setup = client.get(reverse("otp_setup")).text
    assert "An authenticator app is set up" in setup and "data:image/svg" not in setup, "the secret is shown once"
    assert AuditEvent.objects.get(action="auth.otp.setup").actor_name == "mia"
    client.post(reverse("logout"))

    client = Client()
    response = login(client, "mia", PASSWORD, next_url="/buckets/?q=x")
    assert response.status_code == 302 and response["Location"] == "/buckets/?q=x"
    # Until the code is given, every page leads to the code prompt.
    for url in ("/buckets/?q=x", reverse("dashboard"), reverse("audit_list"), reverse("otp_setup")):
        blocked = client.get(url)
        assert blocked.status_code == 302 and blocked["Location"].startswith(reverse("otp_verify")), url
    assert client.get("/buckets/?q=x")["Location"] == reverse("otp_verify") + "?next=%2Fbuckets%2F%3Fq%3Dx"
    htmx = client.get(reverse("bucket_list"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/buckets/")
    assert htmx["HX-Redirect"].startswith(reverse("otp_verify"))
    assert client.post(reverse("bucket_sync", args=[1])).status_code == 302

    prompt = client.get(reverse("otp_verify") + "?next=/buckets/")
    assert prompt.status_code == 200 and 'autocomplete="one-time-code"' in prompt.text
    wrong = client.post(reverse("otp_verify"), {"token": "12345"})
    assert "Enter the 6 digits" in wrong.text
    bad = "000000" if code(device, 1) != "000000" else "111111"
    wrong = client.post(reverse("otp_verify"), {"token": bad, "next": "/buckets/"})
    assert wrong.status_code == 200 and "not right" in wrong.text
    assert AuditEvent.objects.filter(action="auth.otp.failed", outcome="denied", actor_name="mia").count() == 1
    device.throttle_reset()  # django-otp slows down wrong codes; the test does not wait
    done = client.post(reverse("otp_verify"), {"token": code(device, 1), "next": "/buckets/"})
    assert done.status_code == 302 and done["Location"] == "/buckets/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_codes_are_throttled(member):
    client = Client()
    login(client, "mia", PASSWORD)
    device = enroll(client)
    client.post(reverse("logout"))
    login(client, "mia", PASSWORD)
    right = code(device, 1)
    wrong = "000000" if right != "000000" else "111111"
    client.post(reverse("otp_verify"), {"token": wrong})
    response = client.post(reverse("otp_verify"), {"token": right})
    assert "Too many wrong codes" in response.text, "right after a wrong code, even the right one must wait"
    assert client.get(reverse("dashboard")).status_code == 302


def test_required_two_factor_forces_enrolment(member):
    Profile.objects.create(user=member, otp_required=True)
    client = Client()
    assert login(client, "mia", PASSWORD).status_code == 302
    for url in (reverse("dashboard"), reverse("bucket_list"), reverse("otp_verify")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("otp_setup")), url
    page = client.get(reverse("otp_setup"))
    assert "required for your account" in page.text
    enroll(client)
    assert client.get(reverse("dashboard")).status_code == 200
    # Required: the user cannot turn it off.
    client.post(reverse("otp_disable"))
    assert TOTPDevice.objects.filter(user=member, confirmed=True).exists()


def test_required_for_all_by_setting(member, settings):
    settings.OTP_REQUIRED_FOR_ALL = True
    client = Client()
    login(client, "mia", PASSWORD)
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("otp_setup"))
    assert client.post(reverse("logout")).status_code == 302, "logging out is always possible"


def test_admin_requires_and_resets_two_factor(member, admin_client):
    admin_client.post(reverse("user_otp_require", args=[member.pk]), {"required": "1"})
    assert Profile.objects.get(user=member).otp_required
    assert AuditEvent.objects.get(action="user.otp.require").after == {"required": True}
    client = Client()
    login(client, "mia", PASSWORD)
    enroll(client)
    page = admin_client.get(reverse("user_detail", args=[member.pk])).text
    assert "Remove authenticator" in page

    # Lost phone: the admin removes the authenticator; the next login asks to enrol again.
    admin_client.post(reverse("user_otp_reset", args=[member.pk]))
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert AuditEvent.objects.get(action="user.otp.reset").outcome == "ok"
    again = Client()
    login(again, "mia", PASSWORD)
    assert again.get(reverse("dashboard"))["Location"].startswith(reverse("otp_setup"))

    admin_client.post(reverse("user_otp_require", args=[member.pk]), {"required": "0"})
    free = Client()
    login(free, "mia", PASSWORD)
    assert free.get(reverse("dashboard")).status_code == 200


def test_user_turns_optional_two_factor_off(member):
    client = Client()
    login(client, "mia", PASSWORD)
    enroll(client)
    client.post(reverse("otp_disable"))
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert AuditEvent.objects.get(action="auth.otp.disable").outcome == "ok"
    fresh = Client()
    login(fresh, "mia", PASSWORD)
    assert fresh.get(reverse("dashboard")).status_code == 200
