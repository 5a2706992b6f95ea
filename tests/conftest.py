"""Shared fixtures: one real SeaweedFS per test session, users per role, endpoints, buckets."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from playwright.sync_api import expect

from console import embedded_s3
from console.models import Endpoint, Role, RoleAssignment
from tests.ldap_fixtures import ldap_on, slapd  # noqa: F401 - the test OpenLDAP server (session)
from tests.oidc_fixtures import oidc_on, oidc_provider  # noqa: F401 - the test OpenID provider (session)

# Browser assertions wait as long as the pages' own timeout: on a loaded 2-core CI machine an upload
# of a few MB through SeaweedFS can take longer than Playwright's default 5 s.
expect.set_options(timeout=20_000)


class SeaweedServer:
    def __init__(self, url: str, ids: embedded_s3.Identities, proc, base_dir: Path):
        self.url, self.ids, self.proc, self.base_dir = url, ids, proc, base_dir

    def client(self, readonly: bool = False):
        key = self.ids.readonly_access_key if readonly else self.ids.access_key
        secret = self.ids.readonly_secret_key if readonly else self.ids.secret_key
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )


def xdist_slot(extra: int = 0) -> int:
    """This pytest-xdist worker's port slot (gw0 → 0); `extra` picks a second slot for a second server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return index + extra * (embedded_s3.SLOT_COUNT // 2)  # second servers in the upper half of the slots


def _lists_buckets(server: SeaweedServer, url: str) -> bool:
    server.url = url
    try:
        server.client().list_buckets()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def seaweed():
    base = Path(tempfile.mkdtemp(prefix="s3console-weed-"))
    ids = embedded_s3.ensure_identities(base / "identities.json")
    server = SeaweedServer("", ids, None, base)
    try:
        # Ready means a signed ListBuckets with this server's own keys answers (the filer is up too).
        server.proc, server.url = embedded_s3.start_verified(
            base, lambda url: _lists_buckets(server, url), slot=xdist_slot()
        )
        yield server
    finally:
        if server.proc is not None:
            embedded_s3.stop(server.proc)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def s3client(seaweed):
    return seaweed.client()


@pytest.fixture
def endpoint(db, seaweed) -> Endpoint:
    ep = Endpoint(
        name="local",
        url=seaweed.url,
        addressing_style=Endpoint.Addressing.PATH,
        credential_source=Endpoint.CredentialSource.KEYS,
        access_key_id=seaweed.ids.access_key,
    )
    ep.set_secret_access_key(seaweed.ids.secret_key)
    ep.save()
    return ep


@pytest.fixture
def readonly_endpoint(db, seaweed) -> Endpoint:
    ep = Endpoint(
        name="local-readonly",
        url=seaweed.url,
        addressing_style=Endpoint.Addressing.PATH,
        credential_source=Endpoint.CredentialSource.KEYS,
        access_key_id=seaweed.ids.readonly_access_key,
    )
    ep.set_secret_access_key(seaweed.ids.readonly_secret_key)
    ep.save()
    return ep


@pytest.fixture
def make_bucket(s3client):
    """Create uniquely named buckets on SeaweedFS; remove them (and their objects) afterwards."""
    created: list[str] = []

    def make(prefix: str = "t", versioned: bool = False) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:20]}"
        s3client.create_bucket(Bucket=name)
        wait_until_known(s3client, name)
        if versioned:
            s3client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        created.append(name)
        return name

    yield make
    for name in created:
        empty_and_delete(s3client, name)


def wait_until_known(client, name: str, timeout: float = 10.0) -> None:
    """Until every S3 handler knows a bucket just created: right after CreateBucket, SeaweedFS answers
    PutBucketOwnershipControls with NoSuchBucket about once in 400 (its bucket registry lags behind)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.get_bucket_ownership_controls(Bucket=name)
            return
        except client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                return  # known (the server just keeps no ownership controls)
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def empty_and_delete(client, name: str) -> None:
    try:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            entries = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if entries:
                client.delete_objects(Bucket=name, Delete={"Objects": entries, "Quiet": True})
        client.delete_bucket(Bucket=name)
    except client.exceptions.NoSuchBucket:
        pass
    except Exception:  # noqa: S110 - cleanup of a test bucket must not hide the test's own result
        pass


def _user(django_user_model, username: str, role: str | None):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username + "-123456")
    if role:
        RoleAssignment.objects.create(user=user, role=role)
    return user


@pytest.fixture
def admin_user(db, django_user_model):
    return _user(django_user_model, "alice", Role.ADMIN)


@pytest.fixture
def operator_user(db, django_user_model):
    return _user(django_user_model, "oscar", Role.OPERATOR)


@pytest.fixture
def viewer_user(db, django_user_model):
    return _user(django_user_model, "victor", Role.VIEWER)


@pytest.fixture
def nobody_user(db, django_user_model):
    return _user(django_user_model, "nora", None)


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    return _client_for(client, admin_user)


@pytest.fixture
def operator_client(client, operator_user):
    return _client_for(client, operator_user)


@pytest.fixture
def viewer_client(client, viewer_user):
    return _client_for(client, viewer_user)


@pytest.fixture(autouse=True)
def _no_kept_pages():
    """Each test starts with no page output kept (console/fragments.py): its database is new, its counters too."""
    from django.core.cache import caches

    caches["pages"].clear()


@pytest.fixture(autouse=True)
def _bucket_pages_fill_inline():
    """Each test starts with no endpoint remembered as too slow for the bucket page to wait for."""
    from buckets.views import sections

    sections._inline_missed.clear()


@pytest.fixture(autouse=True)
def _no_endpoint_state_of_earlier_tests():
    """The S3 layer knows endpoints by id (and address) for the life of a process; on SQLite a rolled-back
    test's ids are handed out again, so each test starts without the earlier tests' endpoint shares (calls
    still left running on a hung one), section readers and server names."""
    from buckets.s3 import budget, client
    from buckets.views import section_reads

    with budget._shares_lock:
        budget._shares.clear()
    with section_reads._readers_lock:
        section_reads._readers.clear()  # their threads end once idle
    client._servers.clear()


@pytest.fixture
def htmx_headers():
    return {"HTTP_HX_REQUEST": "true"}
