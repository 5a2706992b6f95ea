"""Who may do what: the one place that turns role assignments into a decision.

Scopes nest: everything ⊃ one endpoint ⊃ one bucket ⊃ one key prefix. An assignment
(to a user, or to a group the user is in) gives its role on its scope and everything
inside it; the effective role is the highest role that covers what is asked.

- ``effective_role(user, endpoint=, bucket=)`` — the role on the endpoint/bucket AS A
  WHOLE: prefix assignments do not count (a role on ``logs/`` is no role on the bucket).
- ``effective_role(user, endpoint=, bucket=, key=)`` — the role on that object key (or
  on that prefix, when listing ``key="a/b/"``): prefix assignments count when the key
  starts with their prefix.
- ``require_role`` is what views call first: 404 when the user may not see the
  endpoint/bucket at all, 403 (and a "denied" audit row) when the role is too low.
  A user whose only role in a bucket is on a prefix may still *see* the bucket (viewer
  level, to browse down to the prefix): ``require_role(VIEWER, bucket=b)`` and, for the
  listing only, ``require_role(VIEWER, bucket=b, key=<folder above the prefix>, listing=True)``
  pass. Views that list keys must then show only what ``allowed_prefixes`` allows
  (``key_allowed`` / ``folder_visible``); any action on a key outside the prefixes is
  refused (403) — including reading, downloading or copying a folder above the prefix,
  which would reach keys outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from console import audit
from console.errors import NotFound
from console.models import ROLE_RANK, DirectoryMembership, Endpoint, Role, RoleAssignment
from console.rowlookup import RowSelect, column


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _held_by_user_or_groups(ops) -> str:
    """``RoleAssignment.objects.filter(Q(user=u) | Q(group__in=u.groups.all()))``'s WHERE."""
    member = get_user_model().groups.through
    groups = f"SELECT {column(member, 'group', ops)} FROM {ops.quote_name(member._meta.db_table)}"  # noqa: S608 - quoted names of the models' own tables and columns; the values are parameters
    return (
        f"{column(RoleAssignment, 'user', ops)} = %s OR {column(RoleAssignment, 'group', ops)} IN "
        f"({groups} WHERE {column(member, 'user', ops)} = %s)"
    )


# Read on every request of a user who is not a superuser: without the ORM's compile (console.rowlookup).
_HELD = RowSelect(
    RoleAssignment,
    _held_by_user_or_groups,
    [RoleAssignment._meta.get_field("user"), get_user_model().groups.through._meta.get_field("user")],
)


def _assignments(user) -> list[RoleAssignment]:
    """The user's own and their groups' assignments, read once per request (cached on the user)."""
    if not _active(user):
        return []
    cached = getattr(user, "_role_assignments_cache", None)
    if cached is None:
        cached = _HELD.rows(user.pk, user.pk)
        user._role_assignments_cache = cached
    return cached


def forget(user) -> None:
    """Drop the per-request cache (after changing this user's assignments or groups)."""
    if hasattr(user, "_role_assignments_cache"):
        del user._role_assignments_cache


def _covers(a: RoleAssignment, endpoint_id: int | None, bucket: str, key: str | None) -> bool:
    if a.endpoint_id is None:
        return True
    if a.endpoint_id != endpoint_id:
        return False
    if not a.bucket:
        return True
    if a.bucket != bucket:
        return False
    if not a.prefix:
        return True
    return key is not None and key.startswith(a.prefix)


def _best(roles) -> Role | None:
    best = None
    for role in roles:
        if best is None or ROLE_RANK[role] > ROLE_RANK[best]:
            best = role
    return Role(best) if best else None


def effective_role(user, *, endpoint: Endpoint | None = None, bucket: str = "", key: str | None = None) -> Role | None:
    """The highest role the user holds on this scope, or None (see the module docstring)."""
    if not _active(user):
        return None
    if user.is_superuser:
        return Role.ADMIN
    endpoint_id = endpoint.pk if endpoint else None
    return _best(a.role for a in _assignments(user) if _covers(a, endpoint_id, bucket, key))


