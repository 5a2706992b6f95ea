"""Uploads against a real SeaweedFS: the test plays the browser's part with `requests`."""

from __future__ import annotations

import json
import os
import time

import pytest
import requests
from django.conf import settings
from django.test.client import FakePayload
from django.urls import reverse

from buckets import s3, vocabulary
from buckets.services import uploads as upload
from console.models import AuditEvent, Role, RoleAssignment

MiB = 1024 * 1024
ORIGIN = "http://testserver"  # the console's origin as the Django test client presents it


def url(name: str, endpoint, bucket: str) -> str:
    return reverse(name, args=[endpoint.pk, bucket])


def post_json(client, name: str, endpoint, bucket: str, data: dict, **extra):
    return client.post(url(name, endpoint, bucket), json.dumps(data), content_type="application/json", **extra)


def start(client, endpoint, bucket: str, key: str, size: int, **options):
    data = {"key": key, "size": size, "method": "direct", "content_type": "application/octet-stream", **options}
    return post_json(client, "upload_start", endpoint, bucket, data)


def send_part_via_console(client, endpoint, bucket: str, token: str, number: int, body: bytes):
    return client.post(
        url("upload_part", endpoint, bucket) + f"?part={number}",
        body,
        content_type="application/octet-stream",
        HTTP_X_UPLOAD_TOKEN=token,
    )


@pytest.fixture
def bucket(make_bucket) -> str:
    return make_bucket("up")


