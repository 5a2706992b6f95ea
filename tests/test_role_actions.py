"""Pages show only the actions the user's role allows (the views refuse the rest: tests/test_authz_matrix.py).

A viewer who can write nowhere sees no Copy/Move/Rename/Delete/Abort/Restore/Undelete/Edit on the object
list, the object page, the versions, the uploads in progress and the bucket page; an operator sees the
object actions but not the bucket's administration; a viewer who may write in another bucket may copy.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from buckets.models import Bucket
from console.models import Role, RoleAssignment
from tests.objects_fixtures import url

OBJECT_WRITES = [
    "selection_move", "selection_delete_review", "prefix_move", "prefix_rename", "prefix_delete",
    "object_move", "object_rename", "object_delete", "object_undelete", "object_version_restore",
    "object_version_delete", "multipart_abort", "multipart_abort_all",
]  # fmt: skip
COPIES = ["selection_copy", "prefix_copy", "object_copy"]
BUCKET_ADMIN = ["bucket_empty", "bucket_delete"]


def _paths(endpoint, bucket, names) -> dict[str, str]:
    return {name: reverse(name, args=[endpoint.pk, bucket]) for name in names}


@pytest.fixture
def pages(endpoint, make_bucket, s3client):
    bucket = make_bucket("acts", versioned=True)
    Bucket.objects.create(endpoint=endpoint, name=bucket)
    s3client.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"one")
    s3client.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"two")
    s3client.delete_object(Bucket=bucket, Key="docs/gone.txt")
    s3client.create_multipart_upload(Bucket=bucket, Key="docs/big.bin")

    def fetch(client) -> str:
        urls = [
            url("object_list", endpoint, bucket, prefix="docs/"),
            url("object_list", endpoint, bucket, prefix="docs/", versions="1"),
            url("object_detail", endpoint, bucket, key="docs/a.txt"),
            url("object_versions", endpoint, bucket, key="docs/a.txt"),
            url("multipart_list", endpoint, bucket),
            url("bucket_detail", endpoint, bucket),
        ]
        bodies = []
        sections = url("bucket_settings_all", endpoint, bucket)  # the bucket page's sections, read by htmx
        for u, headers in [*((u, {}) for u in urls), (sections, {"HTTP_HX_REQUEST": "true"})]:
            response = client.get(u, **headers)
            assert response.status_code == 200, u
            bodies.append(response.content.decode())
        return "\n".join(bodies)

    return endpoint, bucket, fetch


def _shown(page: str, paths: dict[str, str]) -> set[str]:
    return {name for name, path in paths.items() if re.search(re.escape(path) + r'["?]', page)}


def _section_edits(page: str) -> list[str]:
    return re.findall(r'hx-get="[^"]*/edit/[^"]*"', page)


def test_a_viewer_sees_no_action_they_cannot_use(pages, viewer_client):
    endpoint, bucket, fetch = pages
    page = fetch(viewer_client)
    assert _shown(page, _paths(endpoint, bucket, OBJECT_WRITES + COPIES + BUCKET_ADMIN)) == set()
    assert _section_edits(page) == []
    assert "Copy…" not in page and "Move…" not in page and "Delete…" not in page and ">Abort" not in page
    assert 'name="key"' not in page or "data-needs-selection" not in page  # no selection with nothing to do


def test_a_viewer_who_writes_elsewhere_may_copy_from_here(pages, client, django_user_model):
    endpoint, bucket, fetch = pages
    user = django_user_model.objects.create_user("vic", password="pw-vic-123456")
    RoleAssignment.objects.create(user=user, role=Role.VIEWER)
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket="elsewhere")
    client.force_login(user)
    page = fetch(client)
    assert _shown(page, _paths(endpoint, bucket, COPIES)) == set(COPIES)
    assert _shown(page, _paths(endpoint, bucket, OBJECT_WRITES + BUCKET_ADMIN)) == set()


def test_an_operator_sees_object_actions_not_bucket_administration(pages, operator_client):
    endpoint, bucket, fetch = pages
    page = fetch(operator_client)
    assert _shown(page, _paths(endpoint, bucket, OBJECT_WRITES + COPIES)) == set(OBJECT_WRITES + COPIES)
    assert _shown(page, _paths(endpoint, bucket, BUCKET_ADMIN)) == set()


def test_an_admin_sees_everything(pages, admin_client):
    endpoint, bucket, fetch = pages
    page = fetch(admin_client)
    assert _shown(page, _paths(endpoint, bucket, OBJECT_WRITES + COPIES + BUCKET_ADMIN)) == set(
        OBJECT_WRITES + COPIES + BUCKET_ADMIN
    )
    assert _section_edits(page)


def test_folder_rows_and_the_bucket_settings_link_follow_the_role(pages, viewer_client, client, django_user_model):
    endpoint, bucket, _ = pages
    root = url("object_list", endpoint, bucket)
    bulk, settings = (
        reverse("bulk_new", args=[endpoint.pk, bucket]),
        reverse("bucket_detail", args=[endpoint.pk, bucket]),
    )
    # A viewer who writes nowhere: the docs/ folder row has no menu (every action of it writes somewhere).
    page = viewer_client.get(root).content.decode()
    assert '<tr class="folder">' in page and "Actions for the folder" not in page and bulk not in page
    assert f'href="{settings}"' in page, "a role on the bucket: its settings are there to read"
    # A viewer of one prefix: the way down to it, without a link to settings they cannot open.
    user = django_user_model.objects.create_user("pia", password="pw-pia-123456")
    RoleAssignment.objects.create(user=user, role=Role.OPERATOR, endpoint=endpoint, bucket=bucket, prefix="docs/")
    client.force_login(user)
    page = client.get(root).content.decode()
    assert "Actions for the folder docs/" in page, "an operator in docs/ may copy it or act on it in bulk"
    assert f'href="{settings}"' not in page
    assert client.get(settings).status_code == 302
