"""The local password backend: Django's, except that "SSO only" keeps it for the break-glass admins."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class LocalPasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.SSO_ONLY and username is not None:
            allowed = {name.casefold() for name in settings.SSO_BREAK_GLASS_USERS}
            if username.casefold() not in allowed:
                return None  # a directory account may still sign in through the LDAP backend
        return super().authenticate(request, username=username, password=password, **kwargs)
