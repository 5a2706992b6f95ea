"""The bucket index at scale (catalog/), each measure against a baseline taken in the same run.

1. Crawl throughput: the console's crawl of a SeaweedFS bucket (ListObjectsV2 pages written to the index,
   unthrottled) against raw ListObjectsV2 paging of the same bucket with boto3 — goal: the crawl takes at
   most 1.25× the raw paging's time (≥ 0.8× its throughput). The key count is printed: a 1,000,000-key
   bucket takes hours to create on SeaweedFS here, so INDEX_BENCH_KEYS (default 50,000) are used; they are
   kept in bench/results/index-weed/ and reused.
2. Crawl memory: peak RSS of `manage.py index_bucket` crawling that bucket — goal < 200 MB.
3. Search over 1,000,000 indexed rows (inserted straight into the index table with COPY) on PostgreSQL:
   median of a selective term ≤ 50 ms, of a common term ≤ 150 ms (first page and its bounded count).
   SQLite's FTS5 trigram figures for the same query shapes are printed (INDEX_BENCH_SQLITE_ROWS rows).
4. The analytics page of that 1,000,000-row bucket through Django — goal ≤ 200 ms (precomputed sums).
5. 1,000 console changes followed by the index: queries per change (goal ≤ 8), and no S3 call, no crawl.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/indexbench .venv/bin/python bench/run.py index
(the PostgreSQL database is created when missing; without DATABASE_URL that one is used.)
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, admin_client, check, median_time, seaweed, setup_django, verdict  # noqa: E402

KEYS = int(os.environ.get("INDEX_BENCH_KEYS", "50000"))
ROWS = 1_000_000
SQLITE_ROWS = int(os.environ.get("INDEX_BENCH_SQLITE_ROWS", "1000000"))
BUCKET = "bench-index"
SEARCH_BUCKET = "bench-search-1m"
DONE_MARKER = "zz-bench-data-complete"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/indexbench"
TEAMS = [f"team-{t:02d}" for t in range(20)]
EXTS = ["json", "log", "parquet", "csv"]


def ensure_keys(client) -> None:
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    try:
        client.head_object(Bucket=BUCKET, Key=f"{DONE_MARKER}-{KEYS}")
        print(f"Reusing the {KEYS:,} keys in {RESULTS / 'index-weed'}", flush=True)
        return
    except client.exceptions.ClientError:
        pass

    def put(i: int) -> None:
        key = f"{TEAMS[i % 20]}/2026/{i % 12 + 1:02d}/obj-{i:07d}.{EXTS[i % 4]}"
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 10)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=48) as pool:
        for n in range(0, KEYS, 10_000):  # in chunks: a million futures at once would not fit in memory
            list(pool.map(put, range(n, min(n + 10_000, KEYS))))
            print(f"  {min(n + 10_000, KEYS):,} of {KEYS:,} keys created ({time.monotonic() - started:.0f} s)",
                  flush=True)  # fmt: skip
    client.put_object(Bucket=BUCKET, Key=f"{DONE_MARKER}-{KEYS}", Body=b"")


def raw_paging(client) -> tuple[float, int]:
    started, count, token = time.perf_counter(), 0, None
    while True:
        params = {"Bucket": BUCKET, "MaxKeys": 1000, **({"ContinuationToken": token} if token else {})}
        page = client.list_objects_v2(**params)
        count += page.get("KeyCount", 0)
        if not page.get("IsTruncated"):
            return time.perf_counter() - started, count
        token = page["NextContinuationToken"]


def crawl_time(endpoint) -> tuple[float, int]:
    from django.conf import settings

    from buckets import jobs
    from catalog.models import IndexedBucket
    from catalog.services import crawl
    from console import audit

    settings.INDEX_REQUESTS_PER_SECOND = 0
    indexed, _ = IndexedBucket.objects.get_or_create(endpoint=endpoint, bucket=BUCKET)
    actor = audit.Actor(user_id=None, username="bench")
    job = crawl.index_crawl_start(actor=actor, indexed=indexed, foreground=True)
    started = time.perf_counter()
    jobs.run(str(job.pk), crawl.run_crawl)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "done", job.message
    indexed.refresh_from_db()
    return elapsed, indexed.object_count


# The child reads its own peak RSS (VmHWM) as it ends: rusage's ru_maxrss of a child starts from the parent's
# peak at fork on Linux, so it would count this process's memory (50,000 keys, the crawl run here) too.
_PEAK_OF_CHILD = """
import runpy, sys
sys.argv = ["manage.py", *sys.argv[1:]]
try:
    runpy.run_path("manage.py", run_name="__main__")
