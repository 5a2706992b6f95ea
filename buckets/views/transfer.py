"""Copy, move, rename and delete of objects, selections and folders (prefixes).

One object runs inline; a folder, or a selection of more than ``transfer.INLINE_LIMIT`` keys,
runs as a background job (the user lands on the job page). Copying needs viewer on the source
and operator on the destination; moving and deleting need operator on the source too. The work
is in ``buckets.services.transfer``; these views check access, validate the form and report.
"""

from __future__ import annotations

import urllib.parse

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from buckets import s3
from buckets.forms.transfer import (
    ConfirmPrefixForm,
    ObjectTransferForm,
    PrefixRenameForm,
    PrefixTransferForm,
    RenameForm,
    SelectionForm,
    SelectionTransferForm,
    selected_keys,
)
from buckets.models import Bucket
from buckets.services import prefixes, reads, transfer
from console import access, audit
from console.errors import NotFound
from console.models import ROLE_RANK, Endpoint, Role

OPS = transfer.OPS
PREVIEW_PAGES = 20  # copy/move pages count up to 20,000 keys before saying "more than"


# --- helpers ------------------------------------------------------------------
def _endpoint(endpoint_pk: int) -> Endpoint:
    return get_object_or_404(Endpoint, pk=endpoint_pk)


def _url(name: str, endpoint: Endpoint, bucket: str, **query) -> str:
    base = reverse(name, args=[endpoint.pk, bucket])
    query = {k: v for k, v in query.items() if v}
    return f"{base}?{urllib.parse.urlencode(query)}" if query else base


def _list_url(endpoint: Endpoint, bucket: str, prefix: str = "") -> str:
    return _url("object_list", endpoint, bucket, prefix=prefix)


def _parent(key: str) -> str:
    stripped = key.rstrip("/")
    return stripped[: stripped.rfind("/") + 1]


def _key_param(request) -> str:
    key = request.GET.get("key", "")
    if not key:
        raise NotFound("No object key given.")
    return key


def _prefix_param(request) -> str:
    """The folder a prefix action works on: never empty, always ending with "/" (never "photos" for "photos/")."""
    prefix = request.GET.get("prefix", "")
    if not prefix.endswith("/"):
        raise NotFound("Folder actions need a prefix ending with “/”.")
    return prefix


def _worked_on(request, endpoint_pk: int, bucket: str, need: Role, action: str, *, folder: bool = False):
    """The endpoint, the key (``?key=``) or the folder (``?prefix=``) worked on, and the user's role on it:
    404 when the user may not see it, 403 below ``need``."""
    endpoint = _endpoint(endpoint_pk)
    key = _prefix_param(request) if folder else _key_param(request)
    return endpoint, key, access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key=key)


def _destination_buckets(request, endpoint: Endpoint, current: str) -> list[str]:
    """Buckets of this endpoint the user can see (from the records), the current one first."""
    names = Bucket.objects.filter(endpoint=endpoint).order_by("name").values_list("name", flat=True)
    visible = [n for n in names if access.can_see(request.user, endpoint=endpoint, bucket=n)]
    return [current] + [n for n in visible if n != current]


def _require_destination(request, endpoint: Endpoint, source_bucket: str, bucket: str, key: str, action: str) -> Role:
    """Operator on the destination, which must be a bucket of the same endpoint: 404 otherwise."""
    if bucket != source_bucket and not Bucket.objects.filter(endpoint=endpoint, name=bucket).exists():
        raise NotFound("No such bucket on this endpoint.")
    return access.require_role(request, Role.OPERATOR, action=action, endpoint=endpoint, bucket=bucket, key=key)


def _require_keys(request, need: Role, *, action: str, endpoint: Endpoint, bucket: str, keys: list[str]) -> Role:
    """The role needed on every key: checked on the key where the user's role is lowest."""

    def rank(key: str) -> int:
        role = access.effective_role(request.user, endpoint=endpoint, bucket=bucket, key=key)
        return role.rank if role else 0

    weakest = min(keys, key=rank) if keys else ""
    return access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key=weakest)


def _actor(request, *roles: Role) -> audit.Actor:
    """The actor with the lower of the roles that allowed the change (source and destination)."""
    role = min(roles, key=lambda r: ROLE_RANK[r.value])
    return audit.Actor.from_request(request, role)


def _dry_run(count, *args, **kwargs) -> dict:
    """The dry-run count for the page, or the reason it could not be made (shown in place)."""
    try:
        return {"count": count(*args, **kwargs)}
    except s3.S3Error as exc:
        return {"count": None, "count_error": exc.user_message}


