"""The S3 layer's XML parser (buckets/s3/fastparse.py) reads every answer exactly as botocore's own does.

Real answers of SeaweedFS and of moto (AWS's shapes: grants with XML attributes, ownership, website)
are captured as they arrive and parsed by both parsers; the results must be equal.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore import parsers
from botocore.exceptions import ClientError

from buckets.s3.client import session_for
from buckets.s3.fastparse import FastParserFactory, FastRestXMLParser, fast_timestamp

AWKWARD_KEYS = ["plain.txt", "a b/c d.txt", "100% + more.txt", "<&>'\".txt", "ünï/cødé €.txt", "deep/er/still/x"]


def _capture(client) -> list:
    seen = []
    client.meta.events.register(
        "before-parse.s3.*", lambda operation_model, response_dict, **_: seen.append((operation_model, response_dict))
    )
    return seen


def _assert_same(seen: list) -> set[str]:
    stock, fast = parsers.RestXMLParser(timestamp_parser=fast_timestamp), FastRestXMLParser(fast_timestamp)
    operations = set()
    for model, response in seen:
        if response.get("body") is None or not isinstance(response["body"], bytes):
            continue  # a streamed body (GetObject) is not the parser's
        shape = model.output_shape
        assert fast.parse(dict(response), shape) == stock.parse(dict(response), shape), model.name
        # The plan kept on the shape must give the same answer the second time.
        assert fast.parse(dict(response), shape) == stock.parse(dict(response), shape), model.name
        operations.add(model.name)
    return operations


def _exercise(client, bucket: str) -> None:
    for key in AWKWARD_KEYS:
        client.put_object(Bucket=bucket, Key=key, Body=b"x" * 3, Metadata={"owner": "ann"}, ContentType="text/plain")
    client.put_object_tagging(Bucket=bucket, Key="plain.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v + w"}]})
    client.list_objects_v2(Bucket=bucket)
    client.list_objects_v2(Bucket=bucket, Delimiter="/")
    client.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="deep/", MaxKeys=1)
    client.list_objects_v2(Bucket=bucket, Prefix="nothing-here/")
    client.list_objects(Bucket=bucket, Delimiter="/")
    client.list_object_versions(Bucket=bucket)
    client.list_buckets()
    client.head_object(Bucket=bucket, Key="plain.txt")
    client.get_object_tagging(Bucket=bucket, Key="plain.txt")
    client.get_object_acl(Bucket=bucket, Key="plain.txt")
    client.get_bucket_acl(Bucket=bucket)
    client.get_bucket_versioning(Bucket=bucket)
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://a.example"], "ExposeHeaders": ["ETag"],
         "MaxAgeSeconds": 60}]})  # fmt: skip
    client.get_bucket_cors(Bucket=bucket)
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "deep/"}, "Expiration": {"Days": 30}}]})  # fmt: skip
    client.get_bucket_lifecycle_configuration(Bucket=bucket)
    client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    client.get_bucket_tagging(Bucket=bucket)
    upload = client.create_multipart_upload(Bucket=bucket, Key="big/part.bin")
    client.upload_part(Bucket=bucket, Key="big/part.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"y" * 10)
    client.list_parts(Bucket=bucket, Key="big/part.bin", UploadId=upload["UploadId"])
    client.list_multipart_uploads(Bucket=bucket)
    client.abort_multipart_upload(Bucket=bucket, Key="big/part.bin", UploadId=upload["UploadId"])
    for refused in (
        lambda: client.get_object(Bucket=bucket, Key="missing"),
        lambda: client.head_object(Bucket=bucket, Key="missing"),
        lambda: client.get_bucket_policy(Bucket=bucket),
        lambda: client.list_objects_v2(Bucket=f"{bucket}-missing"),
    ):
        with pytest.raises(ClientError):
            refused()


def test_the_console_sessions_use_the_fast_parser(endpoint):
    factory = session_for(endpoint)._session.get_component("response_parser_factory")
    assert isinstance(factory, FastParserFactory)
    assert isinstance(factory.create_parser("rest-xml"), FastRestXMLParser)
    assert type(factory.create_parser("json")) is parsers.JSONParser
    assert factory.create_parser("rest-xml")._timestamp_parser is fast_timestamp


def test_seaweedfs_answers_parse_alike(s3client, make_bucket):
    seen = _capture(s3client)
    bucket = make_bucket("fp", versioned=True)
    _exercise(s3client, bucket)
    operations = _assert_same(seen)
    assert {"ListObjectsV2", "ListObjectVersions", "ListParts", "GetBucketCors", "GetObjectTagging"} <= operations


def test_aws_shaped_answers_parse_alike():
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
        seen = _capture(client)
        bucket = f"fp-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
                             ObjectLockEnabledForBucket=True)  # fmt: skip
        _exercise(client, bucket)
        client.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::{bucket}/x",
                        }
                    ],
                }
            ),
        )
        client.get_bucket_policy(Bucket=bucket)
        client.get_bucket_location(Bucket=bucket)
        client.get_object_lock_configuration(Bucket=bucket)
        client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        client.get_public_access_block(Bucket=bucket)
        client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [
            {"ObjectOwnership": "BucketOwnerPreferred"}]})  # fmt: skip
        client.get_bucket_ownership_controls(Bucket=bucket)
        client.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
        client.get_bucket_website(Bucket=bucket)
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})  # fmt: skip
        client.get_bucket_encryption(Bucket=bucket)
        operations = _assert_same(seen)
    assert {"GetBucketAcl", "GetObjectLockConfiguration", "GetBucketOwnershipControls", "GetBucketWebsite"} <= set(
        operations
    )


# --- one parse an answer ---------------------------------------------------------------------------------
def _documents_built(monkeypatch) -> list:
    """Every XML document built from now on (botocore's parses and the console's use one ElementTree)."""
    from xml.etree import ElementTree

    made, real = [], ElementTree.XMLParser
    monkeypatch.setattr(ElementTree, "XMLParser", lambda *a, **kw: made.append(1) or real(*a, **kw))
    return made


def test_an_answer_s_body_is_parsed_once(endpoint, make_bucket, s3client, monkeypatch):
    """botocore parses every S3 answer's body twice: once to see whether a 200 holds an <Error>, then to
    read it. The console's clients build its document once, and read the same as before."""
    from buckets import s3
    from buckets.s3.client import new_client

    bucket = make_bucket("once")
    for key in ("a.txt", "b/c.txt"):
        s3client.put_object(Bucket=bucket, Key=key, Body=b"x")
    stock = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1",
                         aws_access_key_id=endpoint.access_key_id,
                         aws_secret_access_key=endpoint.get_secret_access_key())  # fmt: skip
    console = new_client(endpoint)
    expected = stock.list_objects_v2(Bucket=bucket, Delimiter="/")
    made = _documents_built(monkeypatch)
    stock.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert len(made) == 2  # what botocore alone does
    made.clear()
    answer = console.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert len(made) == 1
    assert {k: answer[k] for k in ("Contents", "CommonPrefixes", "KeyCount")} == {
        k: expected[k] for k in ("Contents", "CommonPrefixes", "KeyCount")
    }
    made.clear()
    page = s3.list_objects_page(endpoint=endpoint, bucket=bucket, delimiter="/")
    assert [o["key"] for o in page["objects"]] == ["a.txt"] and page["prefixes"] == ["b/"] and len(made) == 1


