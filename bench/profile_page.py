"""Profile one page with pyinstrument, through the production WSGI handler, logged in as a superuser.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/s3console_bench \
        .venv/bin/python bench/profile_page.py /buckets/ [--repeat 50] [--html profile.html]

Runs on the database named by BENCH_DATABASE_URL (the audit bench's 1,000,000 events, say) or a
fresh SQLite one, with DEBUG=0 and the cached template loader (the production settings). The page is
requested a few times first (caches, connection), then --repeat times under the profiler; the text
report goes to stdout, --html writes pyinstrument's interactive page.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Browser, setup_django, superuser  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", help="the page's path and query, e.g. /audit/?outcome=denied")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    parser.add_argument("--htmx", action="store_true", help="ask as htmx does (a fragment such as a card's)")
    args = parser.parse_args()
    setup_django(os.environ.get("BENCH_DATABASE_URL"))
    from pyinstrument import Profiler

    browser = Browser(superuser())
    headers = {"HTTP_HX_REQUEST": "true"} if args.htmx else None
    for _ in range(3):
        browser.get(args.path, headers=headers)
    profiler = Profiler(interval=0.001)
    with profiler:
        for _ in range(args.repeat):
            browser.get(args.path, headers=headers)
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