def _page(endpoint: Endpoint, bucket: str, op: str, **extra) -> dict:
    return {"endpoint": endpoint, "bucket": bucket, "op": op, "verb": OPS.get(op, "Delete"), **extra}


def _versioning(endpoint: Endpoint, bucket: str) -> str:
    try:
        return reads.versioning_status(endpoint=endpoint, bucket=bucket)
    except s3.S3Error:
        return ""  # the page still works; it just cannot say whether delete markers are added


def _attempt(form, service, **kwargs):
    """Run a service; a refusal or an S3 error becomes a form error. The service's result, or None."""
    try:
        return service(**kwargs)
    except transfer.TransferError as exc:
        form.add_error(None, str(exc))
    except s3.S3Error as exc:
        form.add_error(None, exc.user_message)
    return None


def _report(request, outcome: transfer.Outcome, verb: str) -> None:
    if outcome.done:
        messages.success(request, f"{verb} {outcome.done} object(s).")
    if outcome.missing:
        shown = ", ".join(f"“{k}”" for k in outcome.missing[:5]) + ("…" if len(outcome.missing) > 5 else "")
        messages.info(request, f"{len(outcome.missing)} selected key(s) were not there, nothing to delete: {shown}")
    for error in outcome.errors[:10]:
        messages.error(request, f"“{error['key']}”: {error['message']}")
    if len(outcome.errors) > 10:
        messages.error(request, f"{len(outcome.errors) - 10} more object(s) were not processed.")


def _form_errors(request, form) -> None:
    messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))


