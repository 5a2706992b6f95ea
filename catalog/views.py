"""The catalog's pages: search, storage analytics (bucket and endpoint), and the index's settings.

Access first in every view: a user whose role covers prefixes only reaches search and analytics (as
they reach the bucket's listing) and sees only their prefixes there; settings need the admin role.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from buckets import s3
from buckets.models import Job
from buckets.views.common import actor, endpoint_or_404, s3_text, url_for
from catalog.forms import (
    AbortOldForm,
    EveryBucketForm,
    IndexSettingsForm,
    InventoryLoadForm,
    InventorySetupForm,
    SearchForm,
    prefix_param,
)
from catalog.models import IndexedBucket
from catalog.services import analytics, crawl, index, inventory, search, uploads
from console import access, crypto
from console.models import Role

AFTER_PURPOSE = "catalog-search-after"


def _indexed(endpoint, bucket: str) -> IndexedBucket | None:
    return IndexedBucket.objects.filter(endpoint=endpoint, bucket=bucket).first()


def _base(endpoint, bucket, role, indexed) -> dict:
    return {
        "endpoint": endpoint, "bucket": bucket, "indexed": indexed, "freshness": search.freshness(indexed),
        "is_admin": role.rank >= Role.ADMIN.rank, "can_write": role.can_write,
        "list_url": reverse("object_list", args=[endpoint.pk, bucket]),
    }  # fmt: skip


def _seal_after(key: str, listing: list) -> str:
    return crypto.seal(AFTER_PURPOSE, json.dumps({"listing": listing, "after": key}))


def _unseal_after(token: str, listing: list) -> str | None:
    """The key a "Next page" link of this very search goes on from ("" without one); None for a link
    that is not this console's or belongs to another search (its key would skip results of this one)."""
    if not token:
        return ""
    plain = crypto.unseal(AFTER_PURPOSE, token)
    sealed = json.loads(plain) if plain is not None else {}
    return sealed["after"] if sealed.get("listing") == json.loads(json.dumps(listing)) else None


@require_GET
def bucket_search(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="index.search", endpoint=endpoint, bucket=bucket)
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    indexed = _indexed(endpoint, bucket)
    form = SearchForm(request.GET or None)
    ctx = _base(endpoint, bucket, role, indexed) | {"form": form, "results": [], "searched": False}
    ctx["selectable"] = role.can_write or access.writes_somewhere(request.user)  # a copy needs somewhere to write
    if indexed is not None and indexed.indexed_at is not None and form.is_valid() and form.filters().any:
        filters = form.filters()
        # The page cursor is "cursor": "after" is the form's date filter ("Modified from").
        query = {k: v for k, v in request.GET.items() if k != "cursor" and v}
        listing = [endpoint.pk, bucket, sorted(query.items())]  # a page link is good for its own search only
        after = _unseal_after(request.GET.get("cursor", ""), listing)
        if after is None:
            messages.info(request, "That page link belongs to another search: here is the first page of this one.")
            after = ""
        results, following = search.search_page(indexed=indexed, allowed=allowed, filters=filters, after=after)
        ctx.update(
            searched=True, results=results, paged=bool(after),
            count=search.count_matches(indexed=indexed, allowed=allowed, filters=filters),
            count_limit=search.COUNT_LIMIT,
            next_url=following and url_for("catalog_search", endpoint, bucket, **query,
                                           cursor=_seal_after(following, listing)),
            first_url=url_for("catalog_search", endpoint, bucket, **query),
        )  # fmt: skip
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "catalog/search.html" + ("#results" if partial else ""), ctx)


@require_GET
def bucket_analytics(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="index.analytics", endpoint=endpoint, bucket=bucket)
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    prefix = prefix_param(request.GET)
    indexed = _indexed(endpoint, bucket)
    ctx = _base(endpoint, bucket, role, indexed) | {"prefix": prefix, "abort_form": AbortOldForm()}
    if indexed is not None and indexed.indexed_at is not None:
        rep = analytics.report(indexed, allowed, prefix)
        ctx.update(report=rep, chart=analytics.growth_points(rep.growth), crumbs=_crumbs(prefix))
    return render(request, "catalog/analytics.html", ctx)


def _crumbs(prefix: str) -> list[dict]:
    parts = prefix.split("/")[:-1]
    return [{"name": p or "(empty name)", "prefix": "/".join(parts[: i + 1]) + "/"} for i, p in enumerate(parts)]


@require_GET
def bucket_index(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="index.view", endpoint=endpoint, bucket=bucket)
    indexed = _indexed(endpoint, bucket)
    initial = {f: getattr(indexed, f) for f in IndexSettingsForm.base_fields} if indexed else {}
    ctx = _base(endpoint, bucket, role, indexed) | {
        "settings_form": IndexSettingsForm(initial=initial),
        "load_form": InventoryLoadForm(initial={"prefix": f"inventory/{bucket}/console-index/"}),
        "setup_form": InventorySetupForm(),
        "job": indexed.last_job if indexed else None,
    }
    return render(request, "catalog/index.html", ctx)


def _admin(request, endpoint_pk: int, bucket: str, action: str):
    """The endpoint and the admin role on the bucket that the index's settings need (404/403 otherwise)."""
    endpoint = endpoint_or_404(endpoint_pk)
    return endpoint, access.require_role(request, Role.ADMIN, action=action, endpoint=endpoint, bucket=bucket)


