"""Tamper evidence: the hash chain catches edited, deleted and inserted events; writers never fork it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections

from console import audit, audit_chain
from console.models import AuditEvent
from tests.audit_helpers import event, plain_endpoint

pytestmark = pytest.mark.django_db


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def broken() -> str:
    with pytest.raises(CommandError) as info:
        verify()
    return str(info.value)


@pytest.fixture
def chain(db):
    ep = plain_endpoint("ep-one")
    return [
        event(
            "alice",
            "bucket.policy.put",
            endpoint=ep,
            bucket="b",
            key=f"k{i}",
            params={"n": i, "ratio": 0.5, "whole": 2.0},
            before={"Statement": [{"Effect": "Deny"}]},
            after={"Statement": [{"Effect": "Allow"}], "when": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        for i in range(1, 6)
    ]


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_record_links_each_event_to_the_one_before(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == audit_chain.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:], strict=False))
    # The hash is over the stored content: reading the rows back gives the same hashes.
    for stored in AuditEvent.objects.all():
        assert audit_chain.compute_hash(stored) == stored.hash
    assert verify().startswith("OK: 5 events verified (seq 1-5).")


def test_an_edited_event_is_caught(chain):
    sql("UPDATE console_auditevent SET outcome = 'ok', bucket = 'other' WHERE seq = 3")
    message = broken()
    assert "seq 3" in message and "content edited" in message and "2 event(s) before it verified" in message


def test_an_edited_json_value_is_caught(chain):
    stored = AuditEvent.objects.get(seq=2)
    params = audit_chain.canonical({**stored.params, "n": 99})
    sql("UPDATE console_auditevent SET params = %s WHERE seq = 2", [params])
    assert "seq 2" in broken()


def test_a_deleted_event_is_caught(chain):
    sql("DELETE FROM console_auditevent WHERE seq = 3")
    message = broken()
    assert "seq 4" in message and "event missing: seq 3 absent" in message


def _insert(seq: int, prev_hash: str, hash_value: str | None = None, **fields) -> None:
    row = {
        "seq": seq,
        "created_at": datetime.now(UTC),
        "actor_name": "mallory",
        "role": "admin",
        "endpoint_name": "",
        "bucket": "b",
        "key": "planted",
        "version_id": "",
        "action": "object.delete",
        "params": "{}",
        "outcome": "ok",
        "error_code": "",
        "error_message": "",
        "request_id": "",
        "prev_hash": prev_hash,
        **fields,
    }
    if hash_value is None:  # a correct hash for this content: only the position can betray it
        probe = AuditEvent(**{**row, "params": {}, "actor_id": None, "endpoint_id": None, "client_ip": None})
        hash_value = audit_chain.compute_hash(probe)
    row["hash"] = hash_value
    columns = ", ".join(connection.ops.quote_name(c) for c in row)
    sql(f"INSERT INTO console_auditevent ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))


def test_an_inserted_event_with_a_forged_hash_is_caught(chain):
    _insert(6, chain[-1].hash, "f" * 64)
    message = broken()
    assert "seq 6" in message and "content edited" in message


def test_an_event_inserted_before_the_chain_is_caught(chain):
    _insert(0, audit_chain.GENESIS_HASH)
    message = broken()
    assert "seq 0" in message and "inserted out of order" in message


def test_a_replaced_event_is_caught(chain):
    # Delete seq 3 and plant a correctly hashed substitute: seq 4 no longer links to it.
    sql("DELETE FROM console_auditevent WHERE seq = 3")
    _insert(3, chain[1].hash)
    message = broken()
    assert "seq 4" in message and "prev_hash does not match" in message


def test_deleting_users_and_endpoints_leaves_the_chain_intact(chain, admin_user):
    event("alice", "object.put", user=admin_user, endpoint=chain[0].endpoint, bucket="b")
    admin_user.delete()
    chain[0].endpoint.delete()
    assert AuditEvent.objects.filter(endpoint_id__isnull=False).count() == 6  # ids kept, names kept
    assert verify().startswith("OK: 6 events verified")


def test_events_are_append_only_in_the_application(chain):
    stored = AuditEvent.objects.get(seq=1)
    stored.action = "changed"
    with pytest.raises(ValueError, match="append-only"):
        stored.save()
    with pytest.raises(ValueError, match="append-only"):
        stored.delete()
    # No Django admin that could edit them.
    if "django.contrib.admin" in settings.INSTALLED_APPS:
        from django.contrib import admin

        assert AuditEvent not in admin.site._registry
    assert verify().startswith("OK: 5 events")


def test_record_keeps_working_after_an_empty_table_and_with_odd_values(db):
    ev = event("alice", "object.put", key="é/" + "ü" * 600, params={"big": 1e20, "small": 1.5e-7})
    assert len(ev.key.encode()) <= 1024  # an over-long key (a refused attempt) is cut to fit
    assert verify().startswith("OK: 1 events")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_a_valid_chain():
    writers, per_writer = 6, 25
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            actor = audit.Actor(user_id=None, username=f"writer{n}")
            for i in range(per_writer):
                audit.record(actor, "object.put", outcome="ok", bucket="b", key=f"{n}/{i}")
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, writers * per_writer + 1))
    assert verify().startswith(f"OK: {writers * per_writer} events verified")
