"""Drift detection against SeaweedFS: outside changes (a plain boto3 client) become external audit events."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.management import call_command
from django.db import connections

from buckets import s3
from buckets.services import bucket_settings
from buckets.services.buckets import bucket_create
from buckets.services.sections import Target, section_change
from console import audit
from console.models import AuditEvent, Endpoint
from watch.models import BucketSnapshot, DriftRun, EndpointWatch
from watch.services import drift

pytest_plugins = ["tests.bucket_settings_fixtures"]

ADMIN = audit.Actor(user_id=None, username="alice", role="admin")


def external(bucket: str | None = None):
    events = AuditEvent.objects.filter(action__endswith=".external").order_by("id")
    return list(events.filter(bucket=bucket) if bucket else events)


def check(endpoint, bucket: str = "", trigger: str = "command"):
    return drift.drift_check(endpoints=[endpoint], bucket=bucket, trigger=trigger)


def public_policy(bucket: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}],
    })  # fmt: skip


@pytest.mark.django_db
def test_outside_changes_become_external_events_once(endpoint, make_bucket, s3client):
    bucket = make_bucket("drift")
    first = check(endpoint)
    assert first.events == [] and first.run.buckets_checked >= 1  # the first snapshot is no drift
    snapshot = BucketSnapshot.objects.get(endpoint=endpoint, bucket=bucket)
    assert snapshot.state["tags"] == {} and snapshot.state["policy"] is None

    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "ops"}]})
    s3client.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    s3client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    second = check(endpoint)

    events = {e.action: e for e in external(bucket)}
    assert set(events) == {"bucket.tags.external", "bucket.policy.external", "bucket.versioning.external"}
    assert len(second.events) == 3
    tags = events["bucket.tags.external"]
    assert (tags.before, tags.after) == ({}, {"team": "ops"})
    assert tags.actor_name == "outside the console" and tags.actor_id is None
    assert tags.params["source"] == "drift check" and tags.params["drift_run"] == second.run.pk
    assert events["bucket.policy.external"].before is None
    assert json.loads(events["bucket.policy.external"].after)["Statement"][0]["Principal"] == "*"
    assert events["bucket.versioning.external"].before["status"] == ""
    assert events["bucket.versioning.external"].after["status"] == "Enabled"
    assert tags.endpoint_id == endpoint.pk and audit_chain_ok()

    third = check(endpoint)
    assert third.events == [] and len(external(bucket)) == 3  # nothing new
    snapshot.refresh_from_db()
    assert second.run.started_at <= snapshot.changed_outside_at <= second.run.finished_at  # not moved by the third
    assert snapshot.checked_at >= third.run.started_at


@pytest.mark.django_db
def test_every_setting_seaweedfs_stores_is_compared(endpoint, make_bucket, s3client):
    bucket = make_bucket("drift-all")
    check(endpoint, bucket)
    rule = {"ID": "old-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}}
    by_default = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [by_default]})
    s3client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    s3client.put_bucket_acl(Bucket=bucket, ACL="public-read")
    s3client.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
    )
    s3client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    result = check(endpoint, bucket)
    events = {e.action: e for e in result.events}
    assert len(result.events) == 5 and set(events) == {
        "bucket.encryption.external", "bucket.lifecycle.external", "bucket.acl.external", "bucket.cors.external",
        "bucket.ownership.external",
    }  # fmt: skip
    encryption = events["bucket.encryption.external"]
    assert encryption.before is None and encryption.after["algorithm"] == "AES256"
    assert (events["bucket.lifecycle.external"].before, events["bucket.lifecycle.external"].after) == ([], [rule])
    acl = events["bucket.acl.external"]
    everyone = "http://acs.amazonaws.com/groups/global/AllUsers"
    [public_grant] = [g for g in acl.after["grants"] if g["grantee"] == everyone]
    assert everyone not in json.dumps(acl.before) and public_grant["permission"] == "READ"
    cors = events["bucket.cors.external"]
    assert cors.before == [] and cors.after[0]["AllowedOrigins"] == ["*"]
    ownership = events["bucket.ownership.external"]
    assert (ownership.before, ownership.after) == ("BucketOwnerEnforced", "BucketOwnerPreferred")
    assert check(endpoint, bucket).events == []


def audit_chain_ok() -> bool:
    from console import audit_chain

    return all(audit_chain.compute_hash(e) == e.hash for e in AuditEvent.objects.all())


def console_tags(endpoint, bucket: str, tags: dict) -> None:
    """Set the bucket's tags through the console's own audited section save."""
    target, data = Target(endpoint, bucket), {"tags": list(tags.items())}
    read = bucket_settings.getter(s3.get_bucket_tags)
    section_change(
        actor=ADMIN, target=target, action="bucket.tags.put", lock="tags", read=read,
        apply=lambda before: bucket_settings.write_tags(target, data, before), params=data,
    )  # fmt: skip


@pytest.mark.django_db
def test_console_changes_are_not_drift(endpoint, make_bucket, s3client):
    bucket = make_bucket("drift-console")
    check(endpoint, bucket)
    console_tags(endpoint, bucket, {"owner": "console"})
    assert check(endpoint, bucket).events == []  # the console's own change

    console_tags(endpoint, bucket, {"owner": "console-2"})
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "cli"}]})
    result = check(endpoint, bucket)
    [event] = result.events
    # The outside change came after the console's: before is what the console left.
    assert event.action == "bucket.tags.external"
    assert (event.before, event.after) == ({"owner": "console-2"}, {"owner": "cli"})


@pytest.mark.django_db
def test_outside_changes_before_and_between_console_changes(endpoint, make_bucket, s3client):
    """The console's events say what each of its changes found: a value it did not leave is someone else's."""
    bucket = make_bucket("drift-between")
    check(endpoint, bucket)

    def outside_tags(tags: dict) -> None:
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set})

    outside_tags({"by": "terraform"})
    console_tags(endpoint, bucket, {"by": "console"})  # it overwrote the outside change: still one to report
    outside_tags({"by": "cli"})
    console_tags(endpoint, bucket, {"by": "console-2"})
    result = check(endpoint, bucket)
    assert [(e.action, e.before, e.after) for e in result.events] == [
        ("bucket.tags.external", {}, {"by": "terraform"}),
        ("bucket.tags.external", {"by": "console"}, {"by": "cli"}),
    ]
    assert check(endpoint, bucket).events == []
    console_tags(endpoint, bucket, {"by": "console-3"})
    outside_tags({"by": "console-2"})  # someone put back the value of before the console's change
    [event] = check(endpoint, bucket).events
    assert (event.before, event.after) == ({"by": "console-3"}, {"by": "console-2"})


@pytest.mark.django_db
def test_one_pass_reads_each_setting_once(endpoint, make_bucket):
    bucket = make_bucket("drift-calls")
    check(endpoint, bucket)
    s3.CALL_COUNTS.clear()
    check(endpoint, bucket)
    unsupported = BucketSnapshot.objects.get(bucket=bucket).unchecked
    gets = {op: n for op, n in s3.CALL_COUNTS.items() if op.startswith("Get")}
    assert all(n == 1 for n in gets.values()), gets
    assert len(gets) + len(unsupported) >= len(drift.SETTINGS) - 1  # ACL and ownership may share nothing
    assert not any(op.startswith(("Put", "Delete", "Create")) for op in s3.CALL_COUNTS)


@pytest.mark.django_db
def test_buckets_created_and_deleted_outside(endpoint, make_bucket, s3client):
    make_bucket("drift-seen")
    check(endpoint)  # the endpoint is watched from now on
    assert EndpointWatch.objects.filter(endpoint=endpoint).exists()
    outside = make_bucket("drift-outside")
    s3client.put_bucket_tagging(Bucket=outside, Tagging={"TagSet": [{"Key": "made", "Value": "terraform"}]})
    record, problems = bucket_create(
        actor=ADMIN, endpoint=endpoint, name=f"drift-console-{outside[-8:]}", region="", object_lock=False,
        versioning=False, tags={},
    )  # fmt: skip
    try:
        result = check(endpoint)
        created = [e for e in result.events if e.action == "bucket.create.external"]
        assert [e.bucket for e in created] == [outside]  # the console's own bucket is no drift
        assert created[0].before is None and created[0].after["tags"] == {"made": "terraform"}

        s3client.delete_bucket(Bucket=outside)
        result = check(endpoint)
        [deleted] = result.events
        assert (deleted.action, deleted.bucket) == ("bucket.delete.external", outside)
        assert deleted.before["tags"] == {"made": "terraform"} and deleted.after is None
        assert not BucketSnapshot.objects.filter(bucket=outside).exists()
        assert check(endpoint).events == []

        from buckets.models import Job
        from buckets.services import emptying

        job = emptying.bucket_delete_start(actor=ADMIN, endpoint=endpoint, bucket=record.name)
        job.refresh_from_db()
        assert job.status == Job.Status.DONE, job.message
        assert check(endpoint).events == []  # the console deleted it: no drift
        assert not BucketSnapshot.objects.filter(bucket=record.name).exists()
    finally:
        if record.name in [b["Name"] for b in s3client.list_buckets()["Buckets"]]:
            s3client.delete_bucket(Bucket=record.name)


@pytest.mark.django_db
def test_a_bucket_the_credentials_no_longer_list_is_not_called_deleted(endpoint, make_bucket, s3client, monkeypatch):
    """Per-bucket policies (MinIO, SeaweedFS) make ListBuckets show only some buckets; HeadBucket still answers.
    (SeaweedFS's test identities see every bucket, so the narrower listing is made by leaving one name out.)"""
    hidden, seen = make_bucket("drift-narrow"), make_bucket("drift-kept")
    check(endpoint)
    assert BucketSnapshot.objects.filter(bucket=hidden).exists()
    real = s3.list_buckets
    monkeypatch.setattr(s3, "list_buckets", lambda **kw: [b for b in real(**kw) if b["name"] != hidden])
    result = check(endpoint)
    assert [e.action for e in result.events if e.bucket in (hidden, seen)] == []
    assert not AuditEvent.objects.filter(action="bucket.delete.external", bucket=hidden).exists()
    assert BucketSnapshot.objects.filter(bucket=hidden).exists()  # its next listed pass compares with it
    [why] = [reason for what, reason in result.run.unchecked if what == f"{endpoint.name}/{hidden}"]
    assert "still answers HeadBucket" in why
    # Gone for real: the same narrower listing, and HeadBucket says 404.
    s3client.delete_bucket(Bucket=hidden)
    [deleted] = [e for e in check(endpoint).events if e.bucket == hidden]
    assert deleted.action == "bucket.delete.external"


@pytest.mark.django_db
def test_unreadable_is_could_not_check_never_a_change(endpoint, readonly_endpoint, make_bucket, s3client):
    bucket = make_bucket("drift-ro")
    down = Endpoint(name="down", url="http://127.0.0.1:9", region="us-east-1", access_key_id="AKIADOWN",
                    credential_source=Endpoint.CredentialSource.KEYS)  # fmt: skip
    down.set_secret_access_key("not-a-real-secret")
    down.save()
    result = drift.drift_check(endpoints=[down, readonly_endpoint], trigger="command")
    assert result.events == []
    reasons = dict(result.run.unchecked)
    assert "cannot be reached" in reasons["down"]
    assert not EndpointWatch.objects.filter(endpoint=down).exists()  # never listed: not watched yet
    # The read-only identity cannot read the tags: kept as "could not check", and a change is no event.
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    result = drift.drift_check(endpoints=[readonly_endpoint], trigger="command")
    assert [e for e in result.events if e.bucket == bucket] == []
    snap = BucketSnapshot.objects.get(endpoint=readonly_endpoint, bucket=bucket)
    assert "tags" not in snap.state and "not allowed" in snap.unchecked["tags"]
    # Not supported by SeaweedFS (public access block: 501) is recorded as such.
    check(endpoint, bucket)
    unchecked = BucketSnapshot.objects.get(endpoint=endpoint, bucket=bucket).unchecked
    assert unchecked.get("public_access_block") == "not supported by this endpoint"


@pytest.mark.django_db
def test_the_command(endpoint, make_bucket, s3client, capsys):
    bucket = make_bucket("drift-cmd")
    call_command("drift_check", "--endpoint", endpoint.name, "--bucket", bucket)
    s3client.put_bucket_cors(
        Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
    )
    call_command("drift_check", "--endpoint", endpoint.name, "--bucket", bucket)
    out = capsys.readouterr().out
    assert f"local/{bucket}: bucket.cors.external" in out and "1 changed outside the console" in out
    assert DriftRun.objects.filter(trigger="command").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_record_one_set_of_events(endpoint, make_bucket, s3client):
    buckets = [make_bucket("drift-race") for _ in range(3)]
    check(endpoint)
    for name in buckets:
        s3client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "race", "Value": name[-4:]}]})
    barrier = threading.Barrier(2)
    errors = []

    def instance():
        try:
            barrier.wait()
            check(endpoint, trigger="schedule")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    events = [e for e in external() if e.bucket in buckets]
    assert sorted(e.bucket for e in events) == sorted(buckets)
    assert all(e.action == "bucket.tags.external" for e in events)
    assert DriftRun.objects.filter(trigger="schedule").count() == 2


