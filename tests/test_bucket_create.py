"""Creating a bucket: name rules before any S3 call, S3's refusals on the form, record and audit, roles."""

from __future__ import annotations

import uuid

import pytest
from botocore.stub import Stubber
from django.urls import reverse

from buckets import s3
from buckets.models import Bucket
from console.models import AuditEvent, Role, RoleAssignment
from tests.bucket_helpers import HTMX, login, no_s3_calls
from tests.conftest import empty_and_delete

pytest_plugins = ["tests.bucket_settings_fixtures"]
CREATE = "/buckets/new/"


@pytest.fixture
def new_name(s3client):
    name = f"new-{uuid.uuid4().hex[:16]}"
    yield name
    empty_and_delete(s3client, name)
    empty_and_delete(s3client, name + "-lock")


def test_create_with_versioning_and_tags(clients, endpoint, new_name, s3client):
    admin = clients["admin"]
    assert reverse("bucket_create") == CREATE
    page = admin.get(CREATE)
    assert page.status_code == 200 and 'name="name"' in page.text
    form = {"endpoint": endpoint.pk, "name": new_name, "versioning": "on", "tags": "team=data\nenv = prod"}
    done = admin.post(CREATE, form)
    assert done.status_code == 302 and done["Location"] == reverse("bucket_detail", args=[endpoint.pk, new_name])
    assert f"Bucket “{new_name}” created." in admin.get(done["Location"]).text
    assert s3client.get_bucket_versioning(Bucket=new_name)["Status"] == "Enabled"
    assert s3client.get_bucket_tagging(Bucket=new_name)["TagSet"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "team", "Value": "data"},
    ]
    assert Bucket.objects.filter(endpoint=endpoint, name=new_name, region="us-east-1").exists()
    assert new_name in admin.get(reverse("bucket_list")).text
    event = AuditEvent.objects.get(action="bucket.create")
    assert (event.outcome, event.bucket, event.params["tags"]) == ("ok", new_name, {"team": "data", "env": "prod"})
    assert AuditEvent.objects.get(action="bucket.versioning.put").after["status"] == "Enabled"
    assert AuditEvent.objects.get(action="bucket.tags.put").after == {"env": "prod", "team": "data"}

    # the same name again: S3's refusal on the form, audited as failed
    again = admin.post(CREATE, {"endpoint": endpoint.pk, "name": new_name})
    assert again.status_code == 422 and "This endpoint already has a bucket with that name." in again.text
    assert AuditEvent.objects.filter(
        action="bucket.create", outcome="failed", error_code="BucketAlreadyOwnedByYou"
    ).exists()


def test_create_with_object_lock(clients, endpoint, new_name, s3client):
    name = new_name + "-lock"
    done = clients["admin"].post(
        CREATE, {"endpoint": endpoint.pk, "name": name, "object_lock": "on", "versioning": "on"}
    )
    assert done.status_code == 302
    config = s3client.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"
    assert s3client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert not AuditEvent.objects.filter(action="bucket.versioning.put").exists()  # object lock did it


