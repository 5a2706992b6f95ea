"""Sign-ins in the audit trail: logins, failed logins, lockouts, logouts (Django's and axes' signals).

Each event names the user (or, for a failure, the name that was tried), the address and the
browser's user agent. They are console-administration events (``auth.*``): the audit page
shows them to global admins only.

A login without an HTTP request behind it (``Client.force_login`` in tests, a shell) is not a
sign-in anyone made through the console and is not recorded.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from console import lockout, sso


def _through_a_request(request) -> bool:
    return request is not None and "REMOTE_ADDR" in getattr(request, "META", {})


@receiver(user_logged_in, dispatch_uid="console-audit-login")
def _logged_in(sender, request, user, **kwargs) -> None:
    if not _through_a_request(request):
        return
    source = getattr(user, "sso_source", "")
    if source:
        groups = list(getattr(user, "directory_groups", []))[:50]
        sso.record_auth(request, "auth.sso.login", user=user, source=source, directory_groups=groups)
    else:
        sso.record_auth(request, "auth.login", user=user, method="password")


@receiver(user_logged_out, dispatch_uid="console-audit-logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None and _through_a_request(request):
        sso.record_auth(request, "auth.logout", user=user)


@receiver(user_login_failed, dispatch_uid="console-audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    """After axes' own receiver (the axes app is installed first): its verdict is on the request."""
    username = str(credentials.get("username") or "")[:150]
    if not username or not _through_a_request(request) or getattr(request, "sso_refusal", None):
        return  # OpenID refusals and the directory's own are recorded as auth.sso.refused
    counted = getattr(request, "axes_failures_since_start", None) is not None
    locked = bool(getattr(request, "axes_locked_out", False))
    if locked and not counted:
        reason = "locked out"
    elif getattr(request, "ldap_unreachable", False):
        reason = "directory unreachable"
    else:
        reason = "wrong user name or password"
    sso.record_auth(request, "auth.login.failed", outcome="denied", username=username, reason=reason)
    if locked and counted:  # this failure started the lock
        lock = lockout.lock_for(username, request.axes_ip_address)
        params = {"lock": lock.kind, "until": lock.until.isoformat()} if lock else {}
        sso.record_auth(request, "auth.lockout", outcome="denied", username=username, **params)
