"""LDAP / Active Directory sign-in through the login form, on django-auth-ldap.

The directory checks the password (a bind as the user: found by a search with a service
account, or given by a DN template). Its groups (nested ones too, with the nested group
types) map to console groups through ``DirectoryGroupMapping``, as for OpenID Connect:

- a user in no mapped group is refused before any account is created or changed;
- a name that belongs to a local account is never taken over by the directory;
- memberships are refreshed at every sign-in, and a deactivated user is refused.

The ``LDAP_*`` settings (see README) become django-auth-ldap's options here, so nothing
LDAP-specific is imported unless LDAP is configured.
"""

from __future__ import annotations

import ldap
from django.conf import settings
from django.dispatch import receiver
from django_auth_ldap import config as ldap_config
from django_auth_ldap.backend import LDAPBackend, LDAPSettings, _LDAPUser, ldap_error

from console import sso
from console.backends import user_by_pk
from console.models import DirectorySource, ExternalIdentity

SOURCE = DirectorySource.LDAP.value
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)

GROUP_TYPES = {
    "groupOfNames": ldap_config.GroupOfNamesType,
    "nestedGroupOfNames": ldap_config.NestedGroupOfNamesType,
    "groupOfUniqueNames": ldap_config.GroupOfUniqueNamesType,
    "nestedGroupOfUniqueNames": ldap_config.NestedGroupOfUniqueNamesType,
    "posixGroup": ldap_config.PosixGroupType,
    "activeDirectory": ldap_config.ActiveDirectoryGroupType,
    "nestedActiveDirectory": ldap_config.NestedActiveDirectoryGroupType,
}


def options() -> dict:
    """django-auth-ldap's settings from the console's LDAP_* settings."""
    connection = {
        ldap.OPT_NETWORK_TIMEOUT: settings.LDAP_TIMEOUT,
        ldap.OPT_TIMEOUT: settings.LDAP_TIMEOUT,
        ldap.OPT_REFERRALS: 0,  # Active Directory's referrals would need other credentials
    }
    if settings.LDAP_CA_FILE:
        connection[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_FILE
    connection[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
    connection[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above to this connection
    group_type = GROUP_TYPES[settings.LDAP_GROUP_TYPE]
    values = {
        "SERVER_URI": settings.LDAP_SERVER_URI,
        "BIND_DN": settings.LDAP_BIND_DN,
        "BIND_PASSWORD": settings.LDAP_BIND_PASSWORD,
        # Without a service account, searches (the user's groups) run as the user who just signed in.
        "BIND_AS_AUTHENTICATING_USER": not settings.LDAP_BIND_DN,
        "START_TLS": settings.LDAP_START_TLS,
        "CONNECTION_OPTIONS": connection,
        "USER_ATTR_MAP": {
            "first_name": settings.LDAP_ATTR_FIRST_NAME,
            "last_name": settings.LDAP_ATTR_LAST_NAME,
            "email": settings.LDAP_ATTR_EMAIL,
        },
        # The account is created and its name and e-mail refreshed at every sign-in by console.sso
        # (audited services), never saved by django-auth-ldap itself.
        "ALWAYS_UPDATE_USER": False,
        "GROUP_TYPE": group_type(name_attr=settings.LDAP_GROUP_NAME_ATTR),
        "CACHE_TIMEOUT": 0,  # group changes count at the next sign-in
    }
    if settings.LDAP_USER_DN_TEMPLATE:
        values["USER_DN_TEMPLATE"] = settings.LDAP_USER_DN_TEMPLATE
    else:
        values["USER_SEARCH"] = ldap_config.LDAPSearch(
            settings.LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_SEARCH_FILTER
        )
    if settings.LDAP_GROUP_SEARCH_BASE:
        values["GROUP_SEARCH"] = ldap_config.LDAPSearch(
            settings.LDAP_GROUP_SEARCH_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_GROUP_SEARCH_FILTER
        )
    return values


class ConsoleLDAPBackend(LDAPBackend):
    @property
    def settings(self):
        if self._settings is None:
            self._settings = LDAPSettings("CONSOLE_UNUSED_AUTH_LDAP_", options())
        return self._settings

    @settings.setter
    def settings(self, value):
        self._settings = value

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.LDAP_ENABLED or not username:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        user = user_by_pk(user_id)  # the package's get_user, without the ORM's compile
        # A user deactivated in the console is signed out at their next request.
        if user is None or not user.is_active:
            return None
        _LDAPUser(self, user=user)  # as the package's get_user: sets user.ldap_user
        return user

    def get_or_build_user(self, username, ldap_user):
        """Called once the directory accepted the password, before any account is created or changed."""
        subject = username.casefold()
        link = ExternalIdentity.objects.select_related("user").filter(source=SOURCE, subject=subject).first()
        user = link.user if link else None
        request = ldap_user._request
        try:
            if user is None and self.get_user_model().objects.filter(username__iexact=username).exists():
                raise sso.Refusal(
                    "A local console account has this name, so the directory account cannot sign in with it. "
                    "Ask a console admin.",
                    code="local account of that name",
                    username=username,
                )
            if user is not None and not user.is_active:
                raise sso.Refusal(
                    "Your console account is deactivated. Ask a console admin.",
                    code="deactivated",
                    username=username,
                    user=user,
                )
            names = sorted({*ldap_user.group_names, *ldap_user.group_dns})
            try:
                ldap_user.console_groups = sso.require_mapped_group(SOURCE, names, username=username, user=user)
            except sso.Refusal:
                if user is not None:  # the directory took every mapped group away: so does the console
                    sso.apply_directory_groups(request, user, SOURCE, {})
                raise
        except sso.Refusal as refusal:
            sso.refuse(request, refusal, source=SOURCE)
            if request is not None:
                request.sso_refusal = refusal
            raise ldap_user.AuthenticationFailed(refusal.code) from None
        names = sorted(ldap_user.group_names)
        user, _ = sso.find_or_create_user(request, _identity(username, ldap_user), names)
        ldap_user.directory_group_names = names
        return user, False  # saved already: django-auth-ldap has nothing to build

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        sso.apply_directory_groups(ldap_user._request, user, SOURCE, ldap_user.console_groups)
        user.sso_source, user.directory_groups = SOURCE, ldap_user.directory_group_names
        return user


def _identity(username: str, ldap_user) -> sso.Identity:
    """The directory account as console.sso takes it: its name as typed, its first values of the mapped attributes."""

    def attribute(name: str) -> str:
        values = (ldap_user.attrs.get(name) if name else None) or [""]
        return str(values[0])

    return sso.Identity(
        source=SOURCE,
        issuer="",
        subject=username.casefold(),
        username=username,
        email=attribute(settings.LDAP_ATTR_EMAIL),
        first_name=attribute(settings.LDAP_ATTR_FIRST_NAME),
        last_name=attribute(settings.LDAP_ATTR_LAST_NAME),
    )


@receiver(ldap_error, dispatch_uid="console-ldap-error")
def _directory_error(sender, context, user, request=None, exception=None, **kwargs) -> None:
    """django-auth-ldap reports a directory that is down here; the login form then says so."""
    if request is not None and isinstance(exception, UNREACHABLE):
        request.ldap_unreachable = True