finally:
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nPEAK {int(peak.split()[1])}\\n")
"""


def crawl_rss(endpoint) -> float:
    """Peak RSS (MB) of a `manage.py index_bucket` process crawling the bucket again."""
    env = {**os.environ, "INDEX_REQUESTS_PER_SECOND": "0"}
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, "index_bucket", "--endpoint", endpoint.name, "--bucket", BUCKET],
        env=env, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    if done.returncode or not peak:
        raise SystemExit(f"index_bucket failed: {done.stderr[-2000:]}")
    return int(peak[-1].split()[1]) / 1024


def synthetic_key(i: int, rng: random.Random) -> str:
    team, ext = TEAMS[rng.randrange(20)], EXTS[rng.randrange(4)]
    day = f"2026/{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}"
    name = f"needle-{i}" if i % 20_000 == 0 else f"part-{i:07d}"
    return f"{team}/{day}/host-{rng.randrange(64):02d}/{name}.{ext}"


def fill_search_bucket(endpoint):
    """1,000,000 rows COPYed into the index table (PostgreSQL), then the sums rebuilt as a crawl would."""
    from django.db import connection

    from catalog.models import Entry, IndexedBucket
    from catalog.services import stats

    indexed, created = IndexedBucket.objects.get_or_create(endpoint=endpoint, bucket=SEARCH_BUCKET)
    if not created and Entry.objects.filter(indexed=indexed).count() == ROWS and indexed.indexed_at:
        print(f"Reusing the {ROWS:,} index rows of {SEARCH_BUCKET}", flush=True)
        return indexed
    Entry.objects.filter(indexed=indexed).delete()
    rng, base = random.Random(13), datetime(2024, 1, 1, tzinfo=UTC)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS catalog_entry_key_trgm")
        columns = "indexed_id, key, size, last_modified, storage_class, etag, seen, tags, metadata"
        with cursor.cursor.copy(f"COPY catalog_entry ({columns}) FROM STDIN") as copy:
            for i in range(ROWS):
                modified = base + timedelta(minutes=rng.randrange(1_000_000))
                storage = "GLACIER" if i % 10 == 0 else "STANDARD"
                copy.write_row((indexed.pk, synthetic_key(i, rng), rng.randrange(1, 10**7), modified, storage,
                                f"{i:032x}", 1, "", ""))  # fmt: skip
        print(f"  COPY of {ROWS:,} rows: {time.monotonic() - started:.0f} s", flush=True)
        cursor.execute("CREATE INDEX catalog_entry_key_trgm ON catalog_entry USING gin (key gin_trgm_ops)")
        cursor.execute("ANALYZE catalog_entry")
    print(f"  with the trigram index: {time.monotonic() - started:.0f} s", flush=True)
    IndexedBucket.objects.filter(pk=indexed.pk).update(generation=1, state="fresh")
    indexed.refresh_from_db()
    stats.rebuild(indexed)
    IndexedBucket.objects.filter(pk=indexed.pk).update(indexed_at=datetime.now(UTC))
    print(f"  with the sums per prefix: {time.monotonic() - started:.0f} s", flush=True)
    indexed.refresh_from_db()
    return indexed


def median_ms(fn, repeat: int = 21) -> float:
    """Median seconds of ``fn`` after one warm-up call (``common.median_time``)."""
    return median_time(fn, repeat=repeat, warmup=1)


def search_medians(indexed) -> dict[str, float]:
    from catalog.services import search

    def run(term: str):
        filters = search.Filters(term=term)
        return lambda: (
            search.search_page(indexed=indexed, allowed=None, filters=filters),
            search.count_matches(indexed=indexed, allowed=None, filters=filters),
        )

    found = {t: len(search.search_page(indexed=indexed, allowed=None, filters=search.Filters(term=t))[0])
             for t in ("needle-", "part-0")}  # fmt: skip
    print(f"  page sizes: selective 'needle-' {found['needle-']}, common 'part-0' {found['part-0']}", flush=True)
    scoped = search.Filters(term="part-0")
    return {
        "selective": median_ms(run("needle-")),
        "common": median_ms(run("part-0")),
        "scoped": median_ms(lambda: search.search_page(indexed=indexed, allowed=["team-03/"], filters=scoped)),
    }


def sqlite_figures() -> None:
    """The same query shapes on SQLite with FTS5's trigram tokenizer (raw SQL, a file database)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "fts.sqlite3")
        db.executescript(
            "CREATE TABLE e (id INTEGER PRIMARY KEY, b INTEGER, key TEXT, UNIQUE (b, key));"
            "CREATE VIRTUAL TABLE f USING fts5(key, content='e', content_rowid='id', tokenize='trigram');"
        )
        rng = random.Random(13)
        started = time.monotonic()
        db.executemany("INSERT INTO e (b, key) VALUES (1, ?)", ((synthetic_key(i, rng),) for i in range(SQLITE_ROWS)))
        db.execute("INSERT INTO f(f) VALUES ('rebuild')")
        db.commit()
        print(f"SQLite: {SQLITE_ROWS:,} rows and their FTS5 trigram index in {time.monotonic() - started:.0f} s")

        # As catalog/services/search.py does it: up to 1,000 FTS5 matches read by id ("+b": not along the
        # key index), more found by LIKE along the key index; the page of 51 and the count bounded at 1,001.
        def console(term: str) -> None:
            ids = [r[0] for r in db.execute("SELECT rowid FROM f WHERE f MATCH ? LIMIT 1001", (f'"{term}"',))]
            if len(ids) <= 1000:
                where, params = f"+b = 1 AND id IN ({','.join('?' * len(ids))})", ids
            else:
                where, params = "b = 1 AND key LIKE ?", [f"%{term}%"]
            db.execute(f"SELECT id, key FROM e WHERE {where} ORDER BY key LIMIT 51", params).fetchall()  # noqa: S608
            db.execute(f"SELECT count(*) FROM (SELECT id FROM e WHERE {where} LIMIT 1001)", params).fetchall()  # noqa: S608

        fts_only = "SELECT id, key FROM e WHERE b = 1 AND id IN (SELECT rowid FROM f WHERE f MATCH ?)"
        for name, term in (("selective", "needle-"), ("common", "part-0")):
            ms = median_ms(lambda t=term: console(t), 7)
            print(f"SQLite search median ({name} term, {SQLITE_ROWS:,} rows): {ms * 1000:.2f} ms  (figure, no goal)")
            ms = median_ms(lambda t=term: db.execute(f"{fts_only} ORDER BY key LIMIT 51", (f'"{t}"',)).fetchall(), 5)
            print(f"  for comparison, the FTS5 subquery alone (the first page): {ms * 1000:.1f} ms  (figure)")
        db.close()


