"""INSERT … ON CONFLICT DO UPDATE for the index's big writes, as plain SQL (SQLite and PostgreSQL alike).

A crawl writes a million rows: through ``bulk_create`` three quarters of its time went to building model
instances and preparing each value field by field; here a row is a tuple and a page is one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from catalog.models import Entry

BATCH = 500  # rows a statement: within SQLite's bound on parameters
ENTRY_COLUMNS = ("indexed_id", "key", "size", "last_modified", "storage_class", "etag", "seen", "tags", "metadata")


def upsert(model, columns: Sequence[str], rows: list[tuple], *, conflict: Sequence[str], updates: str) -> None:
    """Insert ``rows`` (tuples in ``columns``' order); a row whose ``conflict`` columns exist gets ``updates``
    (a SET list where ``excluded.<column>`` is the value offered and ``{table}`` the table's quoted name)."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    sets = updates.format(table=table)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            values = ", ".join([row] * len(batch))
            # Table and column names come from the code, every value is a bound parameter.
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} ON CONFLICT"  # noqa: S608
            cursor.execute(f"{sql} ({', '.join(conflict)}) DO UPDATE SET {sets}", [v for r in batch for v in r])


def entries(rows: list[tuple], *, details: bool = False) -> None:
    """Upsert index entries: tuples in ENTRY_COLUMNS' order; ``details``: tags and metadata are written too."""
    fields = ["size", "last_modified", "storage_class", "etag", "seen"] + (["tags", "metadata"] if details else [])
    updates = ", ".join(f"{f} = excluded.{f}" for f in fields)
    if connection.vendor == "postgresql" and rows:
        _entries_unnest(rows, updates)
        return
    upsert(Entry, ENTRY_COLUMNS, rows, conflict=("indexed_id", "key"), updates=updates)


_ENTRY_TYPES = ("bigint", "varchar", "bigint", "timestamptz", "varchar", "varchar", "integer", "text", "text")


def _entries_unnest(rows: list[tuple], updates: str) -> None:
    """PostgreSQL: one array a column (nine parameters, not nine a row: the server parses a short statement)."""
    table = connection.ops.quote_name(Entry._meta.db_table)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _ENTRY_TYPES)
    sql = f"INSERT INTO {table} ({', '.join(ENTRY_COLUMNS)}) SELECT * FROM UNNEST({arrays})"  # noqa: S608 - bound
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            columns = [list(column) for column in zip(*rows[start : start + 2000], strict=True)]
            cursor.execute(f"{sql} ON CONFLICT (indexed_id, key) DO UPDATE SET {updates}", columns)


def when(value: datetime | None):
    """A datetime as the database takes it in a raw statement (SQLite: text in UTC)."""
    return connection.ops.adapt_datetimefield_value(value)