def can_see(user, *, endpoint: Endpoint, bucket: str = "") -> bool:
    """True when the user holds any role on the endpoint/bucket or on something inside it."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    for a in _assignments(user):
        if a.endpoint_id is None:
            return True
        if a.endpoint_id == endpoint.pk and (not bucket or not a.bucket or a.bucket == bucket):
            return True
    return False


def allowed_prefixes(user, endpoint: Endpoint, bucket: str) -> list[str] | None:
    """Key prefixes of the bucket the user may act in: None = the whole bucket, [] = nothing.

    The list is minimal (no prefix inside another) and sorted.
    """
    if not _active(user):
        return []
    if effective_role(user, endpoint=endpoint, bucket=bucket) is not None:
        return None
    prefixes = sorted(
        {a.prefix for a in _assignments(user) if a.endpoint_id == endpoint.pk and a.bucket == bucket and a.prefix}
    )
    minimal: list[str] = []
    for p in prefixes:  # sorted: a prefix comes right before the ones it contains
        if not any(p.startswith(m) for m in minimal):
            minimal.append(p)
    return minimal


def key_allowed(prefixes: list[str] | None, key: str) -> bool:
    """Whether a key (object or folder) lies inside the allowed prefixes."""
    return prefixes is None or any(key.startswith(p) for p in prefixes)


def folder_visible(prefixes: list[str] | None, folder: str) -> bool:
    """Whether a folder (``""`` or ending in ``/``) may be listed: inside a prefix, or on the way down to one."""
    return key_allowed(prefixes, folder) or any(p.startswith(folder) for p in prefixes or [])


def _is_folder(key: str) -> bool:
    return key == "" or key.endswith("/")


def browse_role(user, *, endpoint: Endpoint, bucket: str, key: str | None = None) -> Role | None:
    """VIEWER for a user who holds a role only on prefixes of this bucket and asks for the bucket
    itself (``key=None``) or for a folder above one of the prefixes; None otherwise."""
    if not bucket or (key is not None and not _is_folder(key)):
        return None
    prefixes = allowed_prefixes(user, endpoint, bucket)
    if not prefixes:
        return None
    if key is None or folder_visible(prefixes, key):
        return Role.VIEWER
    return None


def visible_endpoint_ids(user) -> set[int] | None:
    """Endpoint ids the user may see; None means all of them."""
    if not _active(user):
        return set()
    if user.is_superuser or any(a.endpoint_id is None for a in _assignments(user)):
        return None
    return {a.endpoint_id for a in _assignments(user)}


def bucket_filter(user) -> Q | None:
    """A Q over Bucket rows the user may see; None means all."""
    if visible_endpoint_ids(user) is None:
        return None
    q = Q(pk__in=[])
    for a in _assignments(user):
        q |= Q(endpoint_id=a.endpoint_id) if not a.bucket else Q(endpoint_id=a.endpoint_id, name=a.bucket)
    return q


def scope_key(user) -> tuple:
    """All that what the user may see depends on — buckets, endpoints, audit events, admin links — as a
    key's part for output kept for them (console/fragments.py): a global admin's is shared."""
    if is_global_admin(user):
        return ("admin",)
    # A global assignment has no endpoint (0 here: sorted with the others); the role decides what is shown.
    return (user.pk, tuple(sorted({(a.endpoint_id or 0, a.bucket, a.prefix, a.role) for a in _assignments(user)})))


def require_role(
    request,
    need: Role,
    *,
    action: str,
    endpoint: Endpoint | None = None,
    bucket: str = "",
    key: str | None = None,
    listing: bool = False,
) -> Role:
    """Return the user's role on the scope or stop: 404 if not visible, 403 + audit row if too low.

    ``listing=True`` only for the view that lists a folder: there (and on the bucket itself,
    ``key=None``) a prefix-scoped user gets viewer on the folders above their prefix. Anywhere
    else a key is the object or folder acted on, and only a role covering it counts.
    """
    user = request.user
    role = effective_role(user, endpoint=endpoint, bucket=bucket, key=key)
    if role is None and endpoint is not None:
        if not can_see(user, endpoint=endpoint, bucket=bucket):
            raise NotFound("No such bucket or endpoint.")
        if key is None or listing:
            role = browse_role(user, endpoint=endpoint, bucket=bucket, key=key)
    if role is None or role.rank < need.rank:
        audit.denied(
            audit.Actor.from_request(request, role=role or ""),
            action,
            endpoint=endpoint,
            bucket=bucket,
            key=key or "",
            params={"needed_role": need.value},
        )
        raise PermissionDenied(f"This needs the {need.label.lower()} role.")
    return role


def require_global_admin(request, *, action: str) -> Role:
    """Console administration (endpoints, users): admin on everything."""
    return require_role(request, Role.ADMIN, action=action)


def is_global_admin(user) -> bool:
    return effective_role(user) == Role.ADMIN


def writes_somewhere(user) -> bool:
    """Whether the user may change anything anywhere: without that, copying (to where?) is no action of theirs."""
    if not _active(user):
        return False
    return user.is_superuser or any(Role(a.role).can_write for a in _assignments(user))


# --- who has access to a bucket -------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One way a principal gets a role on (part of) a bucket."""

    principal: str  # "user" or "group"
    name: str
    role: Role
    scope: str  # "everything", "endpoint", "bucket", "prefix"
    assignment: RoleAssignment | None  # None: superuser
    via_group: str = ""  # for a user row reached through a group
    user_active: bool = True
    user_id: int | None = None
    via_directory: str = ""  # a group membership given by single sign-on: the directory groups behind it

    @property
    def scope_label(self) -> str:
        return self.assignment.scope_label if self.assignment else "everything (superuser)"