# --- one object -------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def object_transfer(request, endpoint_pk: int, bucket: str, op: str):
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    endpoint, key, role = _worked_on(request, endpoint_pk, bucket, need, f"object.{op}")
    form = ObjectTransferForm(
        request.POST or None, buckets=_destination_buckets(request, endpoint, bucket), endpoint=endpoint,
        source_key=key, initial={"dest_bucket": bucket, "dest_key": key},
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        dest_bucket, dest_key = form.cleaned_data["dest_bucket"], form.cleaned_data["destination"]
        dest_role = _require_destination(request, endpoint, bucket, dest_bucket, dest_key, f"object.{op}")
        service = transfer.object_move if op == "move" else transfer.object_copy
        done = _attempt(
            form, service, actor=_actor(request, role, dest_role), endpoint=endpoint, source_bucket=bucket,
            source_key=key, bucket=dest_bucket, key=dest_key, overwrite=form.cleaned_data["overwrite"],
        )  # fmt: skip
        if done is not None:
            messages.success(request, f"{OPS[op]}: “{key}” → {dest_bucket} / “{dest_key}”.")
            return redirect(_url("object_detail", endpoint, dest_bucket, key=dest_key))
    ctx = _page(endpoint, bucket, op, key=key, parent=_parent(key), form=form)
    return render(request, "buckets/objects/transfer_object.html", ctx, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def object_rename(request, endpoint_pk: int, bucket: str):
    endpoint, key, role = _worked_on(request, endpoint_pk, bucket, Role.OPERATOR, "object.move")
    form = RenameForm(request.POST or None, endpoint=endpoint, bucket=bucket, source_key=key, initial={"new_key": key})
    if request.method == "POST" and form.is_valid():
        new_key = form.cleaned_data["new_key"]
        dest_role = _require_destination(request, endpoint, bucket, bucket, new_key, "object.move")
        done = _attempt(
            form, transfer.object_move, actor=_actor(request, role, dest_role), endpoint=endpoint,
            source_bucket=bucket, source_key=key, bucket=bucket, key=new_key,
            overwrite=form.cleaned_data["overwrite"], rename=True,
        )  # fmt: skip
        if done is not None:
            messages.success(request, f"Renamed “{key}” to “{new_key}”.")
            return redirect(_url("object_detail", endpoint, bucket, key=new_key))
    ctx = _page(endpoint, bucket, "rename", key=key, parent=_parent(key), form=form)
    return render(request, "buckets/objects/transfer_object.html", ctx, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def object_delete(request, endpoint_pk: int, bucket: str):
    endpoint, key, role = _worked_on(request, endpoint_pk, bucket, Role.OPERATOR, "object.delete")
    if request.method == "POST":
        actor = audit.Actor.from_request(request, role)
        try:
            deleted = transfer.object_delete(actor=actor, endpoint=endpoint, bucket=bucket, key=key)
        except s3.S3Error as exc:
            messages.error(request, f"Nothing was deleted: {exc.user_message}")
        else:
            if deleted:
                messages.success(request, f"Deleted “{key}”.")
            else:
                messages.info(request, f"“{key}” was not there (any more): there was nothing to delete.")
        return redirect(_list_url(endpoint, bucket, _parent(key)))
    ctx = _page(endpoint, bucket, "delete", key=key, parent=_parent(key), versioning=_versioning(endpoint, bucket))
    ctx.update(_dry_run(prefixes.measure_selection, endpoint, bucket, [key]))
    return render(request, "buckets/objects/delete_object.html", ctx)


# --- a selection from the object list -----------------------------------------------
@require_POST
def selection_review(request, endpoint_pk: int, bucket: str, op: str):
    """The object list's Copy…/Move…/Delete… buttons land here: the destination form or the dry run."""
    if request.POST.getlist("folder_b64"):  # folders ticked too: a bulk job over their prefixes
        from buckets.views.bulk import bulk_new

        return bulk_new(request, endpoint_pk, bucket, action=op)
    endpoint = _endpoint(endpoint_pk)
    form = SelectionForm(request.POST)
    if not form.is_valid():
        access.require_role(request, Role.VIEWER, action="object.list", endpoint=endpoint, bucket=bucket)
        _form_errors(request, form)
        return redirect(_list_url(endpoint, bucket, request.POST.get("prefix", "")))
    keys, prefix = form.cleaned_data["key"], form.cleaned_data["prefix"]
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    _require_keys(request, need, action=f"object.{op}", endpoint=endpoint, bucket=bucket, keys=keys)
    ctx = _page(endpoint, bucket, op, keys=keys, prefix=prefix, inline_limit=transfer.INLINE_LIMIT)
    if op == "delete":
        ctx.update(_dry_run(prefixes.measure_selection, endpoint, bucket, keys))
        ctx["versioning"] = _versioning(endpoint, bucket)
        ctx["form"] = SelectionForm(initial={"key": keys, "prefix": prefix})
        return render(request, "buckets/objects/delete_selection.html", ctx)
    ctx["form"] = SelectionTransferForm(
        buckets=_destination_buckets(request, endpoint, bucket), endpoint=endpoint, source_bucket=bucket,
        initial={"key": keys, "prefix": prefix, "dest_bucket": bucket, "dest_prefix": prefix},
    )  # fmt: skip
    return render(request, "buckets/objects/transfer_selection.html", ctx)


@require_POST
def selection_transfer(request, endpoint_pk: int, bucket: str, op: str):
    endpoint, keys = _endpoint(endpoint_pk), selected_keys(request.POST)
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    role = _require_keys(request, need, action=f"object.{op}", endpoint=endpoint, bucket=bucket, keys=keys)
    buckets = _destination_buckets(request, endpoint, bucket)
    form = SelectionTransferForm(request.POST, buckets=buckets, endpoint=endpoint, source_bucket=bucket)
    if not form.is_valid():
        prefix = request.POST.get("prefix", "")
        ctx = _page(endpoint, bucket, op, keys=keys, prefix=prefix, form=form, inline_limit=transfer.INLINE_LIMIT)
        return render(request, "buckets/objects/transfer_selection.html", ctx, status=422)
    data, action = form.cleaned_data, f"object.{op}"
    dest_role = _require_destination(request, endpoint, bucket, data["dest_bucket"], data["dest_prefix"], action)
    where = {
        "actor": _actor(request, role, dest_role), "endpoint": endpoint, "source_bucket": bucket, "keys": keys,
        "base_prefix": data["prefix"], "bucket": data["dest_bucket"], "dest_prefix": data["dest_prefix"],
        "overwrite": data["overwrite"],
    }  # fmt: skip
    if len(keys) > transfer.INLINE_LIMIT:
        start = transfer.objects_move_start if op == "move" else transfer.objects_copy_start
        return redirect("job_detail", start(**where).pk)
    outcome = (transfer.objects_move if op == "move" else transfer.objects_copy)(**where)
    _report(request, outcome, "Copied" if op == "copy" else "Moved")
    return redirect(_list_url(endpoint, data["dest_bucket"], data["dest_prefix"]))


@require_POST
def selection_delete(request, endpoint_pk: int, bucket: str):
    endpoint, keys = _endpoint(endpoint_pk), selected_keys(request.POST)
    role = _require_keys(request, Role.OPERATOR, action="object.delete", endpoint=endpoint, bucket=bucket, keys=keys)
    form = SelectionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_list_url(endpoint, bucket, request.POST.get("prefix", "")))
    prefix, actor = form.cleaned_data["prefix"], audit.Actor.from_request(request, role)
    if len(keys) > transfer.INLINE_LIMIT:
        job = transfer.objects_delete_start(actor=actor, endpoint=endpoint, bucket=bucket, keys=keys, prefix=prefix)
        return redirect("job_detail", job.pk)
    try:
        outcome = transfer.objects_delete(actor=actor, endpoint=endpoint, bucket=bucket, keys=keys)
    except s3.S3Error as exc:
        messages.error(request, f"Nothing was deleted: {exc.user_message}")
    else:
        _report(request, outcome, "Deleted")
    return redirect(_list_url(endpoint, bucket, prefix))


# --- a folder (prefix) ------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def prefix_transfer(request, endpoint_pk: int, bucket: str, op: str):
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    endpoint, prefix, role = _worked_on(request, endpoint_pk, bucket, need, f"prefix.{op}", folder=True)
    buckets = _destination_buckets(request, endpoint, bucket)
    form = PrefixTransferForm(request.POST or None, buckets=buckets, endpoint=endpoint, initial={"dest_bucket": bucket})
    if request.method == "POST" and form.is_valid():
        dest_bucket, dest_prefix = form.cleaned_data["dest_bucket"], form.cleaned_data["dest_prefix"]
        dest_role = _require_destination(request, endpoint, bucket, dest_bucket, dest_prefix, f"prefix.{op}")
        job = _attempt(
            form, transfer.prefix_move_start if op == "move" else transfer.prefix_copy_start,
            actor=_actor(request, role, dest_role), endpoint=endpoint, source_bucket=bucket, source_prefix=prefix,
            bucket=dest_bucket, dest_prefix=dest_prefix, overwrite=form.cleaned_data["overwrite"],
        )  # fmt: skip
        if job is not None:
            return redirect("job_detail", job.pk)
    return _prefix_page(request, endpoint, bucket, prefix, op, form)


def _prefix_page(request, endpoint, bucket, prefix, op, form):
    ctx = _page(endpoint, bucket, op, prefix=prefix, form=form)
    ctx.update(_dry_run(prefixes.count_prefix, endpoint, bucket, prefix, max_pages=PREVIEW_PAGES))
    return render(request, "buckets/objects/transfer_prefix.html", ctx, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def prefix_rename(request, endpoint_pk: int, bucket: str):
    endpoint, prefix, role = _worked_on(request, endpoint_pk, bucket, Role.OPERATOR, "prefix.move", folder=True)
    form = PrefixRenameForm(request.POST or None, endpoint=endpoint, bucket=bucket, initial={"new_prefix": prefix})
    if request.method == "POST" and form.is_valid():
        new_prefix = form.cleaned_data["new_prefix"]
        dest_role = _require_destination(request, endpoint, bucket, bucket, new_prefix, "prefix.move")
        try:
            job = transfer.prefix_rename_start(
                actor=_actor(request, role, dest_role), endpoint=endpoint, source_bucket=bucket, source_prefix=prefix,
                bucket=bucket, dest_prefix=new_prefix,
            )  # fmt: skip
        except transfer.TransferError as exc:
            form.add_error("new_prefix", str(exc))
        else:
            return redirect("job_detail", job.pk)
    return _prefix_page(request, endpoint, bucket, prefix, "rename", form)


@require_http_methods(["GET", "POST"])
def prefix_delete(request, endpoint_pk: int, bucket: str):
    endpoint, prefix, role = _worked_on(request, endpoint_pk, bucket, Role.OPERATOR, "prefix.delete", folder=True)
    form = ConfirmPrefixForm(request.POST or None, folder=prefix)
    if form.is_valid():
        actor = audit.Actor.from_request(request, role)
        job = transfer.prefix_delete_start(actor=actor, endpoint=endpoint, bucket=bucket, prefix=prefix)
        return redirect("job_detail", job.pk)
    ctx = _page(endpoint, bucket, "delete", prefix=prefix, form=form, versioning=_versioning(endpoint, bucket))
    ctx.update(_dry_run(prefixes.count_prefix, endpoint, bucket, prefix))
    return render(request, "buckets/objects/delete_prefix.html", ctx, status=422 if form.errors else 200)
