"""Creating a folder (a zero-byte "prefix/" marker) from the object list."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from buckets import s3
from buckets.forms.folders import FolderCreateForm
from buckets.services import objects as object_services
from buckets.views.common import actor, endpoint_or_404, s3_text, url_for
from console import access
from console.models import Role


@require_POST
def folder_create(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    prefix = request.POST.get("prefix", "")
    access.require_role(
        request, Role.VIEWER, action="folder.create", endpoint=endpoint, bucket=bucket, key=prefix, listing=True
    )
    form = FolderCreateForm(request.POST, endpoint=endpoint, bucket=bucket)
    back = url_for("object_list", endpoint, bucket, prefix=prefix if prefix.endswith("/") else "")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    folder = form.cleaned_data["folder"]
    role = access.require_role(
        request, Role.OPERATOR, action="folder.create", endpoint=endpoint, bucket=bucket, key=folder
    )
    try:
        kept = object_services.folder_create(
            actor=actor(request, role), endpoint=endpoint, bucket=bucket, prefix=folder
        )
    except s3.S3Error as exc:
        messages.error(request, f"Could not create the folder: {s3_text(exc)}")
        return redirect(back)
    if kept:
        messages.success(request, f"Folder “{folder}” created.")
        return redirect(url_for("object_list", endpoint, bucket, prefix=folder))
    messages.info(
        request,
        f"The endpoint accepted “{folder}” but does not keep empty folders: it shows once you upload into it.",
    )
    return redirect(url_for("object_list", endpoint, bucket, prefix=folder))
