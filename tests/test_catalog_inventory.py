"""S3 Inventory: a report in AWS's documented layout written into SeaweedFS (manifest.json naming gzipped
CSV files, Parquet or ORC), loaded into the index; the newest report wins. Setting up the inventory
configuration is AWS-only: moto.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import urllib.parse

import pytest
from django.urls import reverse

from buckets import s3
from buckets.models import Job
from catalog.models import Entry, IndexedBucket, PrefixStat
from catalog.services import inventory
from console import audit
from console.models import AuditEvent

pytest_plugins = ["tests.bucket_settings_fixtures"]

pytestmark = pytest.mark.django_db
ACTOR = audit.Actor(user_id=None, username="tester", role="admin")
ROWS = [
    ("logs/2026/a b.log", 120, "2026-11-20T10:00:00.000Z", "STANDARD"),
    ("logs/2026/ünï+cødé.log", 80, "2026-11-21T10:00:00.000Z", "STANDARD"),
    ("media/clip.mp4", 9000, "2026-10-01T08:30:00.000Z", "GLACIER"),
    ("readme.md", 5, "2026-09-01T00:00:00.000Z", "STANDARD"),
]


@pytest.fixture(autouse=True)
def unthrottled(settings):
    settings.INDEX_REQUESTS_PER_SECOND = 0


def write_report(client, dest: str, source: str, when: str, rows, fmt: str = "CSV") -> str:
    """A report as AWS writes it: data files under <prefix>/<source>/<config>/data/, the manifest in a dated folder."""
    base = f"inventory/{source}/console-index"
    if fmt == "CSV":
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL)
        for key, size, modified, storage_class in rows:
            writer.writerow([source, urllib.parse.quote(key, safe="/"), size, modified, f"etag{size}", storage_class])
        body, name = gzip.compress(text.getvalue().encode()), f"{base}/data/{when}-1.csv.gz"
        schema = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass"
    else:
        from datetime import datetime

        import pyarrow as pa
        import pyarrow.orc as orc
        import pyarrow.parquet as pq

        table = pa.table({
            "bucket": [source] * len(rows), "key": [r[0] for r in rows], "size": [r[1] for r in rows],
            "last_modified_date": [datetime.fromisoformat(r[2].replace("Z", "+00:00")) for r in rows],
            "e_tag": [f"etag{r[1]}" for r in rows], "storage_class": [r[3] for r in rows],
        })  # fmt: skip
        sink = io.BytesIO()
        if fmt == "Parquet":
            pq.write_table(table, sink, row_group_size=2)
            body, name = sink.getvalue(), f"{base}/data/{when}-1.parquet"
            schema = "message s3.inventory { required binary bucket; required binary key; ... }"
        else:  # ORC, in stripes of two rows so the reader goes batch by batch
            orc.write_table(table, sink, stripe_size=1, batch_size=2)
            body, name = sink.getvalue(), f"{base}/data/{when}-1.orc"
            schema = (
                "struct<bucket:string,key:string,size:bigint,last_modified_date:timestamp,e_tag:string,"
                "storage_class:string>"
            )
    client.put_object(Bucket=dest, Key=name, Body=body)
    manifest = {
        "sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{dest}", "version": "2016-11-30",
        "creationTimestamp": "1764460800000", "fileFormat": fmt, "fileSchema": schema,
        "files": [{"key": name, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()}],  # noqa: S324
    }  # fmt: skip
    client.put_object(Bucket=dest, Key=f"{base}/{when}/manifest.json", Body=json.dumps(manifest).encode())
    client.put_object(Bucket=dest, Key=f"{base}/{when}/manifest.checksum", Body=b"x")
    return base + "/"


@pytest.mark.parametrize("fmt", ["CSV", "Parquet", "ORC"])
def test_the_newest_inventory_report_is_loaded_into_the_index(fmt, endpoint, make_bucket, s3client, admin_client):
    source, dest = make_bucket("invsrc"), make_bucket("invdst")
    prefix = write_report(
        s3client, dest, source, "2026-11-29T01-00Z", [("old/only-in-old.txt", 1, ROWS[0][2], "STANDARD")], fmt
    )
    write_report(s3client, dest, source, "2026-11-30T01-00Z", ROWS, fmt)
    url = reverse("catalog_inventory_load", args=[endpoint.pk, source])
    assert admin_client.post(url, {"report_bucket": dest, "prefix": prefix}).status_code == 302
    indexed = IndexedBucket.objects.get(endpoint=endpoint, bucket=source)
    job = Job.objects.get(kind="index.inventory")
    assert job.status == Job.Status.DONE, job.message
    assert job.params["manifest"] == f"{prefix}2026-11-30T01-00Z/manifest.json"
    entries = {e.key: (e.size, e.storage_class, e.etag) for e in Entry.objects.filter(indexed=indexed)}
    assert entries == {k: (s, sc, f"etag{s}") for k, s, _, sc in ROWS}  # keys decoded, the older report ignored
    assert Entry.objects.get(indexed=indexed, key="readme.md").last_modified.isoformat() == "2026-09-01T00:00:00+00:00"
    indexed.refresh_from_db()
    assert (indexed.source, indexed.state) == ("inventory", "fresh")
    assert (indexed.object_count, indexed.total_bytes) == (4, sum(r[1] for r in ROWS))
    logs = PrefixStat.objects.get(indexed=indexed, generation=indexed.stats_generation, prefix="logs/2026/")
    assert (logs.count, logs.bytes) == (2, 200)
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="index.inventory").order_by("pk")] == [
        "index.inventory.start",
        "index.inventory",
    ]


def test_no_report_is_said_in_words(endpoint, make_bucket, admin_client):
    source, dest = make_bucket("invsrc"), make_bucket("invdst")
    url = reverse("catalog_inventory_load", args=[endpoint.pk, source])
    response = admin_client.post(url, {"report_bucket": dest, "prefix": "inventory/x/y/"}, follow=True)
    assert "No inventory report" in response.content.decode()
    assert not Job.objects.filter(kind="index.inventory").exists()


def test_a_resumed_load_skips_the_rows_it_had_written(endpoint, make_bucket, s3client, monkeypatch):
    source, dest = make_bucket("invsrc"), make_bucket("invdst")
    prefix = write_report(s3client, dest, source, "2026-11-30T01-00Z", ROWS)
    monkeypatch.setattr(inventory, "CHECKPOINT_ROWS", 2)
    indexed = IndexedBucket.objects.create(endpoint=endpoint, bucket=source)
    manifest = inventory.latest_manifest(endpoint=endpoint, bucket=dest, prefix=prefix)
    job = Job.objects.create(
        kind="index.inventory", title="lost", endpoint=endpoint, bucket=source, attempts=1, actor_data=ACTOR.to_json(),
        task_path="catalog.tasks.index_inventory", params={"report_bucket": dest, "manifest": manifest},
        checkpoint={"state": {"generation": 1, "file": 0, "row": 2}, "counters": {"done": 2}},
    )  # fmt: skip
    from buckets import jobs

    IndexedBucket.objects.filter(pk=indexed.pk).update(generation=1)
    jobs.run(str(job.pk), inventory.run_load)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == 4  # 2 from the checkpoint + the 2 rows after it
    assert set(Entry.objects.filter(indexed=indexed).values_list("key", flat=True)) == {"media/clip.mp4", "readme.md"}


def test_the_inventory_configuration_is_set_up_on_aws(moto_endpoint):
    endpoint = moto_endpoint
    client = s3.client_for(endpoint)
    client.create_bucket(Bucket="source-bucket")
    client.create_bucket(Bucket="report-bucket")
    after = inventory.inventory_setup(
        actor=ACTOR, endpoint=endpoint, bucket="source-bucket", destination_bucket="report-bucket", prefix="inventory"
    )
    assert after["Id"] == "console-index" and after["IsEnabled"] is True
    assert after["Destination"]["S3BucketDestination"]["Bucket"] == "arn:aws:s3:::report-bucket"
    stored = client.get_bucket_inventory_configuration(Bucket="source-bucket", Id="console-index")
    assert stored["InventoryConfiguration"]["Schedule"] == {"Frequency": "Daily"}
    assert set(stored["InventoryConfiguration"]["OptionalFields"]) >= {"Size", "LastModifiedDate", "StorageClass"}
    (event,) = AuditEvent.objects.filter(action="bucket.inventory.put")
    assert event.outcome == "ok"
    assert inventory.report_prefix(prefix="inventory", bucket="source-bucket", config_id="console-index") == (
        "inventory/source-bucket/console-index/"
    )


@pytest.mark.parametrize("body", [b"[" * 5000, b"not json", b"[1, 2]"])
def test_a_hostile_manifest_fails_the_load_in_words(body, endpoint, make_bucket, s3client, admin_client):
    """Whoever may write to the report bucket writes the manifest: deep nesting or junk ends the job with a
    sentence, not a RecursionError."""
    source, dest = make_bucket("invsrc"), make_bucket("invdst")
    prefix = write_report(s3client, dest, source, "2026-11-30T01-00Z", ROWS)
    s3client.put_object(Bucket=dest, Key=f"{prefix}2026-11-30T01-00Z/manifest.json", Body=body)
    url = reverse("catalog_inventory_load", args=[endpoint.pk, source])
    assert admin_client.post(url, {"report_bucket": dest, "prefix": prefix}).status_code == 302
    job = Job.objects.get(kind="index.inventory")
    assert job.status == Job.Status.FAILED
    assert any(words in job.message for words in ("nested more than", "not valid JSON", "not a JSON object")), (
        job.message
    )
    assert AuditEvent.objects.get(action="index.inventory").outcome == "failed"
