"""Request-level security: the Content-Security-Policy with the endpoints' origins, and two-factor gating.

The CSP comes from ``settings.CONTENT_SECURITY_POLICY`` (django-csp); object previews and
browser uploads talk to S3 directly (presigned URLs), so the origins of the configured
endpoints are added to ``img-src``/``media-src``/``connect-src``. They are read from the
database at most once per ``CSP_ENDPOINT_ORIGINS_TTL`` seconds per process, and at once
after an endpoint is saved or deleted in this process — not on every request.

Two-factor: at login the session is marked ``verify`` (the user has a confirmed TOTP device:
ask for a code) or ``enroll`` (2FA is required but no device yet). While marked, every page
but the verify/enroll page and logout redirects there.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from urllib.parse import urlencode, urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django_otp import user_has_device

from console.models import Endpoint, Profile

AWS_ORIGIN = "https://*.amazonaws.com"

# --- CSP ---------------------------------------------------------------------------------


def origins_for(url: str, addressing_style: str) -> list[str]:
    """The origins a browser talks to for an endpoint: its own, and bucket subdomains unless path style."""
    if not url:
        return [AWS_ORIGIN]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return []
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    origins = [f"{parts.scheme}://{netloc}"]
    if addressing_style != Endpoint.Addressing.PATH and _has_subdomains(parts.hostname):
        origins.append(f"{parts.scheme}://*.{netloc}")
    return origins


def _has_subdomains(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return host != "localhost"


class _OriginsCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.origins: list[str] | None = None
        self.read_at = 0.0

    def get(self) -> list[str]:
        ttl = settings.CSP_ENDPOINT_ORIGINS_TTL
        expired = ttl > 0 and time.monotonic() - self.read_at > ttl
        if self.origins is None or expired:
            self.refresh()
        return self.origins or []

    def refresh(self) -> None:
        found: list[str] = []
        for url, style in Endpoint.objects.values_list("url", "addressing_style"):
            for origin in origins_for(url, style):
                if origin not in found:
                    found.append(origin)
        with self.lock:
            self.origins, self.read_at = found, time.monotonic()


endpoint_origins = _OriginsCache()


@receiver([post_save, post_delete], sender=Endpoint, dispatch_uid="csp-endpoint-origins")
def _endpoints_changed(**kwargs) -> None:
    endpoint_origins.refresh()


class EndpointCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the endpoints' origins where the browser reaches S3 directly."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if settings.OIDC_ENABLED and not report_only:
            # Logging out is a form whose answer sends the browser on to the provider's logout page.
            provider = urlsplit(settings.OIDC_DISCOVERY_URL)
            form_action = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].get("form-action", [])
            update = dict(parts.update or {})
            update["form-action"] = [*form_action, f"{provider.scheme}://{provider.netloc}"]
            parts.update = update
        content_type = response.get("Content-Type", "")
        if report_only or not content_type.startswith("text/html"):
            return parts
        origins = endpoint_origins.get()
        if origins:
            update = dict(parts.update or {})
            for directive in ("img-src", "media-src", "connect-src"):
                update[directive] = [*update.get(directive, []), *origins]
            parts.update = update
        return parts


# --- two-factor gate -------------------------------------------------------------------------

SESSION_KEY = "console_2fa"
VERIFY, ENROLL = "verify", "enroll"
ALLOWED_VIEWS = {VERIFY: {"otp_verify", "logout"}, ENROLL: {"otp_setup", "logout"}}
TARGET_VIEW = {VERIFY: "otp_verify", ENROLL: "otp_setup"}


def otp_required(user) -> bool:
    return settings.OTP_REQUIRED_FOR_ALL or Profile.objects.filter(user=user, otp_required=True).exists()


def two_factor_state(user) -> str:
    """What a fresh login of this user still needs: "verify", "enroll" or ""."""
    if user_has_device(user, confirmed=True):
        return VERIFY
    if otp_required(user):
        return ENROLL
    return ""


@receiver(user_logged_in, dispatch_uid="console-2fa-state")
def _mark_session(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if getattr(user, "sso_mfa", False):  # the identity provider did the second factor (SSO_MFA_BY_PROVIDER)
        request.session.pop(SESSION_KEY, None)
        return
    state = two_factor_state(user)
    if state:
        request.session[SESSION_KEY] = state
    else:
        request.session.pop(SESSION_KEY, None)


class TwoFactorMiddleware:
    """Until the second step is done, the only pages are the code prompt (or enrolment) and logout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if state in TARGET_VIEW and request.user.is_authenticated and not self._exempt(request, state):
            target = reverse(TARGET_VIEW[state])
            htmx = getattr(request, "htmx", False)
            page = (htmx.current_url_abs_path if htmx else request.get_full_path()) or ""
            if page and page != "/" and (htmx or request.method == "GET"):
                target += "?" + urlencode({"next": page})
            if htmx:
                response = HttpResponse(status=200)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _exempt(request, state: str) -> bool:
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        try:
            return resolve(request.path_info).url_name in ALLOWED_VIEWS[state]
        except Resolver404:
            return False
