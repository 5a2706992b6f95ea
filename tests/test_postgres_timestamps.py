"""console/postgres.py: timestamptz read by datetime.fromisoformat gives what Django's own reader gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from console.postgres import utc_timestamptz_loader

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the loader is for PostgreSQL")

VALUES = [
    "2026-12-02 18:35:04.669529+00",
    "2026-12-02 18:35:04+00",
    "2026-12-02 18:35:04.5+00",
    "1999-12-31 23:59:59.999999+00",
    "0001-01-01 00:00:00+00",
    "2026-06-30 23:59:59.000001+00",
]


@pytest.mark.django_db
def test_the_console_s_connections_read_timestamptz_with_it():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader is utc_timestamptz_loader()


@pytest.mark.django_db
@pytest.mark.parametrize("text", VALUES)
def test_values_read_as_the_server_wrote_them(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, (%s::timestamptz)::text", [text, text])
        value, as_text = cursor.fetchone()
    expected = datetime.fromisoformat(as_text.replace("+00", "+00:00"))
    assert value == expected and value.tzinfo is UTC


@pytest.mark.django_db
def test_what_fromisoformat_cannot_read_goes_to_psycopg_s_parser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT '0044-03-15 12:00:00+00 BC'::timestamptz")
        with pytest.raises(Exception, match="BC"):  # psycopg's own answer: Python has no year 0 or before
            cursor.fetchone()
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
        try:
            cursor.execute("SELECT '2026-12-02 18:35:04+00'::timestamptz")
            value = cursor.fetchone()[0]
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert value == datetime(2026, 12, 2, 18, 35, 4, tzinfo=UTC) and value.utcoffset() == timedelta(0)