@pytest.fixture
def other_operator(django_user_model):
    user = django_user_model.objects.create_user(username="olga", password="pw-olga-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR)
    return user


def test_part_size_keeps_to_ten_thousand_parts():
    assert upload.part_size_for(0) == 8 * MiB
    assert upload.part_size_for(80_000 * MiB) == 8 * MiB
    assert upload.part_size_for(80_000 * MiB + 1) == 9 * MiB
    five_tib = 5 * 1024 * 1024 * MiB
    size = upload.part_size_for(five_tib)
    assert size % MiB == 0 and -(-five_tib // size) <= 10_000


def test_direct_multipart_upload(operator_client, endpoint, bucket, s3client):
    data = os.urandom(2 * 8 * MiB + 12345)  # three parts of 8 MiB, 8 MiB and the rest
    key = "reports/2026/big file ü.bin"
    response = start(
        operator_client,
        endpoint,
        bucket,
        key,
        len(data),
        content_type="application/x-report",
        storage_class="STANDARD_IA",
        metadata=[["Author", "Ann"], ["project", "apollo"]],
        tags={"team": "ops"},
    )
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["multipart"] and plan["part_size"] == 8 * MiB and plan["part_count"] == 3
    assert "put" not in plan

    # Part URLs are signed locally: the console makes no S3 call for them.
    calls = sum(s3.CALL_COUNTS.values())
    response = post_json(
        operator_client, "upload_part_urls", endpoint, bucket, {"token": plan["token"], "parts": [1, 2, 3]}
    )
    assert response.status_code == 200
    urls = response.json()["urls"]
    assert sum(s3.CALL_COUNTS.values()) == calls
    assert set(urls) == {"1", "2", "3"}

    # The browser: PUT each slice straight to S3, read the ETag header.
    parts = []
    for number in (1, 2, 3):
        chunk = data[(number - 1) * 8 * MiB : number * 8 * MiB]
        answer = requests.put(urls[str(number)], data=chunk, timeout=60)
        assert answer.status_code == 200, answer.text
        parts.append({"part": number, "etag": answer.headers["ETag"]})

    # Completing with a part missing is refused before anything reaches S3.
    response = post_json(
        operator_client, "upload_complete", endpoint, bucket, {"token": plan["token"], "parts": parts[:2]}
    )
    assert response.status_code == 400
    assert "Every part" in response.json()["error"]

    body = {"token": plan["token"], "parts": parts, "method": "direct"}
    response = post_json(operator_client, "upload_complete", endpoint, bucket, body)
    assert response.status_code == 200, response.content
    assert response.json()["object"]["size"] == len(data)

    obj = s3client.get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "application/x-report"
    assert obj["Metadata"] == {"author": "Ann", "project": "apollo"}
    assert obj.get("StorageClass") == "STANDARD_IA"
    assert s3client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == [{"Key": "team", "Value": "ops"}]
    assert not s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")

    event = AuditEvent.objects.get(action="object.upload", key=key)
    assert (event.outcome, event.actor_name, event.role, event.bucket) == ("ok", "oscar", "operator", bucket)
    assert event.params["size"] == len(data) and event.params["parts"] == 3
    assert event.params["method"] == "direct" and event.params["storage_class"] == "STANDARD_IA"
    assert event.after["etag"] == obj["ETag"] and event.after["size"] == len(data)


def test_small_file_single_presigned_put(operator_client, endpoint, bucket, s3client):
    data = b"hello, world\n" * 100
    key = "notes/a <b> & c.txt"
    response = start(
        operator_client,
        endpoint,
        bucket,
        key,
        len(data),
        content_type="text/plain",
        metadata={"origin": "laptop"},
        sse="AES256",
        tags={"kind": "notes"},
    )
    assert response.status_code == 200
    plan = response.json()
    assert not plan["multipart"] and plan["part_count"] == 1
    put = plan["put"]
    assert put["headers"]["Content-Type"] == "text/plain"
    assert put["headers"]["x-amz-meta-origin"] == "laptop"
    assert put["headers"]["x-amz-server-side-encryption"] == "AES256"
    assert put["headers"]["x-amz-tagging"] == "kind=notes"

    # The options are signed into the URL: a different content type is refused by S3.
    tampered = {**put["headers"], "Content-Type": "text/html"}
    assert requests.put(put["url"], data=data, headers=tampered, timeout=30).status_code == 403

    answer = requests.put(put["url"], data=data, headers=put["headers"], timeout=30)
    assert answer.status_code == 200, answer.text
    response = post_json(operator_client, "upload_complete", endpoint, bucket, {"token": plan["token"]})
    assert response.status_code == 200

    obj = s3client.get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "text/plain" and obj["Metadata"] == {"origin": "laptop"}
    assert obj["ServerSideEncryption"] == "AES256"
    assert s3client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == [{"Key": "kind", "Value": "notes"}]
    event = AuditEvent.objects.get(action="object.upload", key=key)
    assert event.outcome == "ok" and event.params["method"] == "direct" and event.params["parts"] == 0


def test_complete_of_a_single_put_that_never_arrived_fails(operator_client, endpoint, bucket):
    plan = start(operator_client, endpoint, bucket, "ghost.txt", 10).json()
    response = post_json(operator_client, "upload_complete", endpoint, bucket, {"token": plan["token"]})
    assert response.status_code == 409
    assert AuditEvent.objects.get(action="object.upload", key="ghost.txt").outcome == "failed"


def test_cancel_aborts_the_multipart_upload(operator_client, endpoint, bucket, s3client):
    plan = start(operator_client, endpoint, bucket, "big/cancelled.bin", 20 * MiB).json()
    urls = post_json(operator_client, "upload_part_urls", endpoint, bucket, {"token": plan["token"], "parts": [1]})
    assert requests.put(urls.json()["urls"]["1"], data=b"x" * 8 * MiB, timeout=60).status_code == 200
    uploads = s3client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [upload.Grant.loads(plan["token"]).upload_id]

    response = post_json(operator_client, "upload_abort", endpoint, bucket, {"token": plan["token"]})
    assert response.status_code == 204
    assert not s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    event = AuditEvent.objects.get(action="object.upload.abort")
    assert (event.outcome, event.key, event.actor_name) == ("ok", "big/cancelled.bin", "oscar")


@pytest.fixture
def payload_reads(monkeypatch):
    """Every read of a request body by a view of the test client: one list of sizes per request with a body."""
    reads: list[list[int]] = []
    original_init, original_read = FakePayload.__init__, FakePayload.read

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.reads = []
        if len(self):  # the client also makes an empty payload for every request
            reads.append(self.reads)

    def read(self, *args, **kwargs):
        content = original_read(self, *args, **kwargs)
        self.reads.append(len(content))
        return content

    monkeypatch.setattr(FakePayload, "__init__", init)
    monkeypatch.setattr(FakePayload, "read", read)
    return reads


def test_fallback_through_the_console_holds_one_part(operator_client, endpoint, bucket, s3client, payload_reads):
    # Nothing raises the global body limit: the part view reads the stream itself, part by part.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert limit < 8 * MiB
    data = os.urandom(8 * MiB * 2 + 777)
    key = "via-console/data.bin"
    response = post_json(
        operator_client,
        "upload_start",
        endpoint,
        bucket,
        {"key": key, "size": len(data), "method": "fallback", "content_type": "application/octet-stream"},
    )
    plan = response.json()
    assert plan["multipart"] and plan["part_count"] == 3 and "put" not in plan

    # A body that is not exactly the promised part is refused before a byte of it is read.
    calls = sum(s3.CALL_COUNTS.values())
    payload_reads.clear()
    response = send_part_via_console(operator_client, endpoint, bucket, plan["token"], 1, data[: 8 * MiB + 1])
    assert response.status_code == 413
    assert sum(payload_reads[-1]) == 0
    assert sum(s3.CALL_COUNTS.values()) == calls

    parts = []
    for number in (1, 2, 3):
        chunk = data[(number - 1) * 8 * MiB : number * 8 * MiB]
        payload_reads.clear()
        response = send_part_via_console(operator_client, endpoint, bucket, plan["token"], number, chunk)
        assert response.status_code == 200, response.content
        assert sum(payload_reads[-1]) == len(chunk) <= plan["part_size"]  # exactly this part, once
        parts.append({"part": number, "etag": response.json()["etag"]})

    body = {"token": plan["token"], "parts": parts, "method": "fallback"}
    assert post_json(operator_client, "upload_complete", endpoint, bucket, body).status_code == 200
    assert s3client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    event = AuditEvent.objects.get(action="object.upload", key=key)
    assert event.outcome == "ok" and event.params["method"] == "fallback"

    # A small file through the console: one PutObject, audited at once.
    small = b"tiny"
    plan = post_json(
        operator_client,
        "upload_start",
        endpoint,
        bucket,
        {"key": "via-console/tiny.txt", "size": 4, "method": "fallback", "content_type": "text/plain"},
    ).json()
    assert "put" not in plan
    response = operator_client.post(
        url("upload_put", endpoint, bucket),
        small,
        content_type="application/octet-stream",
        HTTP_X_UPLOAD_TOKEN=plan["token"],
    )
    assert response.status_code == 200
    obj = s3client.get_object(Bucket=bucket, Key="via-console/tiny.txt")
    assert obj["Body"].read() == small and obj["ContentType"] == "text/plain"
    event = AuditEvent.objects.get(action="object.upload", key="via-console/tiny.txt")
    assert event.params["method"] == "fallback" and event.after["size"] == 4


def test_cors_detection_and_one_click_rule(client, admin_user, operator_user, endpoint, bucket, s3client, htmx_headers):
    panel_url = url("upload_panel", endpoint, bucket) + "?prefix=docs/"
    client.force_login(operator_user)
    page = client.get(panel_url).content.decode()
    assert "through the console" in page and "Allow uploads from this console" not in page
    assert 'data-method="fallback"' in page
    response = client.post(url("upload_cors_allow", endpoint, bucket), {"prefix": "docs/"}, **htmx_headers)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="bucket.cors.put", outcome="denied", actor_name="oscar").exists()

    client.force_login(admin_user)
    page = client.get(panel_url).content.decode()
    assert "Allow uploads from this console" in page and ORIGIN in page
    response = client.post(url("upload_cors_allow", endpoint, bucket), {"prefix": "docs/"}, **htmx_headers)
    assert response.status_code == 200
    assert 'data-method="direct"' in response.content.decode() and "Direct to S3" in response.content.decode()

    rules = s3client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert [{k: v for k, v in r.items() if k != "ID"} for r in rules] == [upload.upload_rule(ORIGIN)]
    event = AuditEvent.objects.get(action="bucket.cors.put", outcome="ok")
    assert event.before == [] and event.after == rules and event.actor_name == "alice"

    # Once there, the operator uploads directly too; a second click adds nothing.
    client.force_login(operator_user)
    assert 'data-method="direct"' in client.get(panel_url).content.decode()
    client.force_login(admin_user)
    client.post(url("upload_cors_allow", endpoint, bucket), {"prefix": ""}, **htmx_headers)
    assert len(s3client.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 1
    assert AuditEvent.objects.filter(action="bucket.cors.put").count() == 2  # the denial and the one change


def test_one_click_rule_keeps_existing_rules(admin_client, endpoint, bucket, s3client):
    existing = {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 60}
    s3client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [existing]})
    # SeaweedFS applies a bucket's configuration through its filer asynchronously: on a loaded machine a
    # read right after the put can still see the old one. Wait until it reads back before the console acts.
    for _ in range(100):
        if s3client.get_bucket_cors(Bucket=bucket).get("CORSRules") == [existing]:
            break
        time.sleep(0.05)
    # A rule for another origin, or one that does not expose ETag, does not count.
    assert not upload.rule_allows_uploads({**upload.upload_rule(ORIGIN), "ExposeHeaders": []}, ORIGIN)
    assert not upload.rule_allows_uploads(upload.upload_rule("https://other.example"), ORIGIN)
    assert upload.rule_allows_uploads({**upload.upload_rule("http://*"), "AllowedHeaders": ["*"]}, ORIGIN)

    response = admin_client.post(url("upload_cors_allow", endpoint, bucket), {"prefix": "a b/"})
    assert response.status_code == 302 and response["Location"].endswith("?prefix=a+b%2F")
    rules = s3client.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert len(rules) == 2
    assert rules[0]["AllowedOrigins"] == ["https://app.example.com"]
    assert rules[1]["AllowedOrigins"] == [ORIGIN] and rules[1]["ExposeHeaders"] == ["ETag"]
    assert AuditEvent.objects.get(action="bucket.cors.put").before[0]["AllowedOrigins"] == ["https://app.example.com"]


