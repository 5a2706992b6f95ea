"""Django's cached_db sessions (Redis first, the database behind it), read without the ORM's compile
(console.sessions)."""

from django.contrib.sessions.backends import cached_db

from console.sessions import UnexpiredLookup


class SessionStore(UnexpiredLookup, cached_db.SessionStore):
    pass
