"""Django's database sessions, read without the ORM's compile (console.sessions)."""

from django.contrib.sessions.backends import db

from console.sessions import UnexpiredLookup


class SessionStore(UnexpiredLookup, db.SessionStore):
    pass