@pytest.mark.django_db
def test_bucket_card_and_check_now(endpoint, make_bucket, s3client, client, operator_user, viewer_user, htmx_headers):
    from django.urls import reverse

    bucket = make_bucket("drift-page")
    card = reverse("bucket_drift", args=[endpoint.pk, bucket])
    check_now = reverse("bucket_drift_check", args=[endpoint.pk, bucket])
    client.force_login(viewer_user)
    assert client.get(card).status_code == 302  # without htmx: the bucket page, where the card is
    page = client.get(card, **htmx_headers)
    assert "Not checked yet" in page.text and "Check now" not in page.text  # viewers see, operators check
    assert client.post(check_now).status_code == 403

    client.force_login(operator_user)
    answer = client.post(check_now, **htmx_headers)
    assert "no new change outside the console" in answer.text and "last checked" in answer.text
    s3client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "cost", "Value": "team-a"}]})
    answer = client.post(check_now, **htmx_headers)
    assert "1 new change made outside the console" in answer.text
    assert "Tags" in answer.text and "cost: (none) → “team-a”" in answer.text  # what changed, in words
    assert client.post(check_now).status_code == 302  # without JavaScript: back to the bucket page
    dashboard = client.get(reverse("dashboard")).text
    assert "Changed outside the console" in dashboard and "bucket.tags.external" in dashboard
    history = client.get(reverse("audit_history"), {"endpoint": endpoint.pk, "bucket": bucket}).text
    assert "outside the console" in history and "drift check" in history


