"""The audit trail as files: CSV (safe to open in a spreadsheet) and JSON Lines, one row at a time."""

from __future__ import annotations

import csv
from typing import Any

from console import audit_chain

CSV_COLUMNS = ["id", *audit_chain.CONTENT_FIELDS, "hash"]
# A spreadsheet runs a cell starting with one of these as a formula; keys and names are user data.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        value = audit_chain.canonical(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_rows(events):
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events:
        record = audit_chain.export_record(event)
        yield writer.writerow([csv_cell(record[name]) for name in CSV_COLUMNS])


def jsonl_rows(events):
    for event in events:
        yield audit_chain.canonical(audit_chain.export_record(event)) + "\n"
