"""Fixtures for the bucket page tests (use with ``pytest_plugins = ["tests.bucket_settings_fixtures"]``)."""

from __future__ import annotations

import pytest
from django.test import Client

from buckets import s3
from console.models import Endpoint
from tests.bucket_helpers import login, record


@pytest.fixture
def bucket(endpoint, make_bucket) -> str:
    """A fresh SeaweedFS bucket with its record."""
    name = make_bucket("set")
    record(endpoint, name)
    return name


@pytest.fixture
def clients(admin_user, operator_user, viewer_user, nobody_user) -> dict[str, Client]:
    return {
        "admin": login(admin_user),
        "operator": login(operator_user),
        "viewer": login(viewer_user),
        "nobody": login(nobody_user),
    }


@pytest.fixture
def moto_endpoint(db):
    """An Endpoint on moto's in-process AWS with one bucket ("moto-bucket") and its record."""
    from moto import mock_aws

    with mock_aws():
        ep = Endpoint(name="moto", url="", region="us-east-1", credential_source=Endpoint.CredentialSource.KEYS)
        ep.access_key_id = "testing"
        ep.set_secret_access_key("testing")
        ep.save()
        s3.forget_client(ep)
        s3.client_for(ep).create_bucket(Bucket="moto-bucket")
        record(ep, "moto-bucket")
        yield ep
        s3.forget_client(ep)
