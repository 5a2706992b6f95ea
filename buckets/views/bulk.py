"""Bulk actions: choose an action for a folder or a selection, see the dry-run count, confirm, start the job.

Three steps, each a POST carrying the whole form (no state on the server until the job starts): the form
(``bulk_new``), the dry run (``bulk_review``: counts what is in the user's scope, no write) and the start
(``bulk_start``: typed confirmation for delete and move). The job page follows it (pause, resume, cancel,
the CSV report: ``buckets/views/jobs.py``).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from buckets import s3
from buckets.forms.bulk import BulkForm, ConfirmForm, SourceForm
from buckets.models import Bucket
from buckets.services import bulk
from buckets.services.bulk_actions import ACTIONS, needed_role
from buckets.services.bulk_sources import KeySource
from buckets.views.common import actor, endpoint_or_404, s3_text, url_for
from console import access
from console.models import Endpoint, Role


def _source_data(request):
    """The posted (or queried) form, with the source named when the object list did not say."""
    data = (request.POST if request.method == "POST" else request.GET).copy()
    if not data.get("source"):
        picked = data.getlist("key_b64") or data.getlist("folder_b64") or data.getlist("key")
        data["source"] = "selection" if picked else "prefix"
    return data


def _buckets(request, endpoint: Endpoint, current: str) -> list[str]:
    names = Bucket.objects.filter(endpoint=endpoint).order_by("name").values_list("name", flat=True)
    return [current] + [n for n in names if n != current and access.can_see(request.user, endpoint=endpoint, bucket=n)]


def _require_in(request, need: Role, *, action: str, endpoint: Endpoint, bucket: str, key: str) -> Role:
    """``need`` on ``key``, or on a prefix inside it (a prefix-scoped user acts on their part of a folder)."""
    user = request.user
    role = access.effective_role(user, endpoint=endpoint, bucket=bucket, key=key)
    if role is None or role.rank < need.rank:
        for inner in access.allowed_prefixes(user, endpoint, bucket) or []:
            inner_role = access.effective_role(user, endpoint=endpoint, bucket=bucket, key=inner)
            if inner.startswith(key) and inner_role and inner_role.rank >= need.rank:
                key = inner
                break
    return access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key=key)


def _require_source(request, need: Role, action: str, endpoint: Endpoint, bucket: str, source: KeySource) -> Role:
    """The role on every selected key and folder (the job checks each object again)."""
    roots = [source.spec["prefix"]] if source.kind == "prefix" else [*source.keys, *source.spec.get("folders", [])]
    roles = [_require_in(request, need, action=action, endpoint=endpoint, bucket=bucket, key=k) for k in roots]
    return min(roles, key=lambda r: r.rank)


def _check(request, form: BulkForm, endpoint: Endpoint, bucket: str) -> tuple[KeySource, Role]:
    data = form.cleaned_data
    source = form.key_source()
    action = f"bulk.{data['action']}"
    role = _require_source(request, needed_role(data["action"], data["options"]), action, endpoint, bucket, source)
    if data["action"] in ("copy", "move"):
        dest = data["options"]
        dest_role = _require_in(
            request, Role.OPERATOR, action=action, endpoint=endpoint, bucket=dest["dest_bucket"],
            key=dest["dest_prefix"],
        )  # fmt: skip
        role = min(role, dest_role, key=lambda r: r.rank)
    return source, role


def _context(endpoint: Endpoint, bucket: str, form, **extra) -> dict:
    prefix = form.data.get("prefix", "") if form.is_bound else form.initial.get("prefix", "")
    return {
        "endpoint": endpoint, "bucket": bucket, "form": form, "prefix": prefix,
        "actions": ACTIONS, "list_url": url_for("object_list", endpoint, bucket, prefix=prefix), **extra,
    }  # fmt: skip


@require_http_methods(["GET", "POST"])
def bulk_new(request, endpoint_pk: int, bucket: str, action: str = ""):
    """The form, for a folder (``?prefix=``) or for what was ticked in the object list (POST)."""
    endpoint = endpoint_or_404(endpoint_pk)
    data = _source_data(request)
    prefix = data.get("prefix", "")
    access.require_role(
        request, Role.VIEWER, action="bulk.view", endpoint=endpoint, bucket=bucket, key=prefix, listing=True
    )
    source = SourceForm(data)
    if not source.is_valid():
        messages.error(request, " ".join(e for errs in source.errors.values() for e in errs))
        return redirect(url_for("object_list", endpoint, bucket, prefix=prefix if prefix.endswith("/") else ""))
    initial = {**source.cleaned_data, "action": action or data.get("action") or "tag"}
    form = BulkForm(initial=initial, endpoint=endpoint, bucket=bucket, buckets=_buckets(request, endpoint, bucket))
    return render(request, "buckets/bulk/bulk_form.html", _context(endpoint, bucket, form, source=source.key_source()))


def _bound(request, endpoint: Endpoint, bucket: str) -> BulkForm:
    buckets = _buckets(request, endpoint, bucket)
    return BulkForm(_source_data(request), endpoint=endpoint, bucket=bucket, buckets=buckets)


def _invalid(request, endpoint: Endpoint, bucket: str, form: BulkForm):
    ctx = _context(endpoint, bucket, form, source=form.key_source() if _source_ok(form) else None)
    return render(request, "buckets/bulk/bulk_form.html", ctx, status=422)


def _source_ok(form: BulkForm) -> bool:
    return (
        all(name in form.cleaned_data for name in ("source", "prefix", "key", "folder")) and not form.non_field_errors()
    )


def _dry_run(request, endpoint: Endpoint, bucket: str, form: BulkForm, source: KeySource) -> dict:
    data = form.cleaned_data
    try:
        count = bulk.bulk_count(
            user_id=request.user.pk, endpoint=endpoint, bucket=bucket, action=data["action"],
            options=data["options"], source=source,
        )  # fmt: skip
    except s3.S3Error as exc:
        return {"count": None, "count_error": s3_text(exc)}
    return {"count": count}


def _review(request, endpoint: Endpoint, bucket: str, form: BulkForm, source, confirmed=None) -> dict:
    """The review page: the action, its typed confirmation (a destructive one; bound to ``confirmed``), the dry run."""
    action = ACTIONS[form.cleaned_data["action"]]
    confirm = ConfirmForm(confirmed, bucket=bucket) if action.destructive else None
    ctx = _context(endpoint, bucket, form, source=source, action=action, confirm=confirm)
    return ctx | _dry_run(request, endpoint, bucket, form, source)


def _posted(request, endpoint_pk: int, bucket: str) -> tuple[Endpoint, BulkForm]:
    """The endpoint and the bound form of a dry run or a start, once the user may see the folder."""
    endpoint = endpoint_or_404(endpoint_pk)
    access.require_role(
        request, Role.VIEWER, action="bulk.view", endpoint=endpoint, bucket=bucket,
        key=request.POST.get("prefix", ""), listing=True,
    )  # fmt: skip
    return endpoint, _bound(request, endpoint, bucket)


@require_POST
def bulk_review(request, endpoint_pk: int, bucket: str):
    """The dry run: how many objects in the user's scope the action would change. Nothing is written."""
    endpoint, form = _posted(request, endpoint_pk, bucket)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form)
    source, _ = _check(request, form, endpoint, bucket)
    return render(request, "buckets/bulk/bulk_review.html", _review(request, endpoint, bucket, form, source))


@require_POST
def bulk_start(request, endpoint_pk: int, bucket: str):
    """Start the job (after the typed confirmation for delete and move); on to its page."""
    endpoint, form = _posted(request, endpoint_pk, bucket)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form)
    source, role = _check(request, form, endpoint, bucket)
    data = form.cleaned_data
    ctx = _review(request, endpoint, bucket, form, source, request.POST)
    if ctx["confirm"] is not None and not ctx["confirm"].is_valid():
        return render(request, "buckets/bulk/bulk_review.html", ctx, status=422)
    count = ctx.get("count")
    try:
        job = bulk.bulk_start(
            actor=actor(request, role), endpoint=endpoint, bucket=bucket, action=data["action"],
            options=data["options"], source=source, rate=data["rate"],
            total=count.count if count is not None and count.complete else None,
        )  # fmt: skip
    except bulk.BulkRefused as exc:
        return render(request, "buckets/bulk/bulk_review.html", ctx | {"refused": str(exc)}, status=422)
    return redirect("job_detail", pk=job.pk)
