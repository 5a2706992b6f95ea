"""Retention: old events go to S3 (real SeaweedFS) as JSON Lines; the chain stays verifiable across the cut."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from console import audit_chain
from console.models import AuditCheckpoint, AuditEvent
from tests.audit_helpers import at, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive_bucket(settings, endpoint, make_bucket):
    bucket = make_bucket("audit-archive")
    settings.AUDIT_ARCHIVE_BUCKET = bucket
    settings.AUDIT_ARCHIVE_PREFIX = "trail/"
    settings.AUDIT_ARCHIVE_ENDPOINT = endpoint.name
    return bucket


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def stored_objects(s3client, bucket: str) -> list[str]:
    return [o["Key"] for o in s3client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_archive_round_trip_then_verify(archive_bucket, endpoint, s3client):
    where = {"endpoint": endpoint, "bucket": "b"}
    old = [
        event("alice", "bucket.policy.put", before={"a": i}, after={"a": i + 1}, when=at(d), **where)
        for i, d in enumerate((1, 2, 3, 4), start=1)
    ]
    new = [event("bob", "object.delete", key=f"k{i}", when=at(20 + i), **where) for i in range(3)]
    first_four = AuditEvent.objects.order_by("seq")[:4]
    expected_lines = [audit_chain.canonical(audit_chain.export_record(e)) for e in first_four]

    assert "Would archive 4 events (seq 1-4)" in run("audit_archive", "--before", "2026-01-10", "--dry-run")
    assert AuditEvent.objects.count() == 7 and stored_objects(s3client, archive_bucket) == []

    output = run("audit_archive", "--before", "2026-01-10")
    assert "Archived 4 events (seq 1-4)" in output

    keys = stored_objects(s3client, archive_bucket)
    assert len(keys) == 1
    assert keys[0].startswith("trail/audit-000000000001-000000000004-") and keys[0].endswith(".jsonl")
    body = s3client.get_object(Bucket=archive_bucket, Key=keys[0])["Body"].read()
    assert body.decode().splitlines() == expected_lines
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4] and records[0]["after"] == {"a": 2}
    assert records[-1]["hash"] == old[-1].hash

    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.first_seq, checkpoint.seq, checkpoint.event_count) == (1, 4, 4)
    assert checkpoint.hash == old[-1].hash
    assert checkpoint.content_sha256 == hashlib.sha256(body).hexdigest()
    assert checkpoint.location == f"s3://{archive_bucket}/{keys[0]}"

    # Locally: the newer events, plus the record of the archive itself; the chain verifies from the checkpoint.
    remaining = list(AuditEvent.objects.order_by("seq"))
    assert [e.pk for e in remaining[:3]] == [e.pk for e in new]
    assert remaining[0].prev_hash == checkpoint.hash
    assert remaining[-1].action == "audit.archive" and remaining[-1].params["count"] == 4
    assert run("audit_verify").splitlines()[-1].startswith("OK: 4 events verified (seq 5-8)")

    # Nothing older is left: a second run has nothing to do; a later cut continues the chain.
    assert "Nothing to archive" in run("audit_archive", "--before", "2026-01-10")
    run("audit_archive", "--before", "2026-01-22")
    assert AuditCheckpoint.objects.order_by("-seq").first().seq == 6
    assert len(stored_objects(s3client, archive_bucket)) == 2
    assert run("audit_verify").splitlines()[-1].startswith("OK: 3 events verified (seq 7-9)")

    # Removing the first event after the cut is still caught.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM console_auditevent WHERE seq = 7")
    with pytest.raises(CommandError, match="seq 8"):
        run("audit_verify")


def test_archive_refuses_a_broken_chain_and_keeps_everything(archive_bucket, endpoint, s3client):
    for d in (1, 2, 3):
        event("alice", "object.put", endpoint=endpoint, bucket="b", key=f"k{d}", when=at(d))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE console_auditevent SET key = 'forged' WHERE seq = 2")
    with pytest.raises(CommandError, match="broken at seq 2"):
        run("audit_archive", "--before", "2026-02-01")
    assert AuditEvent.objects.count() == 3 and not AuditCheckpoint.objects.exists()
    assert stored_objects(s3client, archive_bucket) == []


def test_archive_needs_its_settings(settings, db):
    event("alice", "object.put", when=at(1))
    settings.AUDIT_ARCHIVE_BUCKET = ""
    with pytest.raises(CommandError, match="AUDIT_ARCHIVE_BUCKET"):
        run("audit_archive", "--before", "2026-02-01")
    settings.AUDIT_ARCHIVE_BUCKET, settings.AUDIT_ARCHIVE_ENDPOINT = "x", "no-such-endpoint"
    with pytest.raises(CommandError, match="no endpoint named 'no-such-endpoint'"):
        run("audit_archive", "--before", "2026-02-01")
    with pytest.raises(CommandError, match="--before must be a date"):
        run("audit_archive", "--before", "last tuesday")
    assert AuditEvent.objects.count() == 1
