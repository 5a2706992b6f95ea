"""Past what listing can do: loading the index from the bucket's latest S3 Inventory report, and setting
up that report (AWS). A report is ``<destination prefix>/<source bucket>/<config id>/<YYYY-MM-DDTHH-MMZ>/
manifest.json`` naming its data files (CSV gzipped, ORC or Parquet), read as streams: memory holds one
batch of rows. Loading is a job like a crawl: resumable from its last file and row, throttled per file.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import tempfile
import urllib.parse
from collections.abc import Iterator
from datetime import datetime

from buckets import s3
from buckets.jobs import Outcome, Progress
from buckets.models import Job
from buckets.pace import Throttle
from catalog.models import IndexedBucket
from catalog.services import crawl
from console import audit, safejson
from console.models import Endpoint

BATCH = 1000
CHECKPOINT_ROWS = 10_000
REPORT_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z/$")


MAX_MANIFEST_BYTES = 10 * 1024 * 1024


class InventoryError(Exception):
    """The report is not there or not in a form this console reads (said in words)."""


def latest_manifest(*, endpoint: Endpoint, bucket: str, prefix: str) -> str:
    """The key of the newest manifest.json under ``prefix`` (``…/<source bucket>/<config id>/``)."""
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    folders, token = [], ""
    while True:
        page = s3.list_objects_page(endpoint=endpoint, bucket=bucket, prefix=prefix, delimiter="/", token=token)
        folders += [p for p in page["prefixes"] if REPORT_FOLDER.search(p)]
        token = page["next_token"]
        if not token:
            break
    for folder in sorted(folders, reverse=True):
        if s3.head_object(endpoint=endpoint, bucket=bucket, key=folder + "manifest.json") is not None:
            return folder + "manifest.json"
    raise InventoryError(f"No inventory report (…/YYYY-MM-DDTHH-MMZ/manifest.json) under “{prefix}” in {bucket}.")


def index_inventory_start(*, actor: audit.Actor, indexed: IndexedBucket, report_bucket: str, prefix: str) -> Job:
    """Load the index from the newest report under ``report_bucket``/``prefix`` (audited ``index.inventory.start``)."""
    from catalog import tasks

    if (job := crawl.running(indexed)) is not None:
        return job
    manifest = latest_manifest(endpoint=indexed.endpoint, bucket=report_bucket, prefix=prefix)
    params = {"bucket": indexed.bucket, "report_bucket": report_bucket, "manifest": manifest}
    title = f"Load the index of {indexed.bucket} from its inventory"
    return crawl._start(tasks.index_inventory, crawl.INVENTORY, title, actor, indexed, params, False)


def _normal(name: str) -> str:
    return name.strip().lower().replace("_", "")


def _read_manifest(endpoint: Endpoint, bucket: str, key: str) -> dict:
    body = s3.open_object(endpoint=endpoint, bucket=bucket, key=key)
    if body is None:
        raise InventoryError(f"The manifest {key} is not there (any more).")
    try:
        manifest = safejson.loads(body.read(MAX_MANIFEST_BYTES + 1), max_bytes=MAX_MANIFEST_BYTES, what="The manifest")
    except safejson.JSONRefused as exc:  # anyone who may write to the report bucket wrote this
        raise InventoryError(f"{key}: {exc.message}") from None
    finally:
        body.close()
    if not isinstance(manifest, dict):
        raise InventoryError(f"The manifest {key} is not a JSON object.")
    if manifest.get("fileFormat") not in {"CSV", "ORC", "Parquet"} or not isinstance(manifest.get("files"), list):
        raise InventoryError("The manifest names no CSV, ORC or Parquet files.")
    return manifest


def _csv_rows(endpoint: Endpoint, bucket: str, key: str, schema: list[str]) -> Iterator[dict]:
    body = s3.open_object(endpoint=endpoint, bucket=bucket, key=key)
    if body is None:
        raise InventoryError(f"The report file {key} is not there.")
    try:
        stream = gzip.GzipFile(fileobj=body) if key.endswith(".gz") else body
        for row in csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline="")):
            record = dict(zip(schema, row, strict=False))
            record["key"] = urllib.parse.unquote_plus(record.get("key", ""))  # CSV reports URL-encode keys
            yield record
    finally:
        body.close()


def _columnar_rows(endpoint: Endpoint, bucket: str, key: str, fmt: str) -> Iterator[dict]:
    """ORC or Parquet: copied to a temporary file (their footer is at the end), then read batch by batch."""
    body = s3.open_object(endpoint=endpoint, bucket=bucket, key=key)
    if body is None:
        raise InventoryError(f"The report file {key} is not there.")
    with tempfile.TemporaryFile() as spool:
        try:
            while chunk := body.read(8 * 1024 * 1024):
                spool.write(chunk)
        finally:
            body.close()
        spool.seek(0)
        if fmt == "Parquet":
            import pyarrow.parquet as pq

            batches = pq.ParquetFile(spool).iter_batches(batch_size=BATCH)
        else:
            import pyarrow.orc as orc

            reader = orc.ORCFile(spool)
            batches = (reader.read_stripe(i) for i in range(reader.nstripes))
        for batch in batches:
            names = [_normal(n) for n in batch.schema.names]
            for values in zip(*(col.to_pylist() for col in batch.columns), strict=True):
                yield dict(zip(names, values, strict=True))


def _entry(record: dict) -> dict | None:
    """An index entry from a report row; None for a delete marker or a noncurrent version."""
    if str(record.get("isdeletemarker", "")).lower() == "true":
        return None
    if str(record.get("islatest", "true")).lower() == "false":
        return None
    modified = record.get("lastmodifieddate")
    if isinstance(modified, str):
        modified = datetime.fromisoformat(modified.replace("Z", "+00:00")) if modified else None
    size = record.get("size")
    return {
        "key": record["key"],
        "size": int(size) if size not in (None, "") else 0,
        "last_modified": modified,
        "storage_class": record.get("storageclass") or "STANDARD",
        "etag": record.get("etag") or "",
    }


def run_load(job: Job, progress: Progress) -> Outcome:
    indexed = IndexedBucket.objects.select_related("endpoint").get(endpoint=job.endpoint, bucket=job.bucket)
    endpoint, report_bucket = indexed.endpoint, job.params["report_bucket"]
    manifest = _read_manifest(endpoint, report_bucket, job.params["manifest"])
    state = progress.state
    if not state:
        indexed.generation += 1
        IndexedBucket.objects.filter(pk=indexed.pk).update(
            generation=indexed.generation, state=IndexedBucket.State.CRAWLING, source=IndexedBucket.Source.INVENTORY
        )
        state = {"generation": indexed.generation, "file": 0, "row": 0}
    generation = indexed.generation = state["generation"]
    schema = [_normal(c) for c in str(manifest.get("fileSchema", "")).split(",")]
    throttle = Throttle(crawl.rate_of(indexed))
    files = manifest["files"]
    while state["file"] < len(files):
        key = files[state["file"]]["key"]
        throttle.wait()
        if manifest["fileFormat"] == "CSV":
            rows = _csv_rows(endpoint, report_bucket, key, schema)
        else:
            rows = _columnar_rows(endpoint, report_bucket, key, manifest["fileFormat"])
        _load_file(indexed, generation, rows, state, progress)
        state.update(file=state["file"] + 1, row=0)
        progress.save(state)
    crawl.finish_crawl(indexed, generation, None)
    IndexedBucket.objects.filter(pk=indexed.pk).update(inventory_manifest=f"{report_bucket}/{job.params['manifest']}")
    indexed.refresh_from_db()
    after = {"objects": indexed.object_count, "bytes": indexed.total_bytes, "files": len(files)}
    message = f"Loaded {indexed.object_count:,} objects ({indexed.total_bytes:,} bytes) from the inventory report."
    return Outcome(message, after=after)


def _load_file(indexed, generation, rows, state, progress) -> None:
    skip, number, batch = state["row"], 0, []
    for record in rows:
        number += 1
        if number <= skip:
            continue
        if (entry := _entry(record)) is not None:
            batch.append(entry)
        if len(batch) >= BATCH or number % CHECKPOINT_ROWS == 0:
            crawl.write_page(indexed, generation, batch, None)
            progress.advance(len(batch), sum(e["size"] for e in batch))
            batch = []
            if number % CHECKPOINT_ROWS == 0:
                state["row"] = number
                progress.save(state)
    crawl.write_page(indexed, generation, batch, None)
    progress.advance(len(batch), sum(e["size"] for e in batch))


# --- setting up the report (AWS) ------------------------------------------------------------------
def inventory_configuration(*, destination_bucket: str, prefix: str, config_id: str, fmt: str = "CSV") -> dict:
    return {
        "Id": config_id,
        "IsEnabled": True,
        "IncludedObjectVersions": "Current",
        "Destination": {
            "S3BucketDestination": {"Bucket": f"arn:aws:s3:::{destination_bucket}", "Format": fmt, "Prefix": prefix}
        },
        "Schedule": {"Frequency": "Daily"},
        "OptionalFields": ["Size", "LastModifiedDate", "StorageClass", "ETag"],
    }


def inventory_setup(
    *, actor: audit.Actor, endpoint: Endpoint, bucket: str, destination_bucket: str, prefix: str,
    config_id: str = "console-index", fmt: str = "CSV",
) -> dict:  # fmt: skip
    """Ask S3 for a daily inventory report of the bucket (current versions, the fields the index keeps)."""
    configuration = inventory_configuration(
        destination_bucket=destination_bucket, prefix=prefix, config_id=config_id, fmt=fmt
    )
    with audit.change(actor, "bucket.inventory.put", endpoint=endpoint, bucket=bucket, params=configuration) as ev:
        s3.put_inventory_configuration(
            endpoint=endpoint, bucket=bucket, config_id=config_id, configuration=configuration
        )
        ev.after = next(
            (c for c in s3.list_inventory_configurations(endpoint=endpoint, bucket=bucket) if c.get("Id") == config_id),
            None,
        )
    return ev.after or {}


def report_prefix(*, prefix: str, bucket: str, config_id: str) -> str:
    """Where AWS writes the reports of a configuration: ``<prefix>/<source bucket>/<config id>/``."""
    return "/".join(p for p in (prefix.strip("/"), bucket, config_id) if p) + "/"
