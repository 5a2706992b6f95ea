"""The bucket page with every card filled, as Chromium loads it from gunicorn (gunicorn.conf.py).

Baseline: the S3 reads the page's cards make (versioning, region, policy, ACL, public access block,
encryption, tags, CORS, lifecycle, ownership, object lock, website; less those the server answers
"not implemented", which the page remembers and asks no more), made back to back in this process with
boto3 and botocore's defaults against the same SeaweedFS. Goal: ≤ 2.5×.

Each page is timed by Chromium's own clock, from the start of its navigation to its load event or the
last card filled, whichever comes later (a script in the page notes that moment): Playwright's own round
trips are paid by no line. The same measure runs again against an S3 ``FAR_MS`` away (a loopback proxy
that waits that long before it forwards each request, as a same-region AWS endpoint answers), where the
page's reads made at the same time count; on the local SeaweedFS each read is mostly botocore's own CPU,
which threads sharing one interpreter cannot overlap.

    .venv/bin/python bench/bench_bucket_page.py        # BENCH_DATABASE_URL=postgres://… for PostgreSQL
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    FLOOR_PATH,
    check,
    gunicorn_console,
    median_time,
    seaweed,
    setup_django,
)
from buckets.s3.errors import NOT_SUPPORTED_CODES  # noqa: E402
from tests.job_processes import Proxy  # noqa: E402

GOAL = 2.5
FAR_MS = 20  # the far S3: each request waits this long at the proxy
PASSWORD = "bench-password-123456"
READS = [
    "get_bucket_versioning", "get_bucket_location", "get_bucket_policy", "get_bucket_acl",
    "get_public_access_block", "get_bucket_encryption", "get_bucket_tagging", "get_bucket_cors",
    "get_bucket_lifecycle_configuration", "get_bucket_ownership_controls", "get_object_lock_configuration",
    "get_bucket_website",
]  # fmt: skip


def raw_reads(client, bucket: str, reads: list[str]) -> None:
    for operation in reads:
        with contextlib.suppress(client.exceptions.ClientError):  # "there is none" is an answer too
            getattr(client, operation)(Bucket=bucket)


def implemented(client, bucket: str) -> list[str]:
    """READS less those the server answers "not implemented" (SeaweedFS: the public access block): the
    page remembers such an answer and asks no more."""
    reads = []
    for operation in READS:
        try:
            getattr(client, operation)(Bucket=bucket)
        except client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in NOT_SUPPORTED_CODES:  # what the page remembers so
                continue
        reads.append(operation)
    return reads


# Chromium's own time for a page: its load event or the moment no card is loading any more, whichever is
# later, from the start of the navigation. The observer notes the moment as the last card is swapped in.
FILLED_AT = """
addEventListener("DOMContentLoaded", () => {
  const note = () => {
    if (window.__filledAt === undefined && !document.querySelector("section.setting.loading")) {
      window.__filledAt = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(note);
  observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true});
  note();
});
"""
LOADED = "() => window.__filledAt !== undefined && performance.getEntriesByType('navigation')[0].loadEventEnd > 0"
SHOWN_AT = "() => Math.max(window.__filledAt, performance.getEntriesByType('navigation')[0].loadEventEnd)"


def chromium_time(page, address: str, repeat: int = 11, warmup: int = 2) -> float:
    """Median seconds Chromium takes to show ``address`` whole (FILLED_AT)."""
    samples = []
    for i in range(warmup + repeat):
        page.goto(address)
        page.wait_for_function(LOADED)
        if i >= warmup:
            samples.append(page.evaluate(SHOWN_AT) / 1000)
    return statistics.median(samples)


def main() -> None:
    setup_django(os.environ.get("BENCH_DATABASE_URL"))
    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from playwright.sync_api import sync_playwright

    from tests.bucket_helpers import record

    with seaweed() as server, Proxy(server.url) as proxy:
        endpoint = server.endpoint()
        far = server.endpoint("bench-far")
        far.url = proxy.url
        far.save()
        raw = server.boto3_client()
        bucket = "bench-page"
        raw.create_bucket(Bucket=bucket)
        raw.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "bench"}]})
        record(endpoint, bucket)
        record(far, bucket)
        user = get_user_model().objects.filter(username="bench-page").first()  # kept in a BENCH_DATABASE_URL
        user = user or get_user_model().objects.create_superuser("bench-page", "", PASSWORD)
        user.set_password(PASSWORD)
        user.save()
        reads = implemented(raw, bucket)
        missing = ", ".join(op for op in READS if op not in reads)
        missing = f" ({missing}: not implemented)" if missing else ""
        print(f"the page's S3 reads on this server: {len(reads)} of {len(READS)}{missing}")
        baseline = median_time(lambda: raw_reads(raw, bucket, reads), repeat=15)
        proxy.rules.delay = lambda op, path: FAR_MS / 1000
        raw_far = server.boto3_client(proxy.url)
        baseline_far = median_time(lambda: raw_reads(raw_far, bucket, reads), repeat=7)

        with gunicorn_console() as origin, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.add_init_script(FILLED_AT)
            page.goto(f"{origin}/login/")
            page.fill("input[name=username]", "bench-page")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            address = origin + reverse("bucket_detail", args=[endpoint.pk, bucket])
            page.goto(address)
            assert page.locator("section.setting").count() >= len(READS) - 1  # every card is on the page

            measured = chromium_time(page, address)
            measured_far = chromium_time(page, origin + reverse("bucket_detail", args=[far.pk, bucket]))
            # Chromium loading the floor page (the base layout, no card) from the same gunicorn.
            floor = chromium_time(page, origin + FLOOR_PATH)
            browser.close()
        # Whether the goal can be met at all: the floor page alone must fit in the bucket page's allowance.
        check("Chromium loading the floor page (no card) vs the bucket page goal's allowance (2.5x its reads)",
              floor, baseline * GOAL, at_most=1.0)  # fmt: skip
        check("bucket page, every card filled (Chromium, gunicorn) vs its S3 reads back to back", measured,
              baseline, at_most=GOAL)  # fmt: skip
        check(f"the same with S3 {FAR_MS} ms away (a proxy) vs those reads back to back", measured_far,
              baseline_far, at_most=GOAL)  # fmt: skip


if __name__ == "__main__":
    main()
