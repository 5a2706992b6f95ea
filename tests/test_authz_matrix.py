"""The authorization matrix: every URL of the project × every kind of user × GET/POST.

Walks the URL resolver; a URL pattern without a row in EXPECTED fails ``test_every_url_has_a_row``.
Each row is checked by its own test (``test_matrix[<url name>]``), with fresh users and database.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from buckets.models import Bucket, Job
from console import audit
from console.models import AuditEvent, DirectoryGroupMapping, Endpoint, Role, RoleAssignment
from tests.conftest import empty_and_delete

# Columns of every expectation string, in this order (requests are made in this order too,
# so a user allowed to change something comes after those who are refused):
ROLES = ("anon", "other_ep", "other_bucket", "viewer", "operator", "admin")
#   anon          not logged in
#   other_ep      admin on ANOTHER endpoint only
#   other_bucket  admin on ANOTHER bucket of the same endpoint only
#   viewer / operator / admin   that role on everything (global assignment)

# ======================================================================================
# HOW TO ADD A ROW
#   "url_name": Row(<args>, get="<6 tokens>", post="<6 tokens>"[, data=<fn>]),
#   <args> builds the URL from the context `c` (see Ctx below): use one of the helpers
#   NONE, ENDPOINT, ENDPOINT_PK, BUCKET, OBJECT, VERSION, PREFIX, JOB, USER, GROUP,
#   ASSIGNMENT, or a lambda c: ({url kwargs}, {query}).
#   Tokens, one per column of ROLES (anon other_ep other_bucket viewer operator admin):
#     login  302 to the login page (anon must always get this, except PUBLIC pages)
#     ok     allowed: 200, 201, 204, 302/303 (not to login) or 422 (the form refused
#            the empty/missing POST data) — i.e. NOT 403/404/405
#     200 302 400 403 404 405 ...  exactly that status
#   POSTs send `data(c)` (default: nothing; `json=True` sends it as a JSON body), so allowed
#   POSTs mostly answer with a form error (422/200) or a redirect. After an allowed POST the
#   test object is put again, in case the POST deleted or changed it.
#   Presets below cover the common rows.
# ======================================================================================

ADMIN_PAGE = "login 403 403 403 403 ok"  # console administration: admin on everything
ANY_USER = "login ok ok ok ok ok"  # every logged-in user (the page filters what it shows)
NOT_ALLOWED = "login 405 405 405 405 405"  # method not allowed (after login)
BUCKET_VIEWER = "login 404 404 ok ok ok"
BUCKET_OPERATOR = "login 404 404 403 ok ok"
BUCKET_ADMIN = "login 404 404 403 403 ok"
ENDPOINT_VIEWER = "login 404 403 ok ok ok"  # other_bucket sees the endpoint, but holds no role on it
# JSON upload steps without a valid signed grant: outsiders 404 (scope first), then 400 for the missing grant,
# refused before any S3 call.
NO_GRANT = "login 404 404 400 400 400"


@dataclass
class Ctx:
    ep: Endpoint
    other_ep: Endpoint
    bucket: str
    key: str
    version_id: str
    prefix: str
    job: Job
    event: AuditEvent
    target: object  # a user to administer
    group: Group
    assignment: RoleAssignment
    s3: object  # raw boto3 client

    def put_object(self) -> None:
        """(Re)create the test object: a row allowed to delete it must not spoil the next request."""
        self.version_id = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=b"matrix\n")["VersionId"]


Args = Callable[[Ctx], tuple[dict, dict]]


def NONE(c):
    return {}, {}


def ENDPOINT(c):
    return {"endpoint_pk": c.ep.pk}, {}


def ENDPOINT_PK(c):
    return {"pk": c.ep.pk}, {}


def BUCKET(c):
    return {"endpoint_pk": c.ep.pk, "bucket": c.bucket}, {}


def OBJECT(c):
    return {"endpoint_pk": c.ep.pk, "bucket": c.bucket}, {"key": c.key}


def VERSION(c):
    return {"endpoint_pk": c.ep.pk, "bucket": c.bucket}, {"key": c.key, "version_id": c.version_id}


def PREFIX(c):
    return {"endpoint_pk": c.ep.pk, "bucket": c.bucket}, {"prefix": c.prefix}


def SETTING(c):
    return {"endpoint_pk": c.ep.pk, "bucket": c.bucket, "slug": "cors"}, {}


def OBJECT_SECTION(slug: str):
    """An inline section of the object page (one URL for every section, the slug in the path)."""
    return lambda c: ({"endpoint_pk": c.ep.pk, "bucket": c.bucket, "slug": slug}, {"key": c.key})


def EVENT(c):
    return {"pk": c.event.pk}, {}


def KEY(c):
    """POST body naming the object (object views read the key from the body on POST)."""
    return {"key": c.key}


def KEY_VERSION(c):
    return {"key": c.key, "version_id": c.version_id}


def SELECTION(c):
    """POST body of the object list's selection buttons: one key."""
    return {"key": [c.key], "prefix": c.prefix}