def test_viewer_is_refused_and_outsider_sees_nothing(
    client, viewer_user, nobody_user, endpoint, bucket, django_user_model
):
    client.force_login(viewer_user)
    response = start(client, endpoint, bucket, "x.txt", 3)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(
        action="object.upload", outcome="denied", actor_name="victor", key="x.txt"
    ).exists()
    page = client.get(url("upload_panel", endpoint, bucket)).content.decode()
    assert "needs the operator role" in page and "data-can-upload" not in page

    client.force_login(nobody_user)
    assert start(client, endpoint, bucket, "x.txt", 3).status_code == 404
    assert client.get(url("upload_panel", endpoint, bucket)).status_code == 404

    # An operator of one prefix uploads there and nowhere else.
    scoped = django_user_model.objects.create_user(username="petra", password="pw-petra-123456")
    RoleAssignment.objects.create(user=scoped, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix="team/")
    client.force_login(scoped)
    assert start(client, endpoint, bucket, "other/x.txt", 3).status_code == 403
    assert start(client, endpoint, bucket, "team/x.txt", 3).status_code == 200


def test_bad_input_is_refused_without_s3_calls(operator_client, endpoint, bucket):
    calls = sum(s3.CALL_COUNTS.values())
    cases = [
        ({"key": ""}, "key"),
        ({"key": "é" * 513}, "1,024 bytes"),
        ({"metadata": {"bad name": "x"}}, "metadata"),
        ({"metadata": {"note": "café"}}, "ASCII"),
        ({"sse": "aws:kms", "kms_key_id": "kéy"}, "ASCII"),
        ({"kms_key_id": "abc"}, "SSE-KMS"),
        ({"storage_class": "PLATINUM"}, "storage class"),
        ({"content_type": "text/plain\r\nX-Evil: 1"}, "content type"),
        ({"tags": {f"t{i}": "v" for i in range(11)}}, "10 tags"),
    ]
    for change, expected in cases:
        data = {"key": "ok.txt", "size": 3, "method": "direct", **change}
        response = post_json(operator_client, "upload_start", endpoint, bucket, data)
        assert response.status_code == 422, change
        assert expected.lower() in response.json()["error"].lower(), (change, response.json())
    assert sum(s3.CALL_COUNTS.values()) == calls  # refused before any S3 call
    before = s3.CALL_COUNTS.copy()
    assert start(operator_client, endpoint, bucket, "k" * 1024, 3).status_code == 200  # 1,024 bytes is fine
    # A single PUT is presigned: no write, only the bucket facts it depends on (kept a minute).
    assert set(s3.CALL_COUNTS - before) <= {"HeadBucket", "GetObjectLockConfiguration"}


