"""Substring search in keys: a pg_trgm GIN index on PostgreSQL, an FTS5 trigram table on SQLite.

Each part runs only on its database (TrigramExtension does nothing elsewhere).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

POSTGRES = [
    "CREATE INDEX IF NOT EXISTS catalog_entry_key_trgm ON catalog_entry USING gin (key gin_trgm_ops)",
]
POSTGRES_BACK = ["DROP INDEX IF EXISTS catalog_entry_key_trgm"]

# An external-content FTS5 table over catalog_entry.key; the key of a row never changes (upserts keep it).
SQLITE = [
    "CREATE VIRTUAL TABLE catalog_entry_fts USING fts5(key, content='catalog_entry', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER catalog_entry_fts_ai AFTER INSERT ON catalog_entry BEGIN "
    "INSERT INTO catalog_entry_fts(rowid, key) VALUES (new.id, new.key); END",
    "CREATE TRIGGER catalog_entry_fts_ad AFTER DELETE ON catalog_entry BEGIN "
    "INSERT INTO catalog_entry_fts(catalog_entry_fts, rowid, key) VALUES ('delete', old.id, old.key); END",
    "CREATE TRIGGER catalog_entry_fts_au AFTER UPDATE OF key ON catalog_entry BEGIN "
    "INSERT INTO catalog_entry_fts(catalog_entry_fts, rowid, key) VALUES ('delete', old.id, old.key); "
    "INSERT INTO catalog_entry_fts(rowid, key) VALUES (new.id, new.key); END",
]
SQLITE_BACK = [
    "DROP TRIGGER IF EXISTS catalog_entry_fts_au",
    "DROP TRIGGER IF EXISTS catalog_entry_fts_ad",
    "DROP TRIGGER IF EXISTS catalog_entry_fts_ai",
    "DROP TABLE IF EXISTS catalog_entry_fts",
]


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}), _run({"postgresql": POSTGRES_BACK, "sqlite": SQLITE_BACK})
        ),
    ]
