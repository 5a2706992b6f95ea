"""The session engines: Django's database sessions (``console.sessions.db``) and, with ``REDIS_URL``, its
cached_db ones (``console.sessions.cached_db``: Redis first, the database behind it), whose one lookup a
request makes skips the ORM's compile (console.rowlookup)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone

from console.rowlookup import RowLookup

_UNEXPIRED = RowLookup(Session, "session_key", "expire_date__gt")


class UnexpiredLookup:
    """A session store's read of its row: as Django's, without the ORM's compile."""

    def _get_session_from_db(self):
        """The session of this key that has not expired, else None (and no key: the request gets a new session)."""
        found = _UNEXPIRED.get(self.session_key, timezone.now())
        if found is None:
            self._session_key = None
        return found