def test_token_of_another_user_or_bucket_is_rejected(
    client, operator_user, other_operator, endpoint, bucket, make_bucket, s3client
):
    client.force_login(operator_user)
    plan = start(client, endpoint, bucket, "mine.bin", 20 * MiB).json()
    token = plan["token"]

    client.force_login(other_operator)
    for name, data in [
        ("upload_part_urls", {"token": token, "parts": [1]}),
        ("upload_complete", {"token": token, "parts": []}),
        ("upload_abort", {"token": token}),
    ]:
        response = post_json(client, name, endpoint, bucket, data)
        assert response.status_code == 403, name
    part = send_part_via_console(client, endpoint, bucket, token, 1, b"x" * 8 * MiB)
    assert part.status_code == 403
    assert AuditEvent.objects.filter(action="object.upload", outcome="denied", actor_name="olga").count() == 4
    assert s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")  # still there

    client.force_login(operator_user)
    other_bucket = make_bucket("up2")
    response = post_json(client, "upload_abort", endpoint, other_bucket, {"token": token})
    assert response.status_code == 403
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert post_json(client, "upload_abort", endpoint, bucket, {"token": tampered}).status_code == 400
    response = post_json(client, "upload_part_urls", endpoint, bucket, {"token": token, "parts": [4]})
    assert response.status_code == 400  # only parts 1..3 exist

    assert post_json(client, "upload_abort", endpoint, bucket, {"token": token}).status_code == 204
    assert not s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_panel_hands_the_script_the_limits_of_the_vocabulary(operator_client, endpoint, bucket, monkeypatch):
    # As data from buckets/vocabulary.py (never a copy in the script), inside a <template>: htmx drops
    # every <script> it swaps in, the JSON one included.
    monkeypatch.setattr(vocabulary, "MAX_KEY_BYTES", 77)
    page = operator_client.get(url("upload_panel", endpoint, bucket)).content.decode()
    start_tag = '<template data-upload-vocabulary><script id="upload-vocabulary" type="application/json">'
    assert start_tag in page
    data = json.loads(page.split(start_tag, 1)[1].split("</script></template>", 1)[0])
    assert data == vocabulary.browser_vocabulary() and data["maxKeyBytes"] == 77
    assert "<template data-file-row>" in page  # the script's file rows


