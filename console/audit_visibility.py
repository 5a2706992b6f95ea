"""Who sees which audit events.

Global admins see everything; everyone else the events inside the scopes they hold a role on (an
endpoint, a bucket, a key prefix — compared with its case, on every database; a global non-admin role
covers every endpoint's events), plus their own events — never console administration
(``ADMINISTRATION``: roles, users, groups, endpoints, the directory mapping, sign-ins), and never other
people's addresses (``hide_addresses``).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.db.models.lookups import Exact

from console import access
from console.models import AuditEvent

# Console administration: who got which role, user and group changes, endpoint edits, the directory
# mapping, sign-ins (addresses, user agents, tried names), archiving the trail. For global admins only.
ADMINISTRATION = ("auth.", "role.", "user.", "group.", "endpoint.", "directory.", "audit.archive")


def key_prefix(prefix: str) -> Q:
    """Keys starting with ``prefix``, case included. ``startswith`` is LIKE, which ignores ASCII case on
    SQLite (PostgreSQL's does not): the exact compare of the key's first characters keeps ``TEAM-A/`` out
    of ``team-a/`` everywhere, and the LIKE beside it keeps PostgreSQL's index range."""
    return Q(key__startswith=prefix) & Q(Exact(Substr("key", 1, len(prefix)), prefix))


def administration() -> Q:
    q = Q()
    for prefix in ADMINISTRATION:
        q |= Q(action__startswith=prefix)
    return q


def visible_events(user) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if access.is_global_admin(user):
        return events
    # access._assignments: the user's and their groups' assignments, cached for the request.
    q = Q(actor_id=user.pk)
    for a in access._assignments(user):
        if a.endpoint_id is None:
            q |= Q(endpoint_id__isnull=False)
        elif not a.bucket:
            q |= Q(endpoint_id=a.endpoint_id)
        elif not a.prefix:
            q |= Q(endpoint_id=a.endpoint_id, bucket=a.bucket)
        else:
            q |= Q(endpoint_id=a.endpoint_id, bucket=a.bucket) & key_prefix(a.prefix)
    # Console administration is for global admins, even one's own events of it (a denied attempt, a
    # sign-in: addresses, user agents, tried names).
    return events.filter(q).exclude(administration())


def hide_addresses(events, user):
    """The address of someone else's event is for global admins: blanked on the copies shown (the rows stay)."""
    if access.is_global_admin(user):
        return events
    for event in events:
        if event.actor_id != user.pk:
            event.client_ip = None
    return events