def followed_changes(endpoint) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from buckets import s3
    from buckets.models import Job
    from catalog.models import IndexedBucket
    from catalog.services import follow

    indexed = IndexedBucket.objects.get(endpoint=endpoint, bucket=BUCKET)
    calls, crawls = sum(s3.CALL_COUNTS.values()), Job.objects.filter(kind="index.crawl").count()
    with CaptureQueriesContext(connection) as queries:
        for i in range(1000):
            follow.object_stored(endpoint=endpoint, bucket=BUCKET, key=f"changes/{i % 10}/k-{i}", size=i)
    s3_calls = sum(s3.CALL_COUNTS.values()) - calls
    new_crawls = Job.objects.filter(kind="index.crawl").count() - crawls
    check("queries per followed change (1,000 changes)", len(queries) / 1000, 8.0, at_most=1.0, unit="queries")
    met = s3_calls == 0 and new_crawls == 0
    print(f"1,000 console changes: {s3_calls} S3 calls, {new_crawls} crawls  {verdict(met)}")
    indexed.refresh_from_db()


def ensure_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        name = parts.path.strip("/")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    ensure_database(url)
    setup_django(url)
    os.environ["DATABASE_URL"] = url
    from django.urls import reverse

    with seaweed(data_dir=RESULTS / "index-weed") as server:
        endpoint = server.endpoint()
        raw = server.boto3_client()
        ensure_keys(raw)
        raw_s, listed = min(raw_paging(raw) for _ in range(3))
        crawl_s, indexed_count = crawl_time(endpoint)
        print(f"Crawl of {indexed_count:,} keys (raw paging listed {listed:,}): {listed / raw_s:,.0f} keys/s raw, "
              f"{indexed_count / crawl_s:,.0f} keys/s crawled", flush=True)  # fmt: skip
        check(f"crawl of {indexed_count:,} keys vs raw ListObjectsV2 paging", crawl_s, raw_s, at_most=1.25)
        rss = crawl_rss(endpoint)
        check(f"crawl peak RSS ({indexed_count:,} keys) vs the 200 MB goal", rss, 200.0, at_most=1.0, unit="MB")
        followed_changes(endpoint)

        indexed = fill_search_bucket(endpoint)
        medians = search_medians(indexed)
        check(f"search median, selective term ({ROWS:,} rows, PostgreSQL)", medians["selective"], 0.050, at_most=1.0)
        check(f"search median, common term ({ROWS:,} rows, PostgreSQL)", medians["common"], 0.150, at_most=1.0)
        print(f"search median, common term in a prefix scope: {medians['scoped'] * 1000:.1f} ms  (figure)")
        client = admin_client()
        page = reverse("catalog_analytics", args=[endpoint.pk, SEARCH_BUCKET])
        assert client.get(page).status_code == 200
        check(f"analytics page ({ROWS:,} rows)", median_ms(lambda: client.get(page)), 0.200, at_most=1.0)
        drill = page + "?prefix=team-03/2026/"
        check(f"analytics page of a folder ({ROWS:,} rows)", median_ms(lambda: client.get(drill)), 0.200, at_most=1.0)
    sqlite_figures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
