"""Bulk actions over a folder or a selection, against a real SeaweedFS: each action's effect read back with a
plain boto3 client, the dry-run count, the scope of a prefix-limited user, the audit rows, the CSV report."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.db import connection
from django.test import Client

from buckets.forms.transfer import encode_key
from buckets.models import Job, JobFailure
from console.models import AuditEvent, Role, RoleAssignment
from tests.transfer_fixtures import events, list_keys, put_many, records_fixture, url  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _post(client, name, endpoint, bucket, **data):
    data.setdefault("source", "prefix")
    data.setdefault("rate", "0")
    return client.post(url(name, endpoint, bucket), data)


def _start(client, endpoint, bucket, **data) -> Job:
    response = _post(client, "bulk_start", endpoint, bucket, **data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def _tags(client, bucket, key) -> dict:
    return {t["Key"]: t["Value"] for t in client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def _one_start_one_outcome(job: Job) -> None:
    assert [e.outcome for e in events(f"{job.kind}.start")] == ["ok"]
    outcome = events(job.kind)
    assert len(outcome) == 1 and outcome[0].params["job_id"] == str(job.pk)
    assert AuditEvent.objects.filter(action__startswith=job.kind).count() == 2  # never one row per object


def test_dry_run_counts_then_tags_are_set_on_the_folder_only(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk")
    put_many(s3client, bucket, [f"logs/{i:03}.txt" for i in range(25)] + ["other/a.txt", "logs2/b.txt"])
    s3client.put_object_tagging(Bucket=bucket, Key="logs/000.txt", Tagging={"TagSet": [{"Key": "keep", "Value": "1"}]})

    form = admin_client.get(url("bulk_new", endpoint, bucket, prefix="logs/"))
    assert form.status_code == 200 and "object under “logs/”" in form.content.decode()
    review = _post(admin_client, "bulk_review", endpoint, bucket, prefix="logs/", action="tag", tags="team=ops\nx=1")
    assert review.status_code == 200
    assert 'data-dry-run-count="25"' in review.content.decode()
    assert AuditEvent.objects.filter(action__startswith="bulk.").count() == 0  # a dry run writes nothing

    job = _start(admin_client, endpoint, bucket, prefix="logs/", action="tag", tags="team=ops\nx=1")
    job.refresh_from_db()
    assert (job.status, job.done, job.failed, job.total) == ("done", 25, 0, 25)
    assert _tags(s3client, bucket, "logs/000.txt") == {"keep": "1", "team": "ops", "x": "1"}
    assert _tags(s3client, bucket, "logs/024.txt") == {"team": "ops", "x": "1"}
    assert _tags(s3client, bucket, "logs2/b.txt") == {} and _tags(s3client, bucket, "other/a.txt") == {}
    _one_start_one_outcome(job)
    assert events("bulk.tag.start")[0].params["options"] == {"tags": {"team": "ops", "x": "1"}}

    # Removing one tag: the objects that have it change, the others need no change.
    job = _start(admin_client, endpoint, bucket, prefix="", action="untag", tag_keys="x")
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 25)
    assert "2 needed no change" in job.message
    assert _tags(s3client, bucket, "logs/000.txt") == {"keep": "1", "team": "ops"}


def test_storage_class_and_header_and_acl(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk")
    s3client.put_object(Bucket=bucket, Key="web/a.css", Body=b"a", ContentType="text/css", Metadata={"o": "1"})
    s3client.put_object(Bucket=bucket, Key="web/b.css", Body=b"b", ContentType="text/css", StorageClass="STANDARD_IA")

    review = _post(admin_client, "bulk_review", endpoint, bucket, prefix="web/", action="storage_class",
                   storage_class="STANDARD_IA")  # fmt: skip
    assert 'data-dry-run-count="1"' in review.content.decode()  # b.css already is: the listing says so
    job = _start(admin_client, endpoint, bucket, prefix="web/", action="storage_class", storage_class="STANDARD_IA")
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 1)
    assert s3client.head_object(Bucket=bucket, Key="web/a.css")["StorageClass"] == "STANDARD_IA"

    job = _start(admin_client, endpoint, bucket, prefix="web/", action="header", header="CacheControl",
                 value="public, max-age=3600")  # fmt: skip
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 2)
    head = s3client.head_object(Bucket=bucket, Key="web/a.css")
    assert head["CacheControl"] == "public, max-age=3600"
    assert head["ContentType"] == "text/css" and head["Metadata"] == {"o": "1"}  # the rest is kept
    assert head["StorageClass"] == "STANDARD_IA"

    job = _start(admin_client, endpoint, bucket, prefix="web/", action="header", header="Expires",
                 value="2030-01-02 03:04")  # fmt: skip
    job.refresh_from_db()
    assert job.status == "done"
    assert s3client.head_object(Bucket=bucket, Key="web/b.css")["ExpiresString"].startswith("Wed, 02 Jan 2030 03:04")

    job = _start(admin_client, endpoint, bucket, prefix="web/", action="acl", canned="private")
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 2)


def test_public_acl_needs_admin(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    response = _post(operator_client, "bulk_start", endpoint, bucket, action="acl", canned="public-read")
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_bad_options_are_refused_before_any_count(admin_client, endpoint, make_bucket):
    bucket = make_bucket("bulk")
    for data in ({"action": "tag", "tags": "aws:x=1"}, {"action": "untag", "tag_keys": ""},
                 {"action": "header", "header": "ContentType", "value": "not a type"},
                 {"action": "header", "header": "Expires", "value": "soon"}, {"action": "nope"}):  # fmt: skip
        response = _post(admin_client, "bulk_review", endpoint, bucket, **data)
        assert response.status_code == 422, data


def test_delete_needs_the_typed_bucket_name(operator_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk", versioned=True)
    put_many(s3client, bucket, [f"tmp/{i}.bin" for i in range(12)] + ["keep.txt"])
    review = _post(operator_client, "bulk_review", endpoint, bucket, prefix="tmp/", action="delete")
    assert 'data-dry-run-count="12"' in review.content.decode() and "to confirm" in review.content.decode()
    refused = _post(operator_client, "bulk_start", endpoint, bucket, prefix="tmp/", action="delete", confirm="nope")
    assert refused.status_code == 422 and not Job.objects.exists()

    job = _start(operator_client, endpoint, bucket, prefix="tmp/", action="delete", confirm=bucket)
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 12)
    assert list_keys(s3client, bucket) == ["keep.txt"]
    markers = s3client.list_object_versions(Bucket=bucket, Prefix="tmp/").get("DeleteMarkers", [])
    assert len(markers) == 12  # versioned: as the folder delete does, each key gets a delete marker
    _one_start_one_outcome(job)


def test_selection_of_keys_and_folders_moves_to_another_bucket(admin_client, endpoint, s3client, make_bucket, records):
    src, dst = make_bucket("src"), make_bucket("dst")
    records(src, dst)
    put_many(s3client, src, ["in/a.txt", "in/b.txt", "in/sub/c.txt", "in/sub/deep/d.txt", "in/z.txt", "in/sub2/e.txt"])
    data = {
        "source": "selection", "prefix": "in/", "action": "move", "dest_bucket": dst, "dest_prefix": "out",
        "key_b64": [encode_key("in/a.txt"), encode_key("in/sub/c.txt")], "folder_b64": [encode_key("in/sub/")],
    }  # fmt: skip
    review = admin_client.post(url("bulk_review", endpoint, src), data)
    assert 'data-dry-run-count="3"' in review.content.decode()  # a.txt, and the folder's two (c.txt once)
    response = admin_client.post(url("bulk_start", endpoint, src), {**data, "confirm": src})
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.status, job.done, job.failed) == ("done", 3, 0)
    assert list_keys(s3client, dst) == ["out/a.txt", "out/sub/c.txt", "out/sub/deep/d.txt"]
    assert list_keys(s3client, src) == ["in/b.txt", "in/sub2/e.txt", "in/z.txt"]
    start = events("bulk.move.start")[0]
    assert start.params["count"] == 1 and start.params["source"]["spec"] == {"folders": ["in/sub/"]}


def test_copy_into_the_source_folder_is_refused(admin_client, endpoint, s3client, make_bucket, records):
    bucket = make_bucket("bulk")
    records(bucket)
    put_many(s3client, bucket, ["f/a.txt"])
    data = {"prefix": "f/", "action": "copy", "dest_bucket": bucket, "dest_prefix": "f/inner/"}
    response = _post(admin_client, "bulk_start", endpoint, bucket, **data)
    assert response.status_code == 422 and "cannot be copied into itself" in response.content.decode()
    assert list_keys(s3client, bucket) == ["f/a.txt"]


def test_copy_reports_failures_and_csv(admin_client, endpoint, s3client, make_bucket, records):
    src, dst = make_bucket("src"), make_bucket("dst")
    records(src, dst)
    put_many(s3client, src, ["c/=SUM(A1).txt", "c/b.txt", "c/c.txt"])
    s3client.put_object(Bucket=dst, Key="c/b.txt", Body=b"other")  # exists: not overwritten
    job = _start(admin_client, endpoint, src, prefix="c/", action="copy", dest_bucket=dst, dest_prefix="c/")
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("failed", 2, 1)
    assert list(JobFailure.objects.filter(job=job).values_list("key", "code")) == [("c/b.txt", "DestinationExists")]
    assert s3client.get_object(Bucket=dst, Key="c/b.txt")["Body"].read() == b"other"
    _one_start_one_outcome(job)
    assert events("bulk.copy")[0].outcome == "failed"

    report = admin_client.get(f"/jobs/{job.pk}/report.csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["result", "key", "version_id", "code", "message"]
    assert rows[1][0] == "summary" and "2 done, 1 failed" in rows[1][4]
    assert rows[2][:4] == ["failed", "c/b.txt", "", "DestinationExists"]


def test_csv_report_is_formula_safe(admin_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk")
    job = Job.objects.create(kind="bulk.tag", title="=HYPERLINK(1)", endpoint=endpoint, bucket=bucket,
                             actor_id=None, status="failed")  # fmt: skip
    JobFailure.objects.create(job=job, key="=cmd|' /C calc'!A0", code="AccessDenied", message="+no")
    rows = list(
        csv.reader(io.StringIO(b"".join(admin_client.get(f"/jobs/{job.pk}/report.csv").streaming_content).decode()))
    )
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[2][1] == "'=cmd|' /C calc'!A0" and rows[2][4] == "'+no"


def test_prefix_scoped_user_never_touches_nor_counts_other_keys(
    client, endpoint, s3client, make_bucket, django_user_model
):
    bucket = make_bucket("bulk")
    put_many(s3client, bucket, ["team/a.txt", "team/b.txt", "secret/x.txt", "teammate/y.txt"])
    user = django_user_model.objects.create_user("scoped", password="pw-scoped-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix="team/")
    client.force_login(user)

    review = _post(client, "bulk_review", endpoint, bucket, prefix="", action="tag", tags="t=1")
    assert review.status_code == 200 and 'data-dry-run-count="2"' in review.content.decode()
    job = _start(client, endpoint, bucket, prefix="", action="tag", tags="t=1")
    job.refresh_from_db()
    assert (job.status, job.done, job.failed, job.total) == ("done", 2, 0, 2)
    assert _tags(s3client, bucket, "team/a.txt") == {"t": "1"}
    assert _tags(s3client, bucket, "secret/x.txt") == {} and _tags(s3client, bucket, "teammate/y.txt") == {}

    # A delete of the whole bucket deletes their part only; a selection outside their prefix is refused.
    job = _start(client, endpoint, bucket, prefix="", action="delete", confirm=bucket)
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 2)
    assert list_keys(s3client, bucket) == ["secret/x.txt", "teammate/y.txt"]
    outside = client.post(url("bulk_start", endpoint, bucket), {
        "source": "selection", "prefix": "", "action": "delete", "confirm": bucket, "rate": "0",
        "key_b64": [encode_key("secret/x.txt")],
    })  # fmt: skip
    assert outside.status_code == 403
    assert list_keys(s3client, bucket) == ["secret/x.txt", "teammate/y.txt"]


def test_viewer_cannot_start_changes(viewer_client, endpoint, s3client, make_bucket):
    bucket = make_bucket("bulk")
    s3client.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    assert _post(viewer_client, "bulk_review", endpoint, bucket, action="tag", tags="a=1").status_code == 403
    assert _post(viewer_client, "bulk_start", endpoint, bucket, action="delete", confirm=bucket).status_code == 403
    assert list_keys(s3client, bucket) == ["a.txt"]


@pytest.mark.django_db(transaction=True)
def test_the_same_start_sent_twice_at_once_makes_one_job(settings, admin_user, endpoint, s3client, make_bucket):
    """A double click, or the form sent again from a second tab, while the job waits for a worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    bucket = make_bucket("bulk")
    put_many(s3client, bucket, [f"tmp/{i}.bin" for i in range(3)])
    form = {"source": "prefix", "rate": "0", "prefix": "tmp/", "action": "delete", "confirm": bucket}
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(admin_user)
    barrier, answers = threading.Barrier(2), []

    def start(client):
        barrier.wait()
        answers.append(client.post(url("bulk_start", endpoint, bucket), form))
        connection.close()

    threads = [threading.Thread(target=start, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job = Job.objects.get()
    assert [a.status_code for a in answers] == [302, 302]
    assert {a["Location"] for a in answers} == {f"/jobs/{job.pk}/"}
    assert job.status == "queued" and [e.outcome for e in events("bulk.delete.start")] == ["ok"]
    # Another folder, or the same one once this job has ended, is a job of its own.
    other = _post(clients[0], "bulk_start", endpoint, bucket, prefix="", action="delete", confirm=bucket)
    assert other.status_code == 302 and Job.objects.count() == 2
    Job.objects.filter(pk=job.pk).update(status="done")
    again = clients[0].post(url("bulk_start", endpoint, bucket), form)
    assert again.status_code == 302 and again["Location"] != f"/jobs/{job.pk}/" and Job.objects.count() == 3
    assert s3client.list_objects_v2(Bucket=bucket)["KeyCount"] == 3  # nothing ran: no worker