def _valid_form(request, form_class, refused: str):
    """The posted form when it validates; otherwise None, with its errors said after ``refused``."""
    form = form_class(request.POST)
    if form.is_valid():
        return form
    messages.error(request, f"{refused}: " + " ".join(e for errs in form.errors.values() for e in errs))
    return None


def _back(endpoint, bucket):
    return redirect("catalog_index", endpoint.pk, bucket)


@require_POST
def bucket_index_enable(request, endpoint_pk: int, bucket: str):
    endpoint, role = _admin(request, endpoint_pk, bucket, "index.enable")
    if (form := _valid_form(request, IndexSettingsForm, "Not saved")) is None:
        return _back(endpoint, bucket)
    index.index_enable(actor=actor(request, role), endpoint=endpoint, bucket=bucket, **form.cleaned_data)
    messages.success(request, f"{bucket} is indexed: a crawl started (its progress is below).")
    return _back(endpoint, bucket)


@require_POST
def bucket_index_crawl(request, endpoint_pk: int, bucket: str):
    endpoint, role = _admin(request, endpoint_pk, bucket, "index.crawl")
    indexed = _indexed(endpoint, bucket)
    if indexed is None:
        messages.error(request, "This bucket is not indexed: turn the index on first.")
        return _back(endpoint, bucket)
    job = crawl.index_crawl_start(actor=actor(request, role), indexed=indexed)
    return redirect("job_detail", job.pk)


@require_POST
def bucket_index_disable(request, endpoint_pk: int, bucket: str):
    endpoint, role = _admin(request, endpoint_pk, bucket, "index.disable")
    if (indexed := _indexed(endpoint, bucket)) is not None:
        index.index_disable(actor=actor(request, role), indexed=indexed)
        messages.success(request, f"The index of {bucket} was removed (S3 was not touched).")
    return _back(endpoint, bucket)


@require_POST
def bucket_inventory_load(request, endpoint_pk: int, bucket: str):
    endpoint, role = _admin(request, endpoint_pk, bucket, "index.inventory")
    if (form := _valid_form(request, InventoryLoadForm, "Not loaded")) is None:
        return _back(endpoint, bucket)
    indexed, _ = IndexedBucket.objects.get_or_create(endpoint=endpoint, bucket=bucket)
    try:
        job = inventory.index_inventory_start(actor=actor(request, role), indexed=indexed, **form.cleaned_data)
    except (inventory.InventoryError, s3.S3Error) as exc:
        messages.error(request, s3_text(exc) if isinstance(exc, s3.S3Error) else str(exc))
        return _back(endpoint, bucket)
    return redirect("job_detail", job.pk)


@require_POST
def bucket_inventory_setup(request, endpoint_pk: int, bucket: str):
    endpoint, role = _admin(request, endpoint_pk, bucket, "bucket.inventory.put")
    if (form := _valid_form(request, InventorySetupForm, "Not set up")) is None:
        return _back(endpoint, bucket)
    try:
        inventory.inventory_setup(actor=actor(request, role), endpoint=endpoint, bucket=bucket, **form.cleaned_data)
    except s3.S3Error as exc:
        messages.error(request, f"S3 refused the inventory configuration: {s3_text(exc)}")
        return _back(endpoint, bucket)
    messages.success(request, "S3 writes a daily inventory report from now on; load it here once it is there.")
    return _back(endpoint, bucket)


@require_POST
def bucket_uploads_abort_old(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.OPERATOR, action=uploads.ABORT_OLD, endpoint=endpoint, bucket=bucket)
    form = AbortOldForm(request.POST)
    back = reverse("catalog_analytics", args=[endpoint.pk, bucket])
    if not form.is_valid():
        messages.error(request, "Give a number of days (0 or more).")
        return redirect(back)
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    try:
        done = uploads.multipart_abort_old(
            actor=actor(request, role),
            endpoint=endpoint,
            bucket=bucket,
            days=form.cleaned_data["days"],
            allowed=allowed,
        )
    except s3.S3Error as exc:
        messages.error(request, s3_text(exc))
        return redirect(back)
    if isinstance(done, Job):
        return redirect("job_detail", done.pk)
    messages.success(request, f"Aborted {done:,} incomplete upload{'s' if done != 1 else ''}.")
    return redirect(back)


@require_GET
def endpoint_analytics(request, endpoint_pk: int):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="index.analytics", endpoint=endpoint)
    rows = analytics.endpoint_totals(endpoint, request.user)
    ctx = {
        "endpoint": endpoint, "rows": rows, "is_admin": role.rank >= Role.ADMIN.rank,
        "count": sum(r["indexed"].object_count for r in rows), "bytes": sum(r["indexed"].total_bytes for r in rows),
        "settings_form": EveryBucketForm(),
    }  # fmt: skip
    return render(request, "catalog/endpoint.html", ctx)


@require_POST
def endpoint_index_enable(request, endpoint_pk: int):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.ADMIN, action="index.enable", endpoint=endpoint)
    if (form := _valid_form(request, EveryBucketForm, "Not saved")) is None:
        return redirect("catalog_endpoint", endpoint.pk)
    options = {k: v for k, v in form.cleaned_data.items() if k != "every_bucket"}
    try:
        done = index.index_enable_endpoint(actor=actor(request, role), endpoint=endpoint, **options)
    except s3.S3Error as exc:
        messages.error(request, s3_text(exc))
    else:
        messages.success(request, f"{len(done)} bucket{'s' if len(done) != 1 else ''} indexed: one crawl each started.")
    return redirect("catalog_endpoint", endpoint.pk)
