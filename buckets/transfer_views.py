"""Copy, move, rename and delete of objects, selections and folders (prefixes).

One object runs inline; a folder, or a selection of more than ``transfer.INLINE_LIMIT`` keys,
runs as a background job (the user lands on the job page). Copying needs viewer on the source
and operator on the destination; moving and deleting need operator on the source too.
"""

from __future__ import annotations

import urllib.parse

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from buckets import jobs, object_tasks, s3, transfer
from buckets.models import Bucket
from buckets.services import reads
from buckets.transfer_forms import (
    ConfirmPrefixForm,
    ObjectTransferForm,
    PrefixRenameForm,
    PrefixTransferForm,
    RenameForm,
    SelectionForm,
    SelectionTransferForm,
)
from console import access, audit
from console.models import ROLE_RANK, Endpoint, Role

OPS = {"copy": "Copy", "move": "Move", "rename": "Rename"}
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
        raise Http404("No object key given.")
    return key


def _prefix_param(request) -> str:
    """The folder a prefix action works on: never empty, always ending with "/" (never "photos" for "photos/")."""
    prefix = request.GET.get("prefix", "")
    if not prefix.endswith("/"):
        raise Http404("Folder actions need a prefix ending with “/”.")
    return prefix


def _destination_buckets(request, endpoint: Endpoint, current: str) -> list[str]:
    """Buckets of this endpoint the user can see (from the records), the current one first."""
    names = Bucket.objects.filter(endpoint=endpoint).order_by("name").values_list("name", flat=True)
    visible = [n for n in names if access.can_see(request.user, endpoint=endpoint, bucket=n)]
    return [current] + [n for n in visible if n != current]


def _require_destination(request, endpoint: Endpoint, source_bucket: str, bucket: str, key: str, action: str) -> Role:
    """Operator on the destination, which must be a bucket of the same endpoint: 404 otherwise."""
    if bucket != source_bucket and not Bucket.objects.filter(endpoint=endpoint, name=bucket).exists():
        raise Http404("No such bucket on this endpoint.")
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


def _start_job(request, actor, task, *, action: str, endpoint, bucket, prefix, title, params, total=None):
    """Start a job, audited as ``<action>.start``, and send the user to its page."""
    shown = dict(params)
    if "keys" in shown:  # the audit row keeps the count and the first keys, not a thousand of them
        shown.update(count=len(params["keys"]), keys=params["keys"][: transfer.AUDIT_KEYS_KEPT])
    with audit.change(actor, f"{action}.start", endpoint=endpoint, bucket=bucket, key=prefix, params=shown) as ev:
        job = jobs.start(
            task,
            kind=action,
            title=title,
            actor=actor,
            endpoint=endpoint,
            bucket=bucket,
            prefix=prefix,
            params=params,
            total=total,
        )
        ev.params["job_id"] = str(job.pk)
    return redirect("job_detail", job.pk)


def _report(request, outcome: transfer.Outcome, verb: str) -> None:
    if outcome.done:
        messages.success(request, f"{verb} {outcome.done} object(s).")
    for error in outcome.errors[:10]:
        messages.error(request, f"“{error['key']}”: {error['message']}")
    if len(outcome.errors) > 10:
        messages.error(request, f"{len(outcome.errors) - 10} more object(s) were not processed.")


# --- one object -------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def object_transfer(request, endpoint_pk: int, bucket: str, op: str):
    endpoint, key = _endpoint(endpoint_pk), _key_param(request)
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    role = access.require_role(request, need, action=f"object.{op}", endpoint=endpoint, bucket=bucket, key=key)
    buckets = _destination_buckets(request, endpoint, bucket)
    form = ObjectTransferForm(request.POST or None, buckets=buckets, initial={"dest_bucket": bucket, "dest_key": key})
    if form.is_valid():
        dest_bucket, dest_key = (
            form.cleaned_data["dest_bucket"],
            transfer.object_destination(key, form.cleaned_data["dest_key"]),
        )
        dest_role = _require_destination(request, endpoint, bucket, dest_bucket, dest_key, f"object.{op}")
        if _run_inline(request, form, role, dest_role, endpoint, bucket, key, dest_bucket, dest_key, op == "move"):
            messages.success(request, f"{OPS[op]}: “{key}” → {dest_bucket} / “{dest_key}”.")
            return redirect(_url("object_detail", endpoint, dest_bucket, key=dest_key))
    ctx = _page(endpoint, bucket, op, key=key, parent=_parent(key), form=form)
    return render(request, "buckets/objects/transfer_object.html", ctx, status=422 if form.errors else 200)