@pytest.mark.django_db
def test_the_scheduler_runs_the_pass(endpoint, make_bucket, monkeypatch):
    from console import scheduler
    from watch import tasks

    make_bucket("drift-sched")
    monkeypatch.setattr(scheduler, "SCHEDULES", {})
    scheduler.periodic("watch.drift_check", every=tasks.timedelta(minutes=15))(tasks.drift_check)
    assert scheduler.run_due() == ["watch.drift_check"]  # the test backend runs the task at once
    assert scheduler.run_due() == []  # once per interval
    run = DriftRun.objects.get(trigger="schedule")
    assert run.finished_at is not None and run.buckets_checked >= 1


@pytest.mark.django_db
def test_replication_notifications_and_public_access_block_on_moto(moto_endpoint):
    """SeaweedFS refuses these three settings; moto keeps them, as AWS does."""
    from watch.models import Alert, AlertRule
    from watch.services import alerts

    client, bucket = s3.client_for(moto_endpoint), "moto-bucket"
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    blocked = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=blocked)
    assert check(moto_endpoint).events == []
    assert not BucketSnapshot.objects.get(bucket=bucket).unchecked  # every setting read

    replication = {"Role": "arn:aws:iam::123456789012:role/replication", "Rules": [
        {"ID": "all", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
         "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": "arn:aws:s3:::elsewhere"}}]}  # fmt: skip
    client.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=replication)
    topic = {"TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads", "Events": ["s3:ObjectCreated:*"]}
    client.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [topic]}
    )
    events = {e.action: e for e in check(moto_endpoint).events}
    assert set(events) == {"bucket.replication.external", "bucket.notification.external"}
    assert events["bucket.replication.external"].before is None
    assert events["bucket.replication.external"].after["Rules"][0]["ID"] == "all"
    assert events["bucket.notification.external"].before == {}
    assert events["bucket.notification.external"].after["TopicConfigurations"][0]["TopicArn"] == topic["TopicArn"]

    # The block removed and a public policy put, between two checks: the bucket became public (one alert).
    AlertRule.objects.create(name="public", condition=AlertRule.Condition.PUBLIC)
    alerts.rules_changed()
    client.delete_public_access_block(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    result = check(moto_endpoint)
    assert {e.action for e in result.events} == {"bucket.policy.external", "bucket.public_access_block.external"}
    [alert] = Alert.objects.all()
    assert alert.event_id == next(e.pk for e in result.events if e.action.startswith("bucket.public_access_block"))
    assert "bucket moto-bucket became public" in alert.title
    alerts.rules_changed()
