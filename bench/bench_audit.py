"""The audit page, 50 rows of 1,000,000 events on PostgreSQL, unfiltered and each filter, against the floor page.

Setup: BENCH_DATABASE_URL, else a database ``s3console_bench`` next to DATABASE_URL's (created if
missing), filled by COPY with 1,000,000 hash-chained events (kept between runs; ``--fresh`` rebuilds).
Each case times the whole page through the production WSGI handler (middleware, session, access
checks, filter form, rows) in turns with the floor page (bench/floor_urls.py: a logged-in page that
renders only the base layout), median of N. Goal: every case ≤ 1.6× the floor, however deep the page.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/s3console_bench python bench/bench_audit.py [--fresh]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import FLOOR_PATH, Browser, built_again, check, interleaved_medians, setup_django, superuser  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test"
BENCH_DB = "s3console_bench"
GOAL = 1.6  # × the floor page (bench/floor_urls.py), measured in turns with each case

ACTIONS = [
    ("object.put", 30),
    ("object.delete", 15),
    ("object.metadata.put", 10),
    ("object.tags.put", 8),
    ("object.copy", 7),
    ("bucket.policy.put", 3),
    ("bucket.cors.put", 2),
    ("bucket.lifecycle.put", 2),
    ("bucket.versioning.put", 2),
    ("bucket.create", 1),
    ("bucket.delete", 1),
    ("endpoint.edit", 1),
    ("user.create", 1),
]


def bench_database_url() -> str:
    """BENCH_DATABASE_URL as given, else a database named s3console_bench beside DATABASE_URL's."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    return urlunsplit(parts._replace(path="/" + BENCH_DB))


def ensure_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres", scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(total: int, endpoints: list, users: list) -> None:
    """COPY `total` chained events, one year of history, oldest first."""
    from django.db import connection

    from console import audit_chain
    from console.models import AuditCheckpoint, AuditEvent

    rng = random.Random(42)
    names, weights = zip(*ACTIONS, strict=True)
    buckets = [f"bucket-{i:03d}" for i in range(200)]
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / total
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE console_auditevent, console_auditcheckpoint RESTART IDENTITY")
    assert not AuditCheckpoint.objects.exists()
    began, prev = time.perf_counter(), audit_chain.GENESIS_HASH
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY console_auditevent ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for seq in range(1, total + 1):
            action = rng.choices(names, weights)[0]
            user = users[rng.randrange(len(users))]
            endpoint = endpoints[rng.randrange(len(endpoints))]
            object_level = action.startswith("object.")
            roll = rng.random()
            ev = SimpleNamespace(
                seq=seq,
                created_at=start + step * seq,
                actor_id=user.pk,
                actor_name=user.username,
                role="operator",
                client_ip=f"10.0.{seq % 7}.{seq % 250 + 1}",
                endpoint_id=None if action.startswith("user.") else endpoint.pk,
                endpoint_name="" if action.startswith("user.") else endpoint.name,
                bucket=rng.choice(buckets) if not action.startswith(("user.", "endpoint.")) else "",
                key=f"data/{rng.randrange(500):03d}/file-{rng.randrange(10_000)}.bin" if object_level else "",
                version_id="",
                action=action,
                params={"size": rng.randrange(10**6)} if object_level else {"source": "bench"},
                before={"Rules": [{"ID": "old"}]} if action.endswith(".put") and not object_level else None,
                after={"Rules": [{"ID": "new"}]} if action.endswith(".put") and not object_level else None,
                outcome="ok" if roll < 0.9 else "failed" if roll < 0.97 else "denied",
                error_code="" if roll < 0.9 else "AccessDenied",
                error_message="",
                request_id=f"{seq:016X}",
                prev_hash=prev,
            )
            ev.hash = prev = audit_chain.compute_hash(ev)
            row = {**vars(ev)}
            for name in ("params", "before", "after"):
                row[name] = None if row[name] is None else audit_chain.canonical(row[name])
            copy.write_row([row[c] for c in columns])
            if seq % 200_000 == 0:
                print(f"  {seq:,} events written ({time.perf_counter() - began:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        # As autovacuum leaves a table in production: statistics and the visibility map (index-only scans).
        cursor.execute("VACUUM ANALYZE console_auditevent")
    print(f"  filled {total:,} events in {time.perf_counter() - began:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true", help="rebuild the events even if present")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    setup_django(url)
    from django.contrib.auth import get_user_model

    from console.audit_forms import encode_cursor
    from console.models import AuditEvent, Endpoint, Role, RoleAssignment

    endpoints = [
        Endpoint.objects.get_or_create(name=f"bench-{i}", defaults={"url": "http://127.0.0.1:9"})[0] for i in range(3)
    ]
    User = get_user_model()
    users = [User.objects.get_or_create(username=f"user{i:02d}")[0] for i in range(50)]
    # Other benches' sign-ins and this bench's "built again" add a few events: the fill is kept within 1% of the count.
    if args.fresh or not args.events <= AuditEvent.objects.count() <= args.events * 1.01:
        print(f"Filling {args.events:,} events (COPY)…", flush=True)
        fill(args.events, endpoints, users)
    else:
        print(f"Reusing {args.events:,} events in {BENCH_DB}.", flush=True)

    admin = Browser(superuser())
    scoped_user = users[3]
    RoleAssignment.objects.get_or_create(user=scoped_user, role=Role.VIEWER, endpoint=endpoints[0], bucket="bucket-007")
    scoped = Browser(scoped_user)
    middle = AuditEvent.objects.get(seq=args.events // 2)
    week_end = middle.created_at.date()
    cases = [
        ("newest page, no filter", admin, {}),
        ("deep keyset page (middle of the trail)", admin, {"cursor": encode_cursor(middle)}),
        ("actor", admin, {"actor": "user07"}),
        ("action prefix 'object.'", admin, {"action": "object."}),
        ("action prefix 'bucket.policy'", admin, {"action": "bucket.policy"}),
        ("outcome denied", admin, {"outcome": "denied"}),
        ("endpoint + bucket", admin, {"endpoint": endpoints[1].pk, "bucket": "bucket-042"}),
        ("bucket + key prefix", admin, {"bucket": "bucket-042", "key": "data/017/"}),
        ("date range (one week)", admin, {"date_from": week_end - timedelta(days=7), "date_to": week_end}),
        ("actor + outcome + date", admin, {"actor": "user07", "outcome": "failed", "date_to": week_end}),
        ("bucket-scoped viewer, no filter", scoped, {}),
        ("bucket-scoped viewer, deep page", scoped, {"cursor": encode_cursor(middle)}),
    ]
    met = True
    for name, browser, query in cases:
        path = "/audit/?" + urlencode(query)
        assert browser.get(path).count(b"<tr>") > 1, name  # events on the page, not just the empty row
        times = interleaved_medians(
            {"floor": lambda b=browser: b.get(FLOOR_PATH), "page": lambda b=browser, p=path: b.get(p)},
            repeat=args.repeat,
        )
        met &= check(f"audit page, {name}, vs the floor page", times["page"], times["floor"], at_most=GOAL)
    # The page is kept until an event is added (console/fragments.py): the cost of building it again.
    times = interleaved_medians(
        {"floor": lambda: admin.get(FLOOR_PATH), "page": built_again(lambda: admin.get("/audit/?"))}, repeat=args.repeat
    )
    met &= check(
        "audit page, built again (an event added), vs the floor page", times["page"], times["floor"], at_most=GOAL
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