def BULK_TAG(c):
    """POST body of a bulk action: tag the test folder."""
    return {"source": "prefix", "prefix": c.prefix, "action": "tag", "tags": "matrix=1", "rate": "0"}


def JOB(c):
    return {"pk": c.job.pk}, {}


def USER(c):
    return {"pk": c.target.pk}, {}


def GROUP(c):
    return {"pk": c.group.pk}, {}


def ASSIGNMENT(c):
    return {"pk": c.assignment.pk}, {}


def RULE(c):
    from watch.models import AlertRule

    return {"pk": AlertRule.objects.get_or_create(name="matrix-rule")[0].pk}, {}


def DESTINATION(c):
    return {"pk": _matrix_destination().pk}, {}


def DELIVERY(c):
    from watch.models import Alert, Delivery

    dest = _matrix_destination()
    alert = Alert.objects.create(rule_name="matrix", event_id=c.event.pk, title="matrix alert")
    return {"pk": Delivery.objects.create(alert=alert, destination=dest, status="dead").pk}, {}


def _matrix_destination():
    from watch.models import Destination

    return Destination.objects.get_or_create(name="matrix-mail", kind="email", recipients="m@example.com")[0]


def MAPPING(c):
    mapping, _ = DirectoryGroupMapping.objects.get_or_create(source="oidc", directory_group="matrix", group=c.group)
    return {"pk": mapping.pk}, {}


@dataclass
class Row:
    args: Args
    get: str
    post: str
    data: Callable[[Ctx], dict] | None = None
    json: bool = False  # send data as a JSON body (the upload script's endpoints)


PUBLIC = {"login", "set_password_link", "oidc_start", "oidc_callback", "healthz", "metrics"}  # open to anonymous users

