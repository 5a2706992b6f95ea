"""Login protection pages: the lockout answer, the two-factor code prompt, and TOTP enrolment."""

from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from console import audit, auth_views, lockout, security, services, sso
from console.user_forms import OTPTokenForm


def lockout_response(request, original_response=None, credentials=None):
    """django-axes calls this instead of its bare 403: the login page again, saying why and for how long."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    lock = lockout.lock_for(username, getattr(request, "axes_ip_address", None))
    minutes = lock.minutes_left if lock else int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        **auth_views.login_context(request),
        "form": AuthenticationForm(request),
        "locked_out": True,
        "lockout_minutes": minutes,
        "lock_kind": lock.kind if lock else "",
        "lock_until": lock.until if lock else None,
        "next": request.POST.get("next", "") if request.method == "POST" else request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)


def _next_url(request, default: str = "dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site only: anything else (a name like "a\\b", which redirect() would try to
    # reverse, or another host) falls back to the default.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_http_methods(["GET", "POST"])
def otp_verify(request):
    """Second login step for users with a confirmed authenticator."""
    if request.session.get(security.SESSION_KEY) != security.VERIFY:
        return redirect(_next_url(request))
    form = OTPTokenForm(request.POST or None)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    if request.method == "POST" and form.is_valid() and device is not None:
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", "Too many wrong codes. Wait a little and try again.")
        elif device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            request.session.pop(security.SESSION_KEY, None)
            return redirect(_next_url(request))
        else:
            audit.denied(
                audit.Actor.from_request(request),
                "auth.otp.failed",
                params={"reason": "wrong code", "user_agent": sso.user_agent(request)},
            )
            form.add_error("token", "That code is not right. Use the current code from your authenticator app.")
    return render(request, "console/otp_verify.html", {"form": form, "next": _next_url(request, "")})


def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=5, border=2)


def _secret_groups(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def otp_setup(request):
    """Enrol a TOTP authenticator: QR code and secret (until confirmed), then a code to confirm it."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        context = {"device": confirmed, "required": security.otp_required(user)}
        return render(request, "console/otp_setup.html", context)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not device.verify_is_allowed()[0]:
            form.add_error("token", "Too many wrong codes. Wait a little and try again.")
        elif device.verify_token(form.cleaned_data["token"]):
            actor = audit.Actor.from_request(request)
            services.otp_device_confirm(actor=actor, device=device, user_agent=sso.user_agent(request))
            otp_login(request, device)
            request.session.pop(security.SESSION_KEY, None)
            messages.success(request, "Two-factor authentication is on. You will be asked for a code at each login.")
            return redirect(_next_url(request, "otp_setup"))
        else:
            form.add_error("token", "That code is not right. Check the clock of your phone and use the current code.")
    context = {
        "form": form,
        "qr": _qr_data_uri(device.config_url),
        "secret": _secret_groups(device),
        "required": security.otp_required(user),
        "must_enroll": request.session.get(security.SESSION_KEY) == security.ENROLL,
        "next": _next_url(request, ""),
    }
    return render(request, "console/otp_setup.html", context, status=422 if form.errors else 200)


@require_POST
def otp_disable(request):
    """Remove one's own authenticator — not allowed while two-factor is required for the user."""
    user = request.user
    if security.otp_required(user):
        messages.error(request, "Two-factor authentication is required for your account; it cannot be turned off.")
        return redirect("otp_setup")
    if not request.user.is_verified():
        messages.error(request, "Log in with your code first.")
        return redirect("otp_setup")
    if user_has_device(user, confirmed=None):
        actor = audit.Actor.from_request(request)
        services.otp_devices_remove(actor=actor, user=user, user_agent=sso.user_agent(request))
        messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("otp_setup")
