"""The versions of one key: list, restore an older one, delete one permanently, undelete.

Object lock is explained, not reported as AccessDenied: a version under retention or legal hold says
until when and in which mode, and governance retention can be bypassed by an admin who asks to.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets import s3
from buckets.services import objects as object_services
from buckets.services import reads
from buckets.services.sections import Target
from buckets.views.browse import listing_of, seal_position, unseal_position
from buckets.views.common import actor, back_to, endpoint_or_404, key_param, s3_text, url_for
from buckets.views.objects import page_context
from console import access
from console.errors import NotFound
from console.models import Role


@require_GET
def object_versions(request, endpoint_pk: int, bucket: str):
    endpoint, key = endpoint_or_404(endpoint_pk), key_param(request)
    role = access.require_role(
        request, Role.VIEWER, action="object.versions", endpoint=endpoint, bucket=bucket, key=key
    )
    listing = listing_of("key-versions", endpoint, bucket, key)
    position = unseal_position(request.GET.get("token", ""), listing)
    page = reads.key_versions_page(endpoint=endpoint, bucket=bucket, key=key, **position)
    ctx = page_context(Target(endpoint, bucket, key=key), role, versions=page["versions"], paged=bool(position))
    if page["next"]:
        following = seal_position(page["next"], listing)
        ctx["next_url"] = url_for("object_versions", endpoint, bucket, key=key, token=following)
    return render(request, "buckets/objects/object_versions.html", ctx)


def _version_scope(request, endpoint_pk: int, bucket: str, action: str) -> tuple[Target, object]:
    endpoint, key = endpoint_or_404(endpoint_pk), key_param(request)
    version_id = (request.POST if request.method == "POST" else request.GET).get("version_id", "")
    if not version_id:
        raise NotFound("No version given.")
    role = access.require_role(request, Role.OPERATOR, action=action, endpoint=endpoint, bucket=bucket, key=key)
    return Target(endpoint, bucket, key=key, version_id=version_id), role


def _outcome(request, target: Target, work, text: str):
    """Run a version action (an audited service); back to where the user came from with the outcome."""
    try:
        work()
        messages.success(request, text)
    except s3.S3Error as exc:
        messages.error(request, exc.message if exc.code in {"ObjectLocked", "NotDeleted"} else s3_text(exc))
    return redirect(back_to(request, url_for("object_versions", target.endpoint, target.bucket, key=target.key)))


@require_POST
def object_version_restore(request, endpoint_pk: int, bucket: str):
    target, role = _version_scope(request, endpoint_pk, bucket, "object.version.restore")
    source = s3.head_object(endpoint=target.endpoint, bucket=bucket, key=target.key, version_id=target.version_id)
    if source is None:
        raise NotFound("That version does not exist (any more).")
    return _outcome(
        request, target,
        lambda: object_services.object_version_restore(actor=actor(request, role), target=target, source=source),
        "The version was restored: it is now the current version (a copy; the history is kept).",
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def object_version_delete(request, endpoint_pk: int, bucket: str):
    target, role = _version_scope(request, endpoint_pk, bucket, "object.version.delete")
    bypass = request.POST.get("bypass_governance") == "1"
    if bypass:  # bypassing governance retention is an admin's decision
        access.require_role(
            request, Role.ADMIN, action="object.version.delete", endpoint=target.endpoint, bucket=bucket, key=target.key
        )
    if request.method == "GET":
        version = s3.head_object(endpoint=target.endpoint, bucket=bucket, key=target.key, version_id=target.version_id)
        locked = object_services.lock_state(version)
        may_bypass = bool(locked and locked.bypassable) and role.can_admin
        ctx = page_context(target, role, locked=locked, may_bypass=may_bypass)
        return render(request, "buckets/objects/object_version_delete.html", ctx)

    def delete():
        object_services.object_version_delete(actor=actor(request, role), target=target, bypass_governance=bypass)

    return _outcome(request, target, delete, "The version was deleted permanently.")


@require_POST
def object_undelete(request, endpoint_pk: int, bucket: str):
    target, role = _version_scope(request, endpoint_pk, bucket, "object.undelete")
    return _outcome(
        request, target,
        lambda: object_services.object_undelete(actor=actor(request, role), target=target),
        "The object is back: its delete marker was removed.",
    )  # fmt: skip