EXPECTED: dict[str, Row] = {
    # --- console (console/urls.py) ---
    "dashboard": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),
    "login": Row(NONE, get="200 302 302 302 302 302", post="200 302 302 302 302 302"),
    "logout": Row(NONE, get=NOT_ALLOWED, post="login 302 302 302 302 302"),
    "endpoint_list": Row(NONE, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "endpoint_create": Row(NONE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "endpoint_edit": Row(ENDPOINT_PK, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "endpoint_delete": Row(ENDPOINT_PK, get=ADMIN_PAGE, post=ADMIN_PAGE),  # admin's POST deletes: last request
    "endpoint_check": Row(ENDPOINT_PK, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "audit_list": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),
    # --- team (console/user_views.py, console/otp_views.py) ---
    "user_list": Row(NONE, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "user_create": Row(NONE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "user_detail": Row(USER, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "user_deactivate": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_reactivate": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_set_password": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_password_link": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_role_assign": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_otp_require": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "user_otp_reset": Row(USER, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "role_remove": Row(ASSIGNMENT, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "group_create": Row(NONE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "group_detail": Row(GROUP, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "group_delete": Row(GROUP, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "group_member_add": Row(GROUP, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "group_member_remove": Row(
        lambda c: ({"pk": c.group.pk, "user_pk": c.target.pk}, {}), get=NOT_ALLOWED, post=ADMIN_PAGE
    ),
    "group_role_assign": Row(GROUP, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "role_scope_preview": Row(
        lambda c: ({}, {"scope": "prefix", "endpoint": c.ep.pk, "bucket": c.bucket, "prefix": "matrix/"}),
        get=ADMIN_PAGE,
        post=NOT_ALLOWED,
    ),
    "bucket_access": Row(BUCKET, get=BUCKET_ADMIN, post=NOT_ALLOWED),
    # --- single sign-on (console/auth_views.py, console/directory_views.py); OpenID is not configured here ---
    "oidc_start": Row(NONE, get="404 404 404 404 404 404", post="405 405 405 405 405 405"),
    "oidc_callback": Row(NONE, get="404 404 404 404 404 404", post="405 405 405 405 405 405"),
    "user_lock_lift": Row(NONE, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "directory_mappings": Row(NONE, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "directory_mapping_create": Row(NONE, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "directory_mapping_remove": Row(MAPPING, get=NOT_ALLOWED, post=ADMIN_PAGE),
    # valid link: GET redirects to the token-less URL (Django hides the token from Referer)
    "set_password_link": Row(
        lambda c: (
            {
                "uidb64": urlsafe_base64_encode(force_bytes(c.target.pk)),
                "token": default_token_generator.make_token(c.target),
            },
            {},
        ),
        get="302 302 302 302 302 302",
        post="302 302 302 302 302 302",
    ),
    # operations (console/health.py, console/metrics.py): the same answer for everyone, login or not;
    # /metrics is off (404) until METRICS_TOKEN or METRICS_ALLOWED_NETWORKS is set (test_health_metrics.py)
    "healthz": Row(NONE, get="200 200 200 200 200 200", post="405 405 405 405 405 405"),
    "metrics": Row(NONE, get="404 404 404 404 404 404", post="405 405 405 405 405 405"),
    "otp_setup": Row(NONE, get=ANY_USER, post=ANY_USER),
    "otp_verify": Row(NONE, get=ANY_USER, post=ANY_USER),  # without a pending 2FA step: redirect onwards
    "otp_disable": Row(NONE, get=NOT_ALLOWED, post=ANY_USER),
    # --- buckets (buckets/urls.py) ---
    "bucket_list": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),
    "bucket_sync": Row(ENDPOINT, get=NOT_ALLOWED, post=ENDPOINT_VIEWER),
    "bucket_sync_all": Row(NONE, get=NOT_ALLOWED, post="login ok 403 ok ok ok"),  # every endpoint with a role
    "job_detail": Row(JOB, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    # helper B: empty / delete / count (buckets/empty_views.py)
    "bucket_empty": Row(BUCKET, get=BUCKET_ADMIN, post=BUCKET_ADMIN),
    "bucket_delete": Row(BUCKET, get=BUCKET_ADMIN, post=BUCKET_ADMIN),
    "bucket_count": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR),
    # helper F: audit review (console/audit_views.py) — lists filter by scope, details 404 outside it
    "audit_detail": Row(EVENT, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "audit_history": Row(
        lambda c: ({}, {"endpoint": c.ep.pk, "bucket": c.bucket, "key": c.key}), get=BUCKET_VIEWER, post=NOT_ALLOWED
    ),
    "audit_export_csv": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),
    "audit_export_jsonl": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),
    # helper A: bucket page, create, settings (buckets/bucket_views.py, buckets/settings_views.py)
    "bucket_create": Row(
        NONE,
        get="login ok 403 403 403 ok",  # an admin of some endpoint may create buckets there
        post="login 404 403 403 403 ok",
        data=lambda c: {"endpoint": c.ep.pk},
    ),
    "bucket_name_suggest": Row(NONE, get=ANY_USER, post=NOT_ALLOWED),  # without htmx: redirect to the form
    "bucket_detail": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "bucket_setting": Row(SETTING, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "bucket_settings_all": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "bucket_setting_edit": Row(SETTING, get=BUCKET_ADMIN, post=NOT_ALLOWED),
    "bucket_setting_save": Row(SETTING, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "bucket_setting_remove": Row(SETTING, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "bucket_setting_recheck": Row(SETTING, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "bucket_policy_editor": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "bucket_policy_review": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "lifecycle_rule": Row(BUCKET, get=BUCKET_ADMIN, post=NOT_ALLOWED),
    "lifecycle_rule_save": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "lifecycle_rule_delete": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    # helper C: objects (buckets/object_views.py)
    "object_list": Row(PREFIX, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "object_detail": Row(OBJECT, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "object_download": Row(OBJECT, get=BUCKET_VIEWER, post=NOT_ALLOWED),  # 302 to a presigned URL
    "object_share": Row(OBJECT, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY),
    # every section of the object page (buckets/sections.py): viewer sees, operator edits
    **{
        f"object_section[{slug}]": Row(OBJECT_SECTION(slug), get=BUCKET_VIEWER, post=NOT_ALLOWED)
        for slug in ("properties", "metadata", "tags", "acl", "storage")
    },
    **{
        f"object_section_edit[{slug}]": Row(OBJECT_SECTION(slug), get=BUCKET_OPERATOR, post=NOT_ALLOWED)
        for slug in ("metadata", "tags", "acl", "storage")
    },
    **{
        f"object_section_save[{slug}]": Row(OBJECT_SECTION(slug), get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY)
        for slug in ("metadata", "tags", "acl", "storage")
    },
    "object_section_edit[properties]": Row(
        OBJECT_SECTION("properties"), get="login 404 404 404 404 404", post=NOT_ALLOWED
    ),
    "object_section_remove[tags]": Row(OBJECT_SECTION("tags"), get=NOT_ALLOWED, post="login 404 404 404 404 404"),
    "object_section_recheck[acl]": Row(OBJECT_SECTION("acl"), get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY),
    "object_versions": Row(OBJECT, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "object_version_restore": Row(VERSION, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY_VERSION),
    "object_version_delete": Row(VERSION, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR, data=KEY_VERSION),
    "object_undelete": Row(OBJECT, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY_VERSION),
    "multipart_list": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "multipart_abort": Row(OBJECT, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=KEY),
    "multipart_abort_all": Row(BUCKET, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    # helper D: uploads (buckets/upload_views.py); the JSON steps after the start need a signed grant
    "upload_panel": Row(PREFIX, get=BUCKET_VIEWER, post=NOT_ALLOWED),  # viewers see it without the upload form
    "upload_cors_allow": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "upload_start": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=lambda c: {"key": c.key}, json=True),
    "upload_part_urls": Row(BUCKET, get=NOT_ALLOWED, post=NO_GRANT),
    "upload_part": Row(BUCKET, get=NOT_ALLOWED, post=NO_GRANT),
    "upload_put": Row(BUCKET, get=NOT_ALLOWED, post=NO_GRANT),
    "upload_complete": Row(BUCKET, get=NOT_ALLOWED, post=NO_GRANT),
    "upload_abort": Row(BUCKET, get=NOT_ALLOWED, post=NO_GRANT),
    # helper E: copy / move / rename / delete (buckets/transfer_views.py); copying needs viewer on the source
    "object_copy": Row(OBJECT, get=BUCKET_VIEWER, post=BUCKET_VIEWER),
    "object_move": Row(OBJECT, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    "object_rename": Row(OBJECT, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    "object_delete": Row(OBJECT, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    "selection_copy": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_VIEWER, data=SELECTION),
    "selection_move": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=SELECTION),
    "selection_delete_review": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=SELECTION),
    "selection_copy_run": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_VIEWER, data=SELECTION),
    "selection_move_run": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=SELECTION),
    "selection_delete": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=SELECTION),
    "prefix_copy": Row(PREFIX, get=BUCKET_VIEWER, post=BUCKET_VIEWER),
    "prefix_move": Row(PREFIX, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    "prefix_rename": Row(PREFIX, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    "prefix_delete": Row(PREFIX, get=BUCKET_OPERATOR, post=BUCKET_OPERATOR),
    # drift and alerts (watch/urls.py): alerting is console administration; the bucket's drift card is the bucket's
    "alerts_overview": Row(NONE, get=ADMIN_PAGE, post=NOT_ALLOWED),
    "alert_rule_create": Row(NONE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "alert_rule_edit": Row(RULE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "alert_rule_delete": Row(RULE, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "alert_destination_create": Row(NONE, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "alert_destination_edit": Row(DESTINATION, get=ADMIN_PAGE, post=ADMIN_PAGE),
    "alert_destination_delete": Row(DESTINATION, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "alert_destination_test": Row(DESTINATION, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "alert_delivery_retry": Row(DELIVERY, get=NOT_ALLOWED, post=ADMIN_PAGE),
    "bucket_drift": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "bucket_drift_check": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR),
    # bulk actions (buckets/views/bulk.py): the form for anyone who sees the folder, changes for operators
    "bulk_new": Row(PREFIX, get=BUCKET_VIEWER, post=BUCKET_VIEWER, data=SELECTION),
    "bulk_review": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=BULK_TAG),
    "bulk_start": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=BULK_TAG),
    "job_pause": Row(JOB, get=NOT_ALLOWED, post=BUCKET_OPERATOR),  # not the starter: operator on its bucket
    "job_resume": Row(JOB, get=NOT_ALLOWED, post=BUCKET_OPERATOR),
    "job_cancel": Row(JOB, get=NOT_ALLOWED, post=BUCKET_OPERATOR),
    "job_report": Row(JOB, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "folder_create": Row(
        BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=lambda c: {"prefix": c.prefix, "name": "made"}
    ),
    # the bucket index, search and analytics (catalog/views.py)
    "catalog_search": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "catalog_search[query]": Row(lambda c: BUCKET(c)[:1] + ({"q": "matrix"},), get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "catalog_analytics": Row(PREFIX, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "catalog_uploads_abort_old": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_OPERATOR, data=lambda c: {"days": "3650"}),
    "catalog_index": Row(BUCKET, get=BUCKET_VIEWER, post=NOT_ALLOWED),
    "catalog_index_enable": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "catalog_index_crawl": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "catalog_index_disable": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "catalog_inventory_load": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "catalog_inventory_setup": Row(BUCKET, get=NOT_ALLOWED, post=BUCKET_ADMIN),
    "catalog_endpoint": Row(ENDPOINT, get=ENDPOINT_VIEWER, post=NOT_ALLOWED),
    "catalog_endpoint_enable": Row(ENDPOINT, get=NOT_ALLOWED, post="login 404 403 403 403 ok"),
}


# --- the walk -------------------------------------------------------------------------------


def _all_url_names(resolver=None, namespace: str = "") -> list[str | None]:
    names: list[str | None] = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = str(entry.pattern)
        if route.startswith(("static/", "^static/", "__debug__", "^__debug__")):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names += _all_url_names(entry, inner)
        elif isinstance(entry, URLPattern):
            if getattr(entry.callback, "__module__", "").startswith("django.views.static"):
                continue
            names.append(f"{namespace}{entry.name}" if entry.name else None)
    return names


def test_every_url_has_a_row():
    names = _all_url_names()
    assert None not in names, "every URL pattern needs a name (the matrix refers to them by name)"
    covered = {n.split("[")[0] for n in EXPECTED}  # "name[variant]": the same URL with other arguments
    missing = [n for n in names if n not in covered]
    assert not missing, "\n".join(f"add a row for {n} in EXPECTED (tests/test_authz_matrix.py)" for n in missing)
    stale = covered - set(names)
    assert not stale, f"rows for URLs that no longer exist: {sorted(stale)}"


def test_anonymous_always_goes_to_login():
    for name, row in EXPECTED.items():
        for method, spec in (("GET", row.get), ("POST", row.post)):
            anon = spec.split()[0]
            assert len(spec.split()) == len(ROLES), f"{name} {method}: needs {len(ROLES)} tokens"
            if name not in PUBLIC:
                assert anon == "login", f"{name} {method}: anonymous users must be sent to the login page"


# --- the matrix -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_bucket(seaweed):
    client = seaweed.client()
    name = f"matrix-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    empty_and_delete(client, name)


@pytest.fixture
def ctx(endpoint, matrix_bucket, s3client, django_user_model) -> Ctx:
    other_ep = Endpoint.objects.create(name="elsewhere", url="http://127.0.0.1:9", region="us-east-1")
    Bucket.objects.create(endpoint=endpoint, name=matrix_bucket)
    target = django_user_model.objects.create_user("target", password="pw-target-123456")
    group = Group.objects.create(name="matrix-group")
    group.user_set.add(target)
    assignment = RoleAssignment.objects.create(user=target, role=Role.VIEWER, endpoint=endpoint, bucket=matrix_bucket)
    job = Job.objects.create(kind="bucket.count", title="count", endpoint=endpoint, bucket=matrix_bucket)
    event = audit.record(
        audit.Actor(None, "matrix"), "object.put", outcome="ok", endpoint=endpoint, bucket=matrix_bucket, key="matrix/x"
    )
    c = Ctx(
        ep=endpoint,
        other_ep=other_ep,
        bucket=matrix_bucket,
        key="matrix/a file <1>.txt",
        version_id="",
        prefix="matrix/",
        job=job,
        event=event,
        target=target,
        group=group,
        assignment=assignment,
        s3=s3client,
    )
    c.put_object()
    return c


def _users(django_user_model, c: Ctx) -> dict:
    users = {"anon": None}
    grants = {
        "other_ep": dict(endpoint=c.other_ep),
        "other_bucket": dict(endpoint=c.ep, bucket="matrix-some-other-bucket"),
        "viewer": dict(role=Role.VIEWER),
        "operator": dict(role=Role.OPERATOR),
        "admin": dict(role=Role.ADMIN),
    }
    for name, grant in grants.items():
        user = django_user_model.objects.create_user(f"m-{name}", password="pw-matrix-123456")
        RoleAssignment.objects.create(user=user, **{"role": Role.ADMIN, **grant})
        users[name] = user
    return users


def _matches(token: str, response) -> bool:
    status = response.status_code
    location = response.get("Location", "")
    if token == "login":
        if response.get("Content-Type", "").startswith("application/json"):  # a JSON request: told to sign in
            return status == 401 and "sign in" in json.loads(response.content)["error"]
        return status == 302 and location.startswith(reverse("login"))
    if token == "ok":
        redirect_ok = status in (302, 303) and not location.startswith(reverse("login"))
        return status in (200, 201, 204, 422) or redirect_ok
    return status == int(token)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_matrix(name, ctx, client, django_user_model):
    row = EXPECTED[name]
    users = _users(django_user_model, ctx)
    failures = []
    for method, spec in (("get", row.get), ("post", row.post)):
        for role, token in zip(ROLES, spec.split(), strict=True):
            kwargs, query = row.args(ctx)
            url = reverse(name.split("[")[0], kwargs=kwargs) + (f"?{urlencode(query)}" if query else "")
            client.logout()
            if users[role] is not None:
                client.force_login(users[role])
            data = row.data(ctx) if row.data else {}
            if method == "get":
                response = client.get(url)
            elif row.json:
                response = client.post(url, json.dumps(data), content_type="application/json")
            else:
                response = client.post(url, data)
            if not _matches(token, response):
                got = f"{response.status_code} {response.get('Location', '')}".strip()
                failures.append(f"{method.upper()} {role}: expected {token}, got {got}")
            if method == "post" and response.status_code < 400:
                ctx.put_object()  # the POST may have deleted or changed it
    assert not failures, f"{name}:\n  " + "\n  ".join(failures)


# --- audit events by kind -----------------------------------------------------------------------
# Who sees which event on the audit page, its detail, the exports and the dashboard. Columns: the
# matrix's kinds of user, then a viewer of bucket "b" and a viewer of prefix "team-a/" in it.
EVENT_COLUMNS = ("other_ep", "other_bucket", "viewer", "operator", "admin", "bucket_viewer", "prefix_viewer")
EVENTS_BY_KIND = {
    # name: (action, where, "<one token per column: Y seen, - not>")
    "bucket": ("bucket.create", {"bucket": "b"}, "- - Y Y Y Y -"),
    "object in the prefix": ("object.tags.put", {"bucket": "b", "key": "team-a/x"}, "- - Y Y Y Y Y"),
    "object, prefix in other case": ("object.tags.put", {"bucket": "b", "key": "TEAM-A/x"}, "- - Y Y Y Y -"),
    "object in another bucket": ("object.delete", {"bucket": "c", "key": "team-a/x"}, "- Y Y Y Y - -"),
    "another endpoint": ("bucket.create", {"endpoint": "other", "bucket": "b"}, "Y - Y Y Y - -"),
    "role given on the bucket": ("role.assign", {"bucket": "b", "key": "team-a/"}, "- - - - Y - -"),
    "role removed": ("role.remove", {"bucket": "b"}, "- - - - Y - -"),
    "user created": ("user.create", {}, "- - - - Y - -"),
    "user deactivated": ("user.deactivate", {}, "- - - - Y - -"),
    "group member": ("group.member.add", {}, "- - - - Y - -"),
    "endpoint edited": ("endpoint.edit", {"bucket": ""}, "- - - - Y - -"),
    "directory mapping": ("directory.mapping.add", {}, "- - - - Y - -"),
    "sign-in": ("auth.login", {}, "- - - - Y - -"),
    "failed sign-in": ("auth.login.failed", {}, "- - - - Y - -"),
    "lock lifted": ("auth.lockout.lift", {}, "- - - - Y - -"),
    "trail archived": ("audit.archive", {}, "- - - - Y - -"),
}


@pytest.fixture
def events_by_kind(db, django_user_model):
    ep = Endpoint.objects.create(name="audit-ep", url="http://127.0.0.1:9", region="us-east-1")
    other = Endpoint.objects.create(name="audit-other", url="http://127.0.0.1:9", region="us-east-1")
    grants = {
        "other_ep": dict(role=Role.ADMIN, endpoint=other),
        "other_bucket": dict(role=Role.ADMIN, endpoint=ep, bucket="c"),
        "viewer": dict(role=Role.VIEWER),
        "operator": dict(role=Role.OPERATOR),
        "admin": dict(role=Role.ADMIN),
        "bucket_viewer": dict(role=Role.VIEWER, endpoint=ep, bucket="b"),
        "prefix_viewer": dict(role=Role.VIEWER, endpoint=ep, bucket="b", prefix="team-a/"),
    }
    users = {}
    for name, grant in grants.items():
        users[name] = django_user_model.objects.create_user(f"ev-{name}", password="pw-matrix-123456")
        RoleAssignment.objects.create(user=users[name], **grant)
    someone = audit.Actor(None, "someone", ip="192.0.2.77", role="admin")
    events = {}
    for kind, (action, where, _) in EVENTS_BY_KIND.items():
        place = {**where, "endpoint": other if where.get("endpoint") == "other" else ep}
        if action.startswith(("user.", "group.", "directory.", "auth.", "audit.")):
            place = {}
        events[kind] = audit.record(someone, action, outcome="ok", params={"username": "x"}, **place)
    return users, events


def _expected(column: str) -> set[str]:
    i = EVENT_COLUMNS.index(column)
    return {kind for kind, (_, _, spec) in EVENTS_BY_KIND.items() if spec.split()[i] == "Y"}


@pytest.mark.parametrize("column", EVENT_COLUMNS)
def test_audit_events_by_kind(column, events_by_kind, client):
    users, events = events_by_kind
    client.force_login(users[column])
    expected = _expected(column)
    by_pk = {e.pk: kind for kind, e in events.items()}
    listed = {by_pk[e.pk] for e in client.get(reverse("audit_list")).context["events"] if e.pk in by_pk}
    exported = {
        by_pk[json.loads(line)["id"]]
        for line in b"".join(client.get(reverse("audit_export_jsonl")).streaming_content).decode().splitlines()
    }
    dashboard = client.get(reverse("dashboard")).content.decode()
    card = re.search(r"<h2>Recent activity</h2>(.*?)</section>", dashboard, re.S).group(1)
    recent = {by_pk[pk] for pk in map(int, re.findall(r'href="/audit/(\d+)/"', card)) if pk in by_pk}
    details = {k for k, e in events.items() if client.get(reverse("audit_detail", args=[e.pk])).status_code == 200}
    assert listed == expected, f"{column}: audit page"
    assert exported == expected, f"{column}: export"
    assert details == expected, f"{column}: details (404 for the others)"
    assert recent == expected & recent and len(recent) == min(10, len(expected)), f"{column}: dashboard"


@pytest.mark.parametrize("column", EVENT_COLUMNS)
def test_other_peoples_addresses_are_for_global_admins(column, events_by_kind, client):
    users, events = events_by_kind
    client.force_login(users[column])
    seen = column == "admin"
    page = client.get(reverse("audit_list")).content.decode()
    export = b"".join(client.get(reverse("audit_export_csv")).streaming_content).decode()
    assert ("192.0.2.77" in page) is seen and ("192.0.2.77" in export) is seen
    visible = [e for kind, e in events.items() if kind in _expected(column)]
    assert ("192.0.2.77" in client.get(reverse("audit_detail", args=[visible[0].pk])).content.decode()) is seen
    # Filtering by the address tells nothing either: only one's own events match it.
    found = client.get(reverse("audit_list"), {"ip": "192.0.2.77"}).context["events"]
    assert bool(found) is seen
