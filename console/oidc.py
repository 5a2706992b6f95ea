"""OpenID Connect sign-in: authorization code flow with PKCE, on mozilla-django-oidc.

The package does the flow (state, nonce and PKCE verifier kept in the session, one use each;
the code exchanged at the token endpoint; the JWKS read). This module adds what it leaves out:

- the provider's endpoints from its discovery document (``OIDC_DISCOVERY_URL``), read when
  first needed and kept for ``OIDC_DISCOVERY_TTL`` seconds; a provider that is down answers a
  clear message on the login page, and local sign-in keeps working;
- ID token checks the package skips: audience (``aud`` = our client id, ``azp`` when several),
  issuer (the discovery document's), signature, expiry, and the nonce;
- accounts matched by the provider's subject (``sub``), created just in time, their console
  groups refreshed from the groups claim at every sign-in (``console.sso``);
- every refusal as a ``Refusal`` with its reason, audited by the callback view;
- RP-initiated logout where the provider has an ``end_session_endpoint``.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from console import sso
from console.backends import user_by_pk
from console.models import DirectorySource

log = logging.getLogger(__name__)
SOURCE = DirectorySource.OIDC.value


class ProviderDown(Exception):
    pass


class _Discovery:
    def __init__(self):
        self.lock = threading.Lock()
        self.document: dict | None = None
        self.read_at = 0.0

    def get(self) -> dict:
        with self.lock:
            fresh = time.monotonic() - self.read_at < settings.OIDC_DISCOVERY_TTL
            if self.document is not None and fresh:
                return self.document
        try:
            response = requests.get(
                settings.OIDC_DISCOVERY_URL, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL
            )
            response.raise_for_status()
            document = response.json()
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(name), str):
                    raise ValueError(f"no {name} in the discovery document")
        except (requests.RequestException, ValueError) as exc:
            log.warning("OpenID discovery failed: %s", type(exc).__name__)
            raise ProviderDown(f"{type(exc).__name__}: {str(exc)[:300]}") from None
        with self.lock:
            self.document, self.read_at = document, time.monotonic()
        return document

    def cached(self) -> dict | None:
        return self.document

    def forget(self) -> None:
        with self.lock:
            self.document, self.read_at = None, 0.0


discovery = _Discovery()


def claim(claims: dict, path: str):
    """A claim by name, or by a dotted path into nested objects (Keycloak's ``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def identity_from(claims: dict, issuer: str) -> sso.Identity:
    username = claim(claims, settings.OIDC_USERNAME_CLAIM)
    if not isinstance(username, str) or not username.strip():
        raise sso.Refusal(
            f"Your provider did not send the claim “{settings.OIDC_USERNAME_CLAIM}” the console needs as a user name. "
            "Ask a console admin.",
            code="missing claim",
            detail=f"claims present: {', '.join(sorted(claims))[:400]}",
            username=str(claims.get("sub", ""))[:150],
        )
    email = claim(claims, settings.OIDC_EMAIL_CLAIM)
    given, family = claims.get("given_name"), claims.get("family_name")
    if not isinstance(given, str) and isinstance(claims.get("name"), str):
        given, family = claims["name"], ""
    return sso.Identity(
        source=SOURCE,
        issuer=issuer,
        subject=str(claims["sub"]),
        username=username.strip(),
        email=email if isinstance(email, str) else "",
        first_name=given if isinstance(given, str) else "",
        last_name=family if isinstance(family, str) else "",
    )


def group_names(claims: dict, username: str) -> list[str]:
    name = settings.OIDC_GROUPS_CLAIM
    if not name:
        return []
    value = claim(claims, name)
    if value is None:
        raise sso.Refusal(
            f"Your provider sent no group list (claim “{name}”), so the console cannot tell your roles. "
            "Ask a console admin.",
            code="groups claim missing",
            username=username,
        )
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise sso.Refusal(
            f"Your provider's group claim “{name}” is not a list of group names. Ask a console admin.",
            code="groups claim not a list",
            detail=f"type {type(value).__name__}",
            username=username,
        )
    return value


def provider_did_mfa(claims: dict) -> bool:
    """Whether the provider vouches for a second factor: by setting alone, or shown in ``amr``/``acr``."""
    if not settings.SSO_MFA_BY_PROVIDER:
        return False
    wanted_amr, wanted_acr = set(settings.OIDC_MFA_AMR), set(settings.OIDC_MFA_ACR)
    if not wanted_amr and not wanted_acr:
        return True
    amr = claims.get("amr") if isinstance(claims.get("amr"), list) else []
    return bool(wanted_amr.intersection(map(str, amr))) or str(claims.get("acr", "")) in wanted_acr


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with discovery, full ID token checks and the console's accounts."""

    def __init__(self, *args, **kwargs):
        # The package reads fixed endpoint settings here; ours come from discovery, when needed
        # (this class is also built for every request of a signed-in user, by get_user).
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 - the package's attribute names
        return discovery.get()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str | None:  # noqa: N802
        return discovery.get().get("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return discovery.get()["jwks_uri"]

    def get_user(self, user_id):
        user = user_by_pk(user_id)  # the package's get_user, without the ORM's compile
        # A user deactivated in the console is signed out at their next request.
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs:
            return None  # not the OpenID callback (a password form, force_login, …)
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as exc:
            body = exc.response.text[:300] if exc.response is not None else ""
            said = _token_error(exc.response)
            raise sso.Refusal(
                f"The provider refused the sign-in code{f' ({said})' if said else ''}: it has expired or was used "
                "already, or it does not match the sign-in this browser started (PKCE). Sign in again.",
                code="code refused",
                detail=body,
            ) from None
        except requests.RequestException as exc:
            raise sso.Refusal(
                "The identity provider cannot be reached now. Try again in a few minutes.",
                code="provider unreachable",
                detail=type(exc).__name__,
            ) from None
        except ProviderDown as exc:
            raise sso.Refusal(
                "The identity provider cannot be reached now. Try again in a few minutes.",
                code="provider unreachable",
                detail=str(exc),
            ) from None
        except SuspiciousOperation as exc:
            raise _bad_token("token refused", str(exc)) from None

    def verify_token(self, token, **kwargs):
        """The ID token (or a signed userinfo answer): signature, audience, issuer, expiry, nonce."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _bad_token("not a JWT", "the token is not a JWT") from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise _bad_token("wrong algorithm", f"alg {header.get('alg')!r}, expected {self.OIDC_RP_SIGN_ALGO}")
        if self.OIDC_RP_SIGN_ALGO.startswith(("RS", "ES", "PS")):
            key = self.retrieve_matching_jwk(token)
        else:
            key = self.OIDC_RP_CLIENT_SECRET
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=discovery.get()["issuer"],
                leeway=settings.OIDC_CLOCK_SKEW,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidAudienceError:
            raise _bad_token("wrong audience", "the token was issued for another client") from None
        except jwt.InvalidIssuerError:
            raise _bad_token("wrong issuer", "the token comes from another issuer") from None
        except jwt.InvalidSignatureError:
            raise _bad_token("bad signature", "the signature does not match the provider's keys") from None
        except jwt.ExpiredSignatureError:
            raise _bad_token("expired token", "the token has expired") from None
        except jwt.PyJWTError as exc:
            raise _bad_token("invalid token", f"{type(exc).__name__}: {exc}") from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise _bad_token("wrong audience", "several audiences and azp is not this client")
        if "nonce" in kwargs and payload.get("nonce") != kwargs["nonce"]:
            raise _bad_token("wrong nonce", "the nonce is not the one this sign-in sent")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and settings.OIDC_USE_USERINFO:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if str(userinfo.get("sub", payload["sub"])) != str(payload["sub"]):
                raise _bad_token("userinfo subject", "userinfo is about another subject")
            claims = {**claims, **userinfo}
        identity = identity_from(claims, payload["iss"])
        groups = group_names(claims, identity.username)
        existing = sso.existing_user(identity)
        if existing is not None and not existing.is_active:
            raise sso.Refusal(
                "Your console account is deactivated. Ask a console admin.",
                code="deactivated",
                username=existing.username,
                user=existing,
            )
        if settings.SSO_MFA_BY_PROVIDER and not provider_did_mfa(claims):
            raise sso.Refusal(
                "Your provider did not confirm a second factor for this sign-in. Sign in again with it.",
                code="no mfa",
                detail=f"amr {claims.get('amr')!r}, acr {claims.get('acr')!r}",
                username=identity.username,
                user=existing,
            )
        try:
            mapped = sso.require_mapped_group(SOURCE, groups, username=identity.username, user=existing)
        except sso.Refusal:
            if existing is not None:  # the directory took every mapped group away: so does the console
                sso.apply_directory_groups(self.request, existing, SOURCE, {})
            raise
        user, _ = sso.find_or_create_user(self.request, identity, groups)
        sso.apply_directory_groups(self.request, user, SOURCE, mapped)
        user.sso_source, user.sso_mfa = SOURCE, provider_did_mfa(claims)
        user.directory_groups = groups
        return user


def _bad_token(code: str, detail: str) -> sso.Refusal:
    return sso.Refusal(
        "The answer of the identity provider did not pass the console's checks, so you are not signed in. "
        "Sign in again; if it happens again, tell a console admin.",
        code=code,
        detail=detail,
    )


def logout_url(request) -> str | None:
    """Where to send the browser to end the provider's session too (RP-initiated logout), if anywhere."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_ENABLED and settings.OIDC_LOGOUT_AT_PROVIDER and id_token):
        return None
    try:
        end = discovery.get().get("end_session_endpoint")
    except ProviderDown:
        return None
    if not end:
        return None
    query = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
        "client_id": settings.OIDC_RP_CLIENT_ID,
    }
    return f"{end}{'&' if '?' in end else '?'}{urlencode(query)}"


def _token_error(response) -> str:
    """The token endpoint's ``error: error_description`` (RFC 6749 5.2), short; "" when it gave none."""
    try:
        answer = response.json()
    except (AttributeError, ValueError):
        return ""
    if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
        return ""
    description = answer.get("error_description")
    said = f"{answer['error']}: {description}" if isinstance(description, str) and description else answer["error"]
    return said[:160]
