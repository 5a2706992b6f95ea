"""The object list page: the first page of a 100,000-key folder.

Measures, in one run on a SeaweedFS started here (median of repeated requests), for the default
page of 100 rows and for the largest page of 1,000 rows:
- the console's object list view (Django test client, logged in as an admin) on a folder of
  100,000 keys, against the raw ListObjectsV2 call the view makes (goal ≤ 1.3×);
- the same view on the 100,000-key folder against a 100-key folder (goal ≤ 1.2×; with 1,000-row
  pages the big folder's page holds ten times the rows, so only the 100-row page can meet it);
- and, to tell "folder size" from "rows on the page" apart, against a 1,000-key folder
  (same 1,000 rows on the page, a hundred times fewer keys behind it).

The 100,000 keys take a few minutes to create: they are kept in bench/results/listing-weed/
and reused by the next run (delete that directory to start over).
"""

from __future__ import annotations

import contextlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, admin_client, median_time, report, seaweed, setup_django  # noqa: E402

BUCKET = "bench-listing"
FOLDERS = {"big/": 100_000, "mid/": 1_000, "small/": 100}
DONE_MARKER = "bench-data-complete"
REPEAT = 15


def ensure_data(client) -> None:
    """Create the folders once (tiny bodies, a thread pool); a marker object says they are complete."""
    try:
        client.head_object(Bucket=BUCKET, Key=DONE_MARKER)
        print("Reusing the keys in", RESULTS / "listing-weed", flush=True)
        return
    except client.exceptions.ClientError:
        pass
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    keys = [f"{folder}obj-{i:06d}.txt" for folder, count in FOLDERS.items() for i in range(count)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=48) as pool:
        for n, _ in enumerate(pool.map(lambda k: client.put_object(Bucket=BUCKET, Key=k, Body=b"x"), keys), 1):
            if n % 10_000 == 0:
                print(f"  {n:,} of {len(keys):,} keys created ({time.monotonic() - started:.0f} s)", flush=True)
    client.put_object(Bucket=BUCKET, Key=DONE_MARKER, Body=b"")
    print(f"Created {len(keys):,} keys in {time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    setup_django()
    from django.urls import reverse

    with seaweed(data_dir=RESULTS / "listing-weed") as server:
        raw = server.boto3_client()
        ensure_data(raw)
        endpoint = server.endpoint()
        console = admin_client()
        base = reverse("object_list", args=[endpoint.pk, BUCKET])

        def view(prefix: str, size: int):
            def get():
                response = console.get(f"{base}?{urlencode({'prefix': prefix, 'size': size})}")
                assert response.status_code == 200, response.status_code
                assert b"obj-000000.txt" in response.content

            return get

        def list_raw(prefix: str, size: int):
            def call():
                page = raw.list_objects_v2(Bucket=BUCKET, Prefix=prefix, Delimiter="/", MaxKeys=size)
                assert page["KeyCount"] == min(FOLDERS[prefix], size)

            return call

        for size in (100, 1000):
            rows = f"{size:,}-row page"
            big_view = median_time(view("big/", size), repeat=REPEAT)
            big_raw = median_time(list_raw("big/", size), repeat=REPEAT)
            small_view = median_time(view("small/", size), repeat=REPEAT)
            report(f"{rows} of a 100,000-key folder: view vs raw ListObjectsV2", big_view, big_raw, goal="≤ 1.3x")
            report(f"{rows}: 100,000-key folder vs 100-key folder", big_view, small_view, goal="≤ 1.2x")
            small_raw = median_time(list_raw("small/", size), repeat=REPEAT)
            report(f"  the server alone, {rows}: 100,000-key folder vs 100-key folder", big_raw, small_raw)
        mid_view = median_time(view("mid/", 1000), repeat=REPEAT)
        report("1,000-row page: 100,000-key folder vs 1,000-key folder (same rows)", big_view, mid_view)


if __name__ == "__main__":
    main()
