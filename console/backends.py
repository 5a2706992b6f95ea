"""The local password backend: Django's, except that "SSO only" keeps it for the break-glass admins; and the
signed-in user's lookup that every request makes (``get_user``) for it and the OpenID backend."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from console.rowlookup import RowLookup

_BY_PK = RowLookup(get_user_model(), "pk")


def user_by_pk(user_id):
    """The user of this id (as ``UserModel._default_manager.get(pk=…)``, without the ORM's compile), else None."""
    return _BY_PK.get(user_id)


class LocalPasswordBackend(ModelBackend):
    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.SSO_ONLY and username is not None:
            allowed = {name.casefold() for name in settings.SSO_BREAK_GLASS_USERS}
            if username.casefold() not in allowed:
                return None  # a directory account may still sign in through the LDAP backend
        return super().authenticate(request, username=username, password=password, **kwargs)
