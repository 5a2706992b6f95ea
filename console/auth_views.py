"""Signing in and out: the login page (password, directory, "Sign in with …"), the OpenID views, logout."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from console import oidc, sso


def is_break_glass(username: str) -> bool:
    return username.casefold() in {name.casefold() for name in settings.SSO_BREAK_GLASS_USERS}


class LoginForm(AuthenticationForm):
    """Django's form, plus the two refusals a person must understand: SSO only, directory down."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if settings.SSO_ONLY and not settings.LDAP_ENABLED and username and not is_break_glass(username):
            sso.record_auth(
                self.request, "auth.login.failed", outcome="denied", username=username[:150], reason="SSO only"
            )
            raise forms.ValidationError(
                f"Password sign-in is only for break-glass admins. Use “{settings.OIDC_BUTTON_LABEL}”.",
                code="sso_only",
            )
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = getattr(self.request, "sso_refusal", None)
            if refusal is not None:  # the directory accepted the password; the console refuses (audited)
                raise forms.ValidationError(refusal.reason, code="refused") from None
            if getattr(self.request, "ldap_unreachable", False):
                raise forms.ValidationError(
                    "The directory (LDAP) cannot be reached now, so directory accounts cannot sign in. "
                    "Try again in a few minutes; local admin accounts still can.",
                    code="directory_down",
                ) from None
            raise


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **login_context(self.request)}


def login_context(request) -> dict:
    """What the login page shows besides the form (also for the lockout answer)."""
    local = request.GET.get("local") == "1" or request.method == "POST"
    sso_only_form = settings.SSO_ONLY and settings.OIDC_ENABLED and not settings.LDAP_ENABLED
    return {
        "oidc_enabled": settings.OIDC_ENABLED,
        "oidc_label": settings.OIDC_BUTTON_LABEL,
        "ldap_enabled": settings.LDAP_ENABLED,
        # SSO only: the form is for break-glass admins, behind a link (LDAP users still need it).
        "hide_password_form": sso_only_form and not local,
        "sso_only": settings.SSO_ONLY,
    }


@require_POST
def logout(request):
    """End the console session, and the provider's session too where it supports RP-initiated logout."""
    provider_logout = oidc.logout_url(request)
    auth.logout(request)  # audited by console.auth_events (user_logged_out)
    if provider_logout:
        return redirect(provider_logout)
    messages.info(request, "You have been logged out.")
    return redirect("login")


def _refused(request, refusal: sso.Refusal):
    sso.refuse(request, refusal, source=oidc.SOURCE)
    auth.logout(request)  # whatever this browser's session held (a deactivated user's id, say) ends
    messages.error(request, refusal.reason)
    return redirect("login")


class OIDCStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider, with state, nonce and a PKCE challenge kept in the session."""

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # endpoints come from discovery
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.discovery.get()["authorization_endpoint"]
        except oidc.ProviderDown as exc:
            refusal = sso.Refusal(
                "The identity provider cannot be reached now, so single sign-on does not work at the moment. "
                "Try again in a few minutes.",
                code="provider unreachable",
                detail=str(exc),
            )
            return _refused(request, refusal)
        return super().get(request)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer. Anything wrong with it is a refusal with its reason, never an error page."""

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        if request.GET.get("error"):
            text = request.GET.get("error_description") or request.GET["error"]
            refusal = sso.Refusal(
                f"The identity provider did not sign you in: {text[:200]}",
                code="provider error",
                detail=request.GET["error"][:100],
            )
            self._drop_state(request)
            return _refused(request, refusal)
        state = request.GET.get("state", "")
        if not request.GET.get("code") or not state:
            return _refused(request, sso.Refusal("The sign-in answer was incomplete. Sign in again.", code="no code"))
        if state not in request.session.get("oidc_states", {}):
            refusal = sso.Refusal(
                "This sign-in answer does not belong to a sign-in started in this browser, or it was used already. "
                "Sign in again.",
                code="wrong state",
            )
            return _refused(request, refusal)
        try:
            response = super().get(request)
        except sso.Refusal as refusal:
            return _refused(request, refusal)
        if not request.user.is_authenticated:  # e.g. the account could not sign in at all
            return _refused(request, sso.Refusal("You could not be signed in. Sign in again.", code="not signed in"))
        return response

    @staticmethod
    def _drop_state(request) -> None:
        states = request.session.get("oidc_states", {})
        if request.GET.get("state") in states:
            del states[request.GET["state"]]
            request.session.save()
