"""Who may do what: the one place that turns role assignments into a decision.

``effective_role`` answers for a scope (endpoint, bucket, key); the ``require_*``
helpers are what views call first: 404 when the user may not see the thing at all,
403 (and a "denied" audit row) when the user sees it but lacks the role.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from console import audit
from console.models import ROLE_RANK, Endpoint, Role, RoleAssignment


def _assignments(user) -> list[RoleAssignment]:
    """The user's own and their groups' assignments, read once per request (cached on the user)."""
    cached = getattr(user, "_role_assignments_cache", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.filter(Q(user=user) | Q(group__in=user.groups.all())).select_related("endpoint")
        )
        user._role_assignments_cache = cached
    return cached


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


def effective_role(user, *, endpoint: Endpoint | None = None, bucket: str = "", key: str | None = None) -> Role | None:
    """The highest role the user holds on this scope, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    endpoint_id = endpoint.pk if endpoint else None
    best: str | None = None
    for a in _assignments(user):
        if _covers(a, endpoint_id, bucket, key) and (best is None or ROLE_RANK[a.role] > ROLE_RANK[best]):
            best = a.role
    return Role(best) if best else None


def can_see(user, *, endpoint: Endpoint, bucket: str = "") -> bool:
    """True when the user holds any role on the endpoint/bucket or on something inside it."""
    if user.is_superuser:
        return True
    for a in _assignments(user):
        if a.endpoint_id is None:
            return True
        if a.endpoint_id == endpoint.pk and (not bucket or not a.bucket or a.bucket == bucket):
            return True
    return False


def visible_endpoint_ids(user) -> set[int] | None:
    """Endpoint ids the user may see; None means all of them."""
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


def require_role(
    request, need: Role, *, action: str, endpoint: Endpoint | None = None, bucket: str = "", key: str | None = None
) -> Role:
    """Return the user's role on the scope or stop: 404 if not visible, 403 + audit row if too low."""
    user = request.user
    role = effective_role(user, endpoint=endpoint, bucket=bucket, key=key)
    if role is None and endpoint is not None and not can_see(user, endpoint=endpoint, bucket=bucket):
        raise Http404("No such bucket or endpoint.")
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