def bucket_grants(endpoint: Endpoint, bucket: str) -> list[Grant]:
    """Every user and group with a role on this bucket (or a prefix in it), and through which assignment.

    Users reached through a group are listed too (with ``via_group``), so the answer to
    "who can touch this bucket" is complete.
    """
    covering = (
        RoleAssignment.objects.filter(
            Q(endpoint__isnull=True) | Q(endpoint=endpoint, bucket="") | Q(endpoint=endpoint, bucket=bucket)
        )
        .select_related("endpoint", "user", "group")
        .prefetch_related("group__user_set", "group__directory_mappings")
        .order_by("user__username", "group__name", "prefix")
    )
    # Memberships that single sign-on gave, with the directory groups behind them (who has access
    # through the identity provider or LDAP).
    covering = list(covering)
    group_ids = {a.group_id for a in covering if a.group_id}
    directory = {
        (m.user_id, m.group_id): ", ".join(m.directory_groups)
        for m in DirectoryMembership.objects.filter(was_local=False, group_id__in=group_ids)
    }
    grants: list[Grant] = []
    for a in covering:
        scope = (
            "everything" if a.endpoint_id is None else "prefix" if a.prefix else "bucket" if a.bucket else "endpoint"
        )
        if a.user_id:
            grants.append(
                Grant("user", a.user.username, Role(a.role), scope, a, user_active=a.user.is_active, user_id=a.user_id)
            )
        else:
            mapped = ", ".join(sorted({m.directory_group for m in a.group.directory_mappings.all()}))
            grants.append(Grant("group", a.group.name, Role(a.role), scope, a, via_directory=mapped))
            for member in sorted(a.group.user_set.all(), key=lambda u: u.username):
                grants.append(
                    Grant(
                        "user",
                        member.username,
                        Role(a.role),
                        scope,
                        a,
                        a.group.name,
                        member.is_active,
                        member.pk,
                        directory.get((member.pk, a.group_id), ""),
                    )
                )
    for su in get_user_model().objects.filter(is_superuser=True).order_by("username"):
        grants.append(Grant("user", su.username, Role.ADMIN, "everything", None, "", su.is_active, su.pk))
    # One block per person or group, the broadest role first.
    return sorted(grants, key=lambda g: (g.name.lower(), g.principal, -g.role.rank))