def _run_inline(request, form, role, dest_role, endpoint, bucket, key, dest_bucket, dest_key, move, rename=False):
    """Copy/move one object; a refusal or S3 error becomes a form error. True when it worked."""
    try:
        transfer.transfer_object(
            _actor(request, role, dest_role),
            endpoint,
            source_bucket=bucket,
            source_key=key,
            bucket=dest_bucket,
            key=dest_key,
            move=move,
            overwrite=form.cleaned_data["overwrite"],
            rename=rename,
        )
    except transfer.TransferError as exc:
        form.add_error(None, str(exc))
    except s3.S3Error as exc:
        form.add_error(None, exc.user_message)
    return not form.errors


@require_http_methods(["GET", "POST"])
def object_rename(request, endpoint_pk: int, bucket: str):
    endpoint, key = _endpoint(endpoint_pk), _key_param(request)
    role = access.require_role(request, Role.OPERATOR, action="object.move", endpoint=endpoint, bucket=bucket, key=key)
    form = RenameForm(request.POST or None, initial={"new_key": key})
    if form.is_valid():
        new_key = form.cleaned_data["new_key"]
        dest_role = _require_destination(request, endpoint, bucket, bucket, new_key, "object.move")
        if _run_inline(request, form, role, dest_role, endpoint, bucket, key, bucket, new_key, True, rename=True):
            messages.success(request, f"Renamed “{key}” to “{new_key}”.")
            return redirect(_url("object_detail", endpoint, bucket, key=new_key))
    ctx = _page(endpoint, bucket, "rename", key=key, parent=_parent(key), form=form)
    return render(request, "buckets/objects/transfer_object.html", ctx, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def object_delete(request, endpoint_pk: int, bucket: str):
    endpoint, key = _endpoint(endpoint_pk), _key_param(request)
    role = access.require_role(
        request, Role.OPERATOR, action="object.delete", endpoint=endpoint, bucket=bucket, key=key
    )
    if request.method == "POST":
        return _delete_keys_inline(request, role, endpoint, bucket, [key], back=_parent(key))
    ctx = _page(endpoint, bucket, "delete", key=key, parent=_parent(key), versioning=_versioning(endpoint, bucket))
    ctx.update(_dry_run(transfer.measure_selection, endpoint, bucket, [key]))
    return render(request, "buckets/objects/delete_object.html", ctx)


def _delete_keys_inline(request, role, endpoint, bucket, keys, *, back: str):
    try:
        errors = transfer.delete_selection(audit.Actor.from_request(request, role), endpoint, bucket=bucket, keys=keys)
    except s3.S3Error as exc:
        messages.error(request, f"Nothing was deleted: {exc.user_message}")
        return redirect(_list_url(endpoint, bucket, back))
    _report(request, transfer.Outcome(done=len(keys) - len(errors), errors=errors), "Deleted")
    return redirect(_list_url(endpoint, bucket, back))


# --- a selection from the object list -----------------------------------------------
@require_POST
def selection_review(request, endpoint_pk: int, bucket: str, op: str):
    """The object list's Copy…/Move…/Delete… buttons land here: the destination form or the dry run."""
    endpoint = _endpoint(endpoint_pk)
    form = SelectionForm(request.POST)
    if not form.is_valid():
        access.require_role(request, Role.VIEWER, action="object.list", endpoint=endpoint, bucket=bucket)
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(_list_url(endpoint, bucket, request.POST.get("prefix", "")))
    keys, prefix = form.cleaned_data["key"], form.cleaned_data["prefix"]
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    action = "object.delete" if op == "delete" else f"object.{op}"
    _require_keys(request, need, action=action, endpoint=endpoint, bucket=bucket, keys=keys)
    ctx = _page(endpoint, bucket, op, keys=keys, prefix=prefix, inline_limit=transfer.INLINE_LIMIT)
    if op == "delete":
        ctx.update(_dry_run(transfer.measure_selection, endpoint, bucket, keys))
        ctx["versioning"] = _versioning(endpoint, bucket)
        ctx["form"] = SelectionForm(initial={"key": keys, "prefix": prefix})
        return render(request, "buckets/objects/delete_selection.html", ctx)
    buckets = _destination_buckets(request, endpoint, bucket)
    ctx["form"] = SelectionTransferForm(
        buckets=buckets, initial={"key": keys, "prefix": prefix, "dest_bucket": bucket, "dest_prefix": prefix}
    )
    return render(request, "buckets/objects/transfer_selection.html", ctx)


@require_POST
def selection_transfer(request, endpoint_pk: int, bucket: str, op: str):
    endpoint = _endpoint(endpoint_pk)
    form = SelectionTransferForm(request.POST, buckets=_destination_buckets(request, endpoint, bucket))
    keys = form.fields["key"].to_python(request.POST.getlist("key"))
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    role = _require_keys(request, need, action=f"object.{op}", endpoint=endpoint, bucket=bucket, keys=keys)
    data = form.cleaned_data if form.is_valid() else {}
    if data and (data["dest_bucket"], data["dest_prefix"]) == (bucket, data["prefix"]):
        form.add_error("dest_prefix", "That is where the objects are: choose another folder or bucket.")
    if not form.is_valid():
        prefix = request.POST.get("prefix", "")
        ctx = _page(endpoint, bucket, op, keys=keys, prefix=prefix, form=form, inline_limit=transfer.INLINE_LIMIT)
        return render(request, "buckets/objects/transfer_selection.html", ctx, status=422)
    dest_bucket, dest_prefix = data["dest_bucket"], data["dest_prefix"]
    dest_role = _require_destination(request, endpoint, bucket, dest_bucket, dest_prefix, f"object.{op}")
    actor, move = _actor(request, role, dest_role), op == "move"
    if len(keys) > transfer.INLINE_LIMIT:
        params = transfer.job_params_for_transfer(
            move=move,
            source_bucket=bucket,
            source_prefix=data["prefix"],
            bucket=data["dest_bucket"],
            dest_prefix=data["dest_prefix"],
            overwrite=data["overwrite"],
            keys=keys,
        )
        title = f"{OPS[op]} {len(keys)} objects from {bucket} to {data['dest_bucket']}/{data['dest_prefix']}"
        return _start_job(
            request, actor, object_tasks.transfer_objects, action=f"object.{op}", endpoint=endpoint,
            bucket=bucket, prefix=data["prefix"], title=title, params=params, total=len(keys),
        )  # fmt: skip
    outcome = transfer.transfer_selection(
        actor,
        endpoint,
        source_bucket=bucket,
        keys=keys,
        base_prefix=data["prefix"],
        bucket=data["dest_bucket"],
        dest_prefix=data["dest_prefix"],
        move=move,
        overwrite=data["overwrite"],
    )
    _report(request, outcome, "Copied" if op == "copy" else "Moved")
    return redirect(_list_url(endpoint, data["dest_bucket"], data["dest_prefix"]))


@require_POST
def selection_delete(request, endpoint_pk: int, bucket: str):
    endpoint = _endpoint(endpoint_pk)
    form = SelectionForm(request.POST)
    keys = form.fields["key"].to_python(request.POST.getlist("key"))
    role = _require_keys(request, Role.OPERATOR, action="object.delete", endpoint=endpoint, bucket=bucket, keys=keys)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(_list_url(endpoint, bucket, request.POST.get("prefix", "")))
    prefix = form.cleaned_data["prefix"]
    if len(keys) <= transfer.INLINE_LIMIT:
        return _delete_keys_inline(request, role, endpoint, bucket, keys, back=prefix)
    return _start_job(
        request, audit.Actor.from_request(request, role), object_tasks.delete_objects, action="object.delete",
        endpoint=endpoint, bucket=bucket, prefix=prefix, title=f"Delete {len(keys)} objects from {bucket}",
        params={"bucket": bucket, "prefix": prefix, "keys": keys}, total=len(keys),
    )  # fmt: skip


# --- a folder (prefix) ------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def prefix_transfer(request, endpoint_pk: int, bucket: str, op: str):
    endpoint, prefix = _endpoint(endpoint_pk), _prefix_param(request)
    need = Role.VIEWER if op == "copy" else Role.OPERATOR
    role = access.require_role(request, need, action=f"prefix.{op}", endpoint=endpoint, bucket=bucket, key=prefix)
    buckets = _destination_buckets(request, endpoint, bucket)
    form = PrefixTransferForm(request.POST or None, buckets=buckets, initial={"dest_bucket": bucket})
    if form.is_valid():
        dest_bucket, dest_prefix = form.cleaned_data["dest_bucket"], form.cleaned_data["dest_prefix"]
        dest_role = _require_destination(request, endpoint, bucket, dest_bucket, dest_prefix, f"prefix.{op}")
        try:
            transfer.check_prefix_target(bucket, prefix, dest_bucket, dest_prefix)
        except transfer.TransferError as exc:
            form.add_error("dest_prefix", str(exc))
        else:
            return _start_prefix_transfer(
                request, _actor(request, role, dest_role), endpoint, bucket, prefix, op,
                dest_bucket, dest_prefix, form.cleaned_data["overwrite"],
            )  # fmt: skip
    return _prefix_page(request, endpoint, bucket, prefix, op, form)


def _prefix_page(request, endpoint, bucket, prefix, op, form):
    ctx = _page(endpoint, bucket, op, prefix=prefix, form=form)
    ctx.update(_dry_run(transfer.count_prefix, endpoint, bucket, prefix, max_pages=PREVIEW_PAGES))
    return render(request, "buckets/objects/transfer_prefix.html", ctx, status=422 if form.errors else 200)


def _start_prefix_transfer(request, actor, endpoint, bucket, prefix, op, dest_bucket, dest_prefix, overwrite):
    params = transfer.job_params_for_transfer(
        move=op == "move",
        source_bucket=bucket,
        source_prefix=prefix,
        bucket=dest_bucket,
        dest_prefix=dest_prefix,
        overwrite=overwrite,
    )
    title = f"{OPS[op]} {bucket}/{prefix} to {dest_bucket}/{dest_prefix}"
    return _start_job(
        request, actor, object_tasks.transfer_objects, action=f"prefix.{op}", endpoint=endpoint, bucket=bucket,
        prefix=prefix, title=title, params=params,
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def prefix_rename(request, endpoint_pk: int, bucket: str):
    endpoint, prefix = _endpoint(endpoint_pk), _prefix_param(request)
    role = access.require_role(
        request, Role.OPERATOR, action="prefix.move", endpoint=endpoint, bucket=bucket, key=prefix
    )
    form = PrefixRenameForm(request.POST or None, initial={"new_prefix": prefix})
    if form.is_valid():
        new_prefix = form.cleaned_data["new_prefix"]
        dest_role = _require_destination(request, endpoint, bucket, bucket, new_prefix, "prefix.move")
        try:
            transfer.check_prefix_target(bucket, prefix, bucket, new_prefix)
        except transfer.TransferError as exc:
            form.add_error("new_prefix", str(exc))
        else:
            actor = _actor(request, role, dest_role)
            return _start_prefix_transfer(request, actor, endpoint, bucket, prefix, "move", bucket, new_prefix, False)
    return _prefix_page(request, endpoint, bucket, prefix, "rename", form)


@require_http_methods(["GET", "POST"])
def prefix_delete(request, endpoint_pk: int, bucket: str):
    endpoint, prefix = _endpoint(endpoint_pk), _prefix_param(request)
    role = access.require_role(
        request, Role.OPERATOR, action="prefix.delete", endpoint=endpoint, bucket=bucket, key=prefix
    )
    form = ConfirmPrefixForm(request.POST or None, folder=prefix)
    if form.is_valid():
        return _start_job(
            request, audit.Actor.from_request(request, role), object_tasks.delete_objects, action="prefix.delete",
            endpoint=endpoint, bucket=bucket, prefix=prefix, title=f"Delete {bucket}/{prefix}",
            params={"bucket": bucket, "prefix": prefix},
        )  # fmt: skip
    ctx = _page(endpoint, bucket, "delete", prefix=prefix, form=form, versioning=_versioning(endpoint, bucket))
    ctx.update(_dry_run(transfer.count_prefix, endpoint, bucket, prefix))
    return render(request, "buckets/objects/delete_prefix.html", ctx, status=422 if form.errors else 200)
