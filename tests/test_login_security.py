"""Login protection through the real login page: lockout (django-axes) and TOTP two-factor (django-otp)."""

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


def test_failed_logins_lock_the_username(member, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = login(client, "mia", "wrong")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    locked = login(client, "mia", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.text and "15 minutes" in locked.text
    assert 'name="password"' in locked.text, "the login page again, not a bare error page"
    # Now even the right password is refused, from any address.
    for ip in ("127.0.0.1", "10.9.8.7"):
        response = login(Client(), "mia", PASSWORD, ip=ip)
        assert response.status_code == 429 and "_auth_user_id" not in Client().session
    # Another user from another address is not affected.
    other = Client()
    other_user = type(member).objects.create_user("noah", password=PASSWORD)
    RoleAssignment.objects.create(user=other_user, role=Role.VIEWER)
    assert login(other, "noah", PASSWORD, ip="10.1.1.1").status_code == 302
    # After the cool-off time the user may log in again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = login(Client(), "mia", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_failed_logins_lock_the_address(member, django_user_model, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = login(Client(), f"guess{i}", "wrong", ip="10.0.0.66")
    assert response.status_code == 429
    # The right password of a real user from that address is refused too ...
    assert login(Client(), "mia", PASSWORD, ip="10.0.0.66").status_code == 429
    # ... but the user can log in from elsewhere: the username itself had no failure.
    client = Client()
    assert login(client, "mia", PASSWORD, ip="10.0.0.1").status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


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
    assert AuditEvent.objects.get(action="user.otp.enroll").actor_name == "mia"
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
    assert AuditEvent.objects.filter(action="user.otp.verify", outcome="denied", actor_name="mia").count() == 1
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
    assert AuditEvent.objects.get(action="user.otp.disable").outcome == "ok"
    fresh = Client()
    login(fresh, "mia", PASSWORD)
    assert fresh.get(reverse("dashboard")).status_code == 200
