"""The bucket list page with 1 and with 1,000 bucket records.

Baseline: the same page with 1 record, measured in the same run. The page reads only the
database (no S3 call per bucket), so the ratio shows how it scales with the number of rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import admin_client, median_time, report, setup_django  # noqa: E402


def main() -> None:
    setup_django()
    from django.utils import timezone

    from buckets.models import Bucket
    from console.models import Endpoint

    endpoint = Endpoint.objects.create(name="bench-list", url="http://127.0.0.1:9")
    client = admin_client()
    now = timezone.now()
    Bucket.objects.create(endpoint=endpoint, name="bucket-0", created=now, last_synced=now)

    def page():
        response = client.get("/buckets/")
        assert response.status_code == 200, response.status_code

    one = median_time(page)
    Bucket.objects.bulk_create(
        [Bucket(endpoint=endpoint, name=f"bucket-{i}", created=now, last_synced=now) for i in range(1, 1000)]
    )
    thousand = median_time(page, repeat=9)
    report(
        "bucket list page, 1,000 records vs 1 record", thousand, one, goal="bounded: a page shows 100 rows, no S3 calls"
    )


if __name__ == "__main__":
    main()
