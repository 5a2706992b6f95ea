"""A faster reader of PostgreSQL's `timestamptz` for connections in UTC (the console's: USE_TZ, no TIME_ZONE).

Django reads every timestamptz with psycopg's pure-Python parser (a regular expression per value) and then
replaces its tzinfo: about 4 µs a value, a millisecond for a page of 100 bucket rows. In UTC the server
writes ISO 8601 ("2026-12-02 18:35:04.669529+00"), which `datetime.fromisoformat` reads in C, giving the
same aware datetime. Anything it cannot read (BC dates, another DateStyle) goes to psycopg's parser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from django.db.backends.signals import connection_created


@cache
def utc_timestamptz_loader():
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class UtcTimestamptzLoader(BaseTzLoader):
        timezone = UTC  # Django compares this before it registers its own loader on a cursor

        def load(self, data):
            try:
                value = datetime.fromisoformat(str(data, "ascii"))
            except ValueError:
                return super().load(data)
            return value if value.tzinfo is UTC else value.astimezone(UTC)

    return UtcTimestamptzLoader


def use_fast_timestamps(sender, connection, **kwargs) -> None:
    """On each new psycopg 3 connection in UTC, read timestamptz with the loader above."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        connection.connection.adapters.register_loader("timestamptz", utc_timestamptz_loader())


def connect() -> None:
    connection_created.connect(use_fast_timestamps, dispatch_uid="console-fast-timestamps")