def test_name_rules_before_any_s3_call(clients, endpoint):
    with no_s3_calls():
        answer = clients["admin"].post(CREATE, {"endpoint": endpoint.pk, "name": "-Bad..Name", "tags": "aws:x=1"})
    assert answer.status_code == 422
    errors = answer.context["form"].errors
    assert len(errors["name"]) == 3  # characters, start, two dots: one message per broken rule
    assert "A bucket name must start with a lowercase letter or a digit." in answer.text
    assert "A bucket name must not contain two dots in a row (..)." in answer.text
    assert "starts with “aws:”, which is reserved" in answer.text
    assert not AuditEvent.objects.filter(action="bucket.create").exists()


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("BucketAlreadyExists", 409, "That name is taken: bucket names are shared by every account"),
        ("InvalidBucketName", 400, "The S3 server rejected this name as invalid."),
        ("InvalidLocationConstraint", 400, "The S3 server does not accept this region here."),
        ("AccessDenied", 403, "The endpoint&#x27;s credentials may not create buckets."),
    ],
)
def test_s3_refusals_on_the_form(code, status, message, clients, endpoint):
    """The errors S3 gives for CreateBucket, stubbed at botocore (the outside edge)."""
    with Stubber(s3.client_for(endpoint)) as stub:
        stub.add_client_error("create_bucket", service_error_code=code, http_status_code=status)
        answer = clients["admin"].post(CREATE, {"endpoint": endpoint.pk, "name": "stubbed-name", "region": "eu-west-1"})
    assert answer.status_code == 422 and message in answer.text
    assert not Bucket.objects.filter(name="stubbed-name").exists()
    assert AuditEvent.objects.get(action="bucket.create").error_code == code


def test_a_new_bucket_the_server_does_not_know_yet_is_waited_for(clients, endpoint, monkeypatch):
    """SeaweedFS (about once in 400) and AWS (eventual consistency) can answer NoSuchBucket right after
    CreateBucket: the console looks again until the bucket answers, so the bucket page's cards find it."""
    pauses = []
    monkeypatch.setattr("buckets.s3.buckets.time.sleep", pauses.append)
    owned = {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}
    with Stubber(s3.client_for(endpoint)) as stub:
        stub.add_response("create_bucket", {}, {"Bucket": "stubbed-name"})
        for _ in range(2):
            stub.add_client_error("get_bucket_ownership_controls", "NoSuchBucket", http_status_code=404)
        stub.add_response("get_bucket_ownership_controls", owned, {"Bucket": "stubbed-name"})
        answer = clients["admin"].post(CREATE, {"endpoint": endpoint.pk, "name": "stubbed-name"})
        stub.assert_no_pending_responses()
    assert answer.status_code == 302 and pauses == list(s3.buckets.KNOWN_WAIT[:2])
    assert AuditEvent.objects.get(action="bucket.create").outcome == "ok"


def test_access_denied_from_a_real_server(clients, readonly_endpoint):
    answer = clients["admin"].post(CREATE, {"endpoint": readonly_endpoint.pk, "name": f"ro-{uuid.uuid4().hex[:12]}"})
    assert answer.status_code == 422 and "may not create buckets" in answer.text


def test_roles(clients, endpoint, viewer_user):
    form = {"endpoint": endpoint.pk, "name": "never-created-bucket"}
    for who in ("viewer", "operator"):
        assert clients[who].get(CREATE).status_code == 403
        assert clients[who].post(CREATE, form).status_code == 403
    assert AuditEvent.objects.filter(action="bucket.create", outcome="denied").count() == 4
    assert clients["nobody"].post(CREATE, form).status_code == 404
    # admin on this endpoint only (viewer elsewhere): may create here
    RoleAssignment.objects.create(user=viewer_user, role=Role.ADMIN, endpoint=endpoint)
    assert login(viewer_user).get(CREATE).status_code == 200


def test_generate_a_unique_name(clients, endpoint):
    admin = clients["admin"]
    with no_s3_calls():
        field = admin.get(reverse("bucket_name_suggest"), {"prefix": "Team Logs"}, **HTMX)
    assert field.status_code == 200 and 'id="name-field"' in field.text and 'value="team-logs-' in field.text
    reserved = admin.get(reverse("bucket_name_suggest"), {"prefix": "xn--x"}, **HTMX)
    assert "must not start with “xn--”" in reserved.text
    plain = admin.get(reverse("bucket_name_suggest"), {"prefix": "logs"})
    assert plain.status_code == 302
    page = admin.get(plain["Location"])
    assert page.context["form"].initial["name"].startswith("logs-")
    assert clients["viewer"].get(reverse("bucket_name_suggest"), {"prefix": "x"}, **HTMX).status_code == 403