ERROR_IN_A_200 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
CUT_SHORT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>'
)


@pytest.mark.parametrize("body", [ERROR_IN_A_200, CUT_SHORT], ids=["error-in-the-body", "body-cut-short"])
def test_a_200_answer_holding_an_error_or_cut_short_is_asked_again_then_reported(
    db, seaweed, make_bucket, s3client, settings, body
):
    """S3 may answer 200 with an <Error> in the body, or a stream may end early: as with botocore's own
    check, that answer counts as a server error, which the call's retries ask again, and which the page
    reports when every attempt met it. Nothing of such an answer is shown as a listing."""
    from buckets import s3
    from tests.bucket_helpers import seaweed_endpoint
    from tests.job_processes import Proxy

    settings.S3_MAX_ATTEMPTS = 2
    bucket = make_bucket("twohundred")
    s3client.put_object(Bucket=bucket, Key="kept.txt", Body=b"x")
    bad = {"left": 1}

    def answer(op: str, path: str, headers):
        if op == "ListObjectsV2" and bad["left"] > 0:
            bad["left"] -= 1
            return 200, {"Content-Type": "application/xml"}, body
        return None

    with Proxy(seaweed.url) as proxy:
        proxy.rules.answer = answer
        endpoint = seaweed_endpoint(seaweed, "twohundred", proxy.url)
        page = s3.list_objects_page(endpoint=endpoint, bucket=bucket)  # the first answer was bad; the retry's good
        assert [o["key"] for o in page["objects"]] == ["kept.txt"] and proxy.rules.seen["ListObjectsV2"] == 2
        bad["left"] = 2  # every attempt of the next call
        with pytest.raises(s3.S3Error) as failed:
            s3.list_objects_page(endpoint=endpoint, bucket=bucket)
        assert proxy.rules.seen["ListObjectsV2"] == 4
    assert failed.value.code in ("InternalError", "500"), failed.value.code
