"""What single sign-on (OpenID Connect, LDAP) does to console accounts, the same for both.

- ``Refusal``: a sign-in the console refuses, with the reason shown on the login page and
  kept in the audit trail (``auth.sso.refused``). Raised before any account is created or changed.
- ``find_or_create_user``: the user of an external identity (provider subject, never the
  changeable e-mail), created just in time on the first sign-in.
- ``apply_directory_groups``: console group memberships from the directory's groups, through
  ``DirectoryGroupMapping``. Refreshed at every sign-in: a user who left a directory group
  leaves the console group, and so loses the roles of that group. Memberships an admin gave
  by hand are never taken away by the directory.

This module decides; the changes themselves are the audited services of ``console.services``
(``sso_user_create``, ``sso_user_refresh``, ``directory_memberships_apply``), as for any other change.
Sign-in events that change nothing (a sign-in, a refusal) are recorded here with ``audit.record``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from console import audit, services
from console.models import DirectoryGroupMapping, DirectoryMembership, ExternalIdentity

USERNAME_CHARS = re.compile(r"[^\w.@+-]")


class Refusal(Exception):
    """A sign-in refused: ``reason`` is shown to the person and recorded; ``detail`` only recorded."""

    def __init__(self, reason: str, *, code: str, detail: str = "", username: str = "", user=None):
        super().__init__(reason)
        self.reason, self.code, self.detail, self.username, self.user = reason, code, detail, username, user


def user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:300]


def actor(request, *, user=None, username: str = "") -> audit.Actor:
    """Who signs in: the user (or, before there is one, the name), from where."""
    return audit.Actor(
        user_id=user.pk if user is not None else None,
        username=(user.get_username() if user is not None else username) or "",
        ip=audit.client_ip(request) if request is not None else None,
    )


def record_auth(request, action: str, *, outcome: str = "ok", user=None, username: str = "", **params):
    """One sign-in event (not a change: those go through ``console.services``): who, from where, which browser."""
    who = actor(request, user=user, username=username)
    return audit.record(who, action, outcome=outcome, params={**params, "user_agent": user_agent(request)})


def refuse(request, refusal: Refusal, *, source: str) -> None:
    record_auth(
        request,
        "auth.sso.refused",
        outcome="denied",
        user=refusal.user,
        username=refusal.username,
        source=source,
        reason=refusal.code,
        detail=refusal.detail[:500],
    )


# --- directory groups -------------------------------------------------------------------------


def _matches(source: str, directory_group: str, names: list[str]) -> bool:
    if source == "ldap":  # a group's DN or its name, as directories compare them: without case
        wanted = directory_group.casefold()
        return any(n.casefold() == wanted for n in names)
    return directory_group in names


def mapped_groups(source: str, names: list[str]) -> dict[Group, list[str]]:
    """The console groups the directory groups ``names`` map to, each with the directory groups behind it."""
    found: dict[Group, list[str]] = {}
    for mapping in DirectoryGroupMapping.objects.filter(source=source).select_related("group"):
        if _matches(source, mapping.directory_group, names):
            found.setdefault(mapping.group, []).append(mapping.directory_group)
    return found


def require_mapped_group(source: str, names: list[str], *, username: str, user=None) -> dict[Group, list[str]]:
    groups = mapped_groups(source, names)
    if not groups and settings.SSO_REQUIRE_MAPPED_GROUP:
        raise Refusal(
            "Your account is in no group that has access to this console. Ask a console admin.",
            code="no mapped group",
            detail="directory groups: " + ", ".join(names[:50]),
            username=username,
            user=user,
        )
    return groups


def apply_directory_groups(request, user, source: str, groups: dict[Group, list[str]]) -> dict:
    """Make the user's directory memberships of ``source`` exactly ``groups``, through the audited service."""
    existing = {
        m.group_id: m for m in DirectoryMembership.objects.filter(user=user, source=source).select_related("group")
    }
    give = {group: names for group, names in groups.items() if group.pk not in existing}
    renew = {
        existing[group.pk]: names
        for group, names in groups.items()
        if group.pk in existing and existing[group.pk].directory_groups != names
    }
    wanted = {group.pk for group in groups}
    take = [m for group_id, m in existing.items() if group_id not in wanted]  # the directory no longer names these
    if not (give or renew or take):
        return {"added": [], "removed": []}
    return services.directory_memberships_apply(
        actor=actor(request, user=user),
        user=user,
        source=source,
        give=give,
        renew=renew,
        take=take,
        params={"source": source, "user_agent": user_agent(request)},
    )


# --- accounts ---------------------------------------------------------------------------------


@dataclass
class Identity:
    source: str
    issuer: str
    subject: str
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""


def existing_user(identity: Identity):
    link = (
        ExternalIdentity.objects.select_related("user")
        .filter(source=identity.source, issuer=identity.issuer, subject=identity.subject)
        .first()
    )
    return link.user if link else None


def _free_username(wanted: str) -> str:
    base = USERNAME_CHARS.sub("-", wanted)[:140] or "user"
    users = get_user_model().objects
    name, n = base, 1
    while users.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def find_or_create_user(request, identity: Identity, directory_groups: list[str]):
    """The console user of this identity: refreshed (name, e-mail), or created on the first sign-in.

    A name already taken by another account (a local one, say) is not taken over: the new
    account gets a free variant of it. Both changes go through their audited services.
    """
    user = existing_user(identity)
    params = {"source": identity.source, "subject": identity.subject, "user_agent": user_agent(request)}
    if user is not None:
        if not user.is_active:
            raise Refusal(
                "Your console account is deactivated. Ask a console admin.",
                code="deactivated",
                username=user.username,
                user=user,
            )
        fields = {"email": identity.email, "first_name": identity.first_name, "last_name": identity.last_name}
        changed = {name: value[:150] for name, value in fields.items() if value and getattr(user, name) != value[:150]}
        if changed:
            services.sso_user_refresh(actor=actor(request, user=user), user=user, fields=changed, params=params)
        # What the directory said at this sign-in: kept with the identity, recorded by auth.sso.login.
        ExternalIdentity.objects.filter(user=user, source=identity.source, subject=identity.subject).update(
            directory_groups=directory_groups, last_sign_in=timezone.now()
        )
        return user, False
    name = _free_username(identity.username)
    user = services.sso_user_create(
        actor=actor(request, username=name), identity=identity, directory_groups=directory_groups, params=params
    )
    return user, True


# --- where a user's roles come from -------------------------------------------------------------


@dataclass
class RoleSource:
    assignment: object  # RoleAssignment
    kind: str  # "local assignment", "local group", "directory group"
    group: Group | None = None
    directory_groups: tuple[str, ...] = ()
    directory_source: str = ""


def role_sources(user) -> list[RoleSource]:
    """Every role assignment that applies to the user, and whether it is theirs, a local group's or the directory's."""
    from console.models import RoleAssignment

    rows = [
        RoleSource(a, "local assignment")
        for a in RoleAssignment.objects.filter(user=user).select_related("endpoint").order_by("created_at")
    ]
    memberships = {
        m.group_id: m for m in DirectoryMembership.objects.filter(user=user) if not m.was_local
    }  # was_local: the admin's membership, which the directory only confirmed
    groups = user.groups.order_by("name")
    assignments = RoleAssignment.objects.filter(group__in=groups).select_related("endpoint", "group")
    for a in assignments.order_by("group__name", "created_at"):
        m = memberships.get(a.group_id)
        if m is None:
            rows.append(RoleSource(a, "local group", a.group))
        else:
            rows.append(RoleSource(a, "directory group", a.group, tuple(m.directory_groups), m.get_source_display()))
    return rows