def test_the_json_endpoints_answer_json_when_signed_out_or_asked_wrongly(client, operator_user, endpoint, bucket):
    """The script reads JSON back whatever happens: an expired session is a 401 in JSON, not the login page."""
    for name in ("upload_start", "upload_part_urls", "upload_complete", "upload_abort"):
        signed_out = client.post(
            url(name, endpoint, bucket), json.dumps({"token": "x"}), content_type="application/json"
        )
        assert signed_out.status_code == 401 and "session has expired" in signed_out.json()["error"], name
    client.force_login(operator_user)
    wrong = client.put(url("upload_start", endpoint, bucket), "{}", content_type="application/json")
    assert wrong.status_code == 405 and wrong["Content-Type"] == "application/json" and wrong.json()["error"]
    page = client.get(url("upload_start", endpoint, bucket))  # not JSON: the usual answer
    assert page.status_code == 405 and not page["Content-Type"].startswith("application/json")


REWRITTEN = {  # what SeaweedFS does to each key (shared/S3-SERVERS.md), and the reason the start gives
    "a//b.txt": "which this endpoint drops",
    "a\\b.txt": "which this endpoint stores as “/”",
    "dir/": "keeps as an empty folder",
    "x\r\ny.txt": "control characters",
}


def test_keys_the_endpoint_would_rewrite_are_refused_before_the_upload(operator_client, endpoint, bucket, s3client):
    """Upload refuses what copy, move and rename refuse on this endpoint, with the same reasons."""
    before = s3.CALL_COUNTS.copy()
    for key, reason in REWRITTEN.items():
        answer = start(operator_client, endpoint, bucket, key, 3)
        assert answer.status_code == 422 and reason in answer.json()["error"], (key, answer.json())
    writes = {"PutObject", "CreateMultipartUpload"}
    assert not {op for op, n in (s3.CALL_COUNTS - before).items() if n} & writes
    assert s3client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_an_upload_stored_under_another_name_is_not_reported_uploaded(
    operator_client, endpoint, bucket, s3client, monkeypatch
):
    """Had the console not known that SeaweedFS rewrites keys, the check after the upload catches it: S3 holds
    "a/b.txt", not the "a//b.txt" sent, so the upload fails (and is audited so) instead of saying "Uploaded"."""
    from buckets.services import reads

    monkeypatch.setattr(reads, "rewrites_keys", lambda **kwargs: False)
    for key, reason in (("a//b.txt", "named exactly “a//b.txt”"), ("dir/", "holds 0 bytes under this key")):
        plan = start(operator_client, endpoint, bucket, key, 3, method="fallback").json()
        sent = operator_client.post(
            url("upload_put", endpoint, bucket), b"abc", content_type="application/octet-stream",
            HTTP_X_UPLOAD_TOKEN=plan["token"],
        )  # fmt: skip
        assert sent.status_code == 409 and reason in sent.json()["error"], sent.json()
        assert AuditEvent.objects.get(action="object.upload", key=key).outcome == "failed"
    assert [o["Key"] for o in s3client.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b.txt", "dir/"]
