"""Endpoints: encrypted secrets, the form's validation, check connection."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from buckets import s3
from console.models import AuditEvent, Endpoint

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


def form_data(**overrides) -> dict:
    data = {
        "name": "minio-prod",
        "url": "https://minio.example.com:9000",
        "region": "us-east-1",
        "addressing_style": "path",
        "verify_tls": "on",
        "credential_source": "keys",
        "profile": "",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
    }
    data.update(overrides)
    return data


def test_secret_is_stored_encrypted_and_never_rendered(admin_client):
    response = admin_client.post(reverse("endpoint_create"), form_data())
    assert response.status_code == 302
    endpoint = Endpoint.objects.get(name="minio-prod")
    assert SECRET not in endpoint.secret_access_key_encrypted
    assert endpoint.get_secret_access_key() == SECRET
    pages = [
        reverse("endpoint_list"),
        reverse("endpoint_edit", args=[endpoint.pk]),
        reverse("endpoint_delete", args=[endpoint.pk]),
        reverse("dashboard"),
        reverse("bucket_list"),
        reverse("audit_list"),
    ]
    for url in pages:
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert SECRET not in page.content.decode(), url
    event = AuditEvent.objects.get(action="endpoint.create")
    assert event.outcome == "ok"
    assert SECRET not in str(event.params) + str(event.after) + str(event.before)


def test_edit_keeps_the_stored_secret_when_left_empty(admin_client):
    admin_client.post(reverse("endpoint_create"), form_data())
    endpoint = Endpoint.objects.get(name="minio-prod")
    response = admin_client.post(
        reverse("endpoint_edit", args=[endpoint.pk]), form_data(region="eu-west-1", secret_access_key="")
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.region == "eu-west-1"
    assert endpoint.get_secret_access_key() == SECRET
    event = AuditEvent.objects.get(action="endpoint.edit")
    assert event.before["region"] == "us-east-1" and event.after["region"] == "eu-west-1"


def test_keys_from_the_iam_csv_file(admin_client):
    csv_file = SimpleUploadedFile(
        "rootkey.csv", f"\ufeffAccess key ID,Secret access key\nAKIACSVEXAMPLE,{SECRET}\n".encode()
    )
    data = form_data(access_key_id="", secret_access_key="")
    data["keys_csv"] = csv_file
    response = admin_client.post(reverse("endpoint_create"), data)
    assert response.status_code == 302
    endpoint = Endpoint.objects.get(name="minio-prod")
    assert endpoint.access_key_id == "AKIACSVEXAMPLE"
    assert endpoint.get_secret_access_key() == SECRET


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"url": "not a url at all"}, "url", "Enter a valid URL."),
        ({"credential_source": "profile", "profile": "no-such-profile"}, "profile", "There is no profile named"),
        ({"name": "local"}, "name", "already exists"),
        ({"access_key_id": ""}, "access_key_id", "Enter the access key id"),
        ({"secret_access_key": ""}, "secret_access_key", "Enter the secret access key"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(admin_client, endpoint, overrides, field, message):
    data = form_data(**overrides)
    if field == "profile":
        data.update(access_key_id="", secret_access_key="")
    before = Endpoint.objects.count()
    response = admin_client.post(reverse("endpoint_create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message.split("'")[0] in response.content.decode().replace("&#x27;", "'")
    assert Endpoint.objects.count() == before
    assert not AuditEvent.objects.filter(action="endpoint.create").exists()


def test_bad_csv_file_is_refused(admin_client):
    data = form_data(access_key_id="", secret_access_key="")
    data["keys_csv"] = SimpleUploadedFile("x.csv", b"name,value\na,b\n")
    response = admin_client.post(reverse("endpoint_create"), data)
    assert response.status_code == 200
    assert "not an AWS access-keys CSV" in response.content.decode()
    assert not Endpoint.objects.filter(name="minio-prod").exists()


def test_profiles_from_aws_config_are_listed_and_accepted(admin_client, tmp_path, monkeypatch):
    (tmp_path / "credentials").write_text("[team]\naws_access_key_id = AKIAX\naws_secret_access_key = abc\n")
    (tmp_path / "config").write_text("[profile ops]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    page = admin_client.get(reverse("endpoint_create")).content.decode()
    assert '<option value="team">' in page and '<option value="ops">' in page
    response = admin_client.post(
        reverse("endpoint_create"),
        form_data(credential_source="profile", profile="team", access_key_id="", secret_access_key=""),
    )
    assert response.status_code == 302
    endpoint = Endpoint.objects.get(name="minio-prod")
    assert endpoint.profile == "team" and not endpoint.has_secret


def test_check_connection_ok(admin_client, endpoint, make_bucket, htmx_headers):
    name = make_bucket("check")
    response = admin_client.post(reverse("endpoint_check", args=[endpoint.pk]), **htmx_headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert "OK" in html and name in html


def test_check_connection_with_a_wrong_secret(admin_client, seaweed, htmx_headers):
    endpoint = Endpoint(name="wrong", url=seaweed.url, addressing_style="path", credential_source="keys")
    endpoint.access_key_id = seaweed.ids.access_key
    endpoint.set_secret_access_key("not-the-secret")
    endpoint.save()
    response = admin_client.post(reverse("endpoint_check", args=[endpoint.pk]), **htmx_headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert "SignatureDoesNotMatch" in html
    assert "secret access key is wrong" in html
    assert "not-the-secret" not in html


def test_check_connection_with_a_stopped_server(admin_client, settings, htmx_headers):
    settings.S3_CONNECT_TIMEOUT = 1
    settings.S3_MAX_ATTEMPTS = 1
    endpoint = Endpoint(name="down", url="http://127.0.0.1:9", addressing_style="path", credential_source="keys")
    endpoint.access_key_id = "AKIADOWN"
    endpoint.set_secret_access_key("secret")
    endpoint.save()
    response = admin_client.post(reverse("endpoint_check", args=[endpoint.pk]), **htmx_headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be reached" in html
    assert "127.0.0.1:9" in html


def test_delete_endpoint_forgets_it_and_audits(admin_client, endpoint):
    response = admin_client.post(reverse("endpoint_delete", args=[endpoint.pk]))
    assert response.status_code == 302
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    event = AuditEvent.objects.get(action="endpoint.delete")
    assert event.before["name"] == "local" and event.outcome == "ok"


def test_s3_client_is_cached_per_endpoint_version(endpoint):
    first = s3.client_for(endpoint)
    assert s3.client_for(endpoint) is first
    endpoint.region = "eu-west-1"
    endpoint.save()
    assert s3.client_for(endpoint) is not first
