"""CPU instructions a request, counted by valgrind (callgrind): the page goals of issue 12 without the clock.

Wall-clock times on a shared VM swing by half between runs; instruction counts repeat. Each page is
requested through the production WSGI handler (DEBUG=0, the cached template loader, PostgreSQL: the
bench database of bench_audit.py / bench_bucket_list.py) in a child process under callgrind, once with
5 requests and once with 25 after the same start; the difference over 20 is one request's count.
Goals: each page ≤ 1.6× the floor page's count (as the time goals), as loaded again (its output kept,
console/fragments.py) and as built again (``PAGE_KEEP_SECONDS=0``: after a change of what it shows), and
the bucket list built with the console's timestamptz reader (console/postgres.py) ≤ 1× the count with
Django's own.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/s3console_bench .venv/bin/python bench/bench_instructions.py

Needs valgrind (Debian's `valgrind`); about ten minutes on two cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import FLOOR_PATH, check  # noqa: E402

GOAL = 1.6
PAGES = {"bucket list, 100 rows of 1,000 records": "/buckets/", "dashboard": "/", "audit page, newest page": "/audit/"}
FEW, MANY = 5, 25


def child(path: str, requests: int) -> None:
    """In the child under callgrind: start Django, then request ``path`` ``requests`` times."""
    from bench.common import Browser, setup_django, superuser

    setup_django(os.environ["BENCH_DATABASE_URL"])
    if os.environ.get("BENCH_DJANGO_TIMESTAMPS"):  # Django's own timestamptz reader, for the comparison
        from django.db import connection
        from django.db.backends.signals import connection_created

        connection_created.disconnect(dispatch_uid="console-fast-timestamps")
        connection.close()
    browser = Browser(superuser())
    for _ in range(3 + requests):
        browser.get(path)


def counted(path: str, requests: int, env: dict[str, str]) -> int:
    """Instructions of one child process (callgrind's "Collected" total)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    result = subprocess.run(
        [*command, "--child", path, str(requests)], env=env, capture_output=True, text=True, check=True
    )
    return int(next(line for line in result.stderr.splitlines() if "Collected" in line).split()[-1])


def per_request(pool: ThreadPoolExecutor, path: str, env: dict[str, str]):
    few, many = pool.submit(counted, path, FEW, env), pool.submit(counted, path, MANY, env)
    return lambda: (many.result() - few.result()) / (MANY - FEW) / 1e6  # millions


def main() -> None:
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind).")
    from bench.bench_audit import bench_database_url
    from bench.bench_bucket_list import bench_with_buckets

    bench_with_buckets(1000)  # the records the pages list (and the database, created if missing)
    env = {**os.environ, "BENCH_DATABASE_URL": bench_database_url()}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        floor = per_request(pool, FLOOR_PATH, env)
        pages = {name: per_request(pool, path, env) for name, path in PAGES.items()}
        built = {name: per_request(pool, path, {**env, "PAGE_KEEP_SECONDS": "0"}) for name, path in PAGES.items()}
        django_reader = per_request(
            pool, "/buckets/", {**env, "BENCH_DJANGO_TIMESTAMPS": "1", "PAGE_KEEP_SECONDS": "0"}
        )
        for name, page in pages.items():
            check(f"{name} vs the floor page, CPU instructions", page(), floor(), at_most=GOAL, unit="M instr")
        for name, page in built.items():
            check(f"{name}, built again, vs the floor page, CPU instructions", page(), floor(), at_most=GOAL,
                  unit="M instr")  # fmt: skip
        check(
            "bucket list built with console/postgres.py's timestamptz reader vs Django's own, CPU instructions",
            built["bucket list, 100 rows of 1,000 records"](), django_reader(), at_most=1.0, unit="M instr",
        )  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
