"""Failed-login lockout that one person cannot turn against a whole office (django-axes).

Two counters, both over the last ``LOGIN_LOCKOUT_MINUTES``:

- one user name from one address: ``LOGIN_FAILURE_LIMIT`` failures lock that name *from that
  address* (a colleague behind the same NAT or proxy still signs in, and so does the owner
  of the name from elsewhere);
- one address, whatever the names: ``LOGIN_ADDRESS_FAILURE_LIMIT`` failures (much higher:
  guessing many names) lock the address.

axes compares one number with one limit, so the handler reports the address counter as
"at the limit" once it reaches its own, higher limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

USER_AND_ADDRESS, ADDRESS = "user_and_address", "address"


class ConsoleAxesHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        per_user_and_address, per_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if per_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(per_user_and_address, settings.AXES_FAILURE_LIMIT)
        return per_user_and_address

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful login clears that name's failures from that address, not the address's:
        else anyone could wipe the address counter by signing in to their own account."""
        user_and_address = self.filter_user_attempts(request, credentials)[0]
        deleted, _ = user_and_address.delete()
        return deleted


@dataclass(frozen=True)
class Lock:
    kind: str  # USER_AND_ADDRESS or ADDRESS
    ip: str
    username: str
    failures: int
    until: datetime

    @property
    def minutes_left(self) -> int:
        seconds = (self.until - timezone.now()).total_seconds()
        return max(1, int(-(-seconds // 60)))


def _recent():
    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)


def current_locks() -> list[Lock]:
    """Every lock in force now: names locked from an address, and locked addresses."""
    locks: list[Lock] = []
    cooloff = settings.AXES_COOLOFF_TIME
    pairs = (
        _recent()
        .exclude(username=None)
        .values("username", "ip_address")
        .annotate(n=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(n__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("username", "ip_address")
    )
    locks += [Lock(USER_AND_ADDRESS, p["ip_address"], p["username"], p["n"], p["last"] + cooloff) for p in pairs]
    addresses = (
        _recent()
        .values("ip_address")
        .annotate(n=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(n__gte=settings.LOGIN_ADDRESS_FAILURE_LIMIT)
        .order_by("ip_address")
    )
    locks += [Lock(ADDRESS, a["ip_address"], "", a["n"], a["last"] + cooloff) for a in addresses]
    return locks


def lock_for(username: str, ip: str | None) -> Lock | None:
    """The lock that stops this name from this address now (the one lasting longest), if any."""
    locks = [lock for lock in current_locks() if lock.ip == ip and (lock.kind == ADDRESS or lock.username == username)]
    return max(locks, key=lambda lock: lock.until, default=None)


def lift(*, ip: str, username: str = "") -> int:
    """Forget the failures behind a lock: of this name from this address, or of the whole address."""
    attempts = AccessAttempt.objects.filter(ip_address=ip)
    if username:
        attempts = attempts.filter(username=username)
    deleted, _ = attempts.delete()
    return deleted
