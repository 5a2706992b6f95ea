"""Buckets: the list (from the records, never an S3 call per bucket), syncing it, creating one, its page."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.html import avoid_wrapping
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets import s3, vocabulary
from buckets.forms.buckets import BucketCreateForm
from buckets.models import Bucket
from buckets.sections import BUCKET_SECTIONS
from buckets.services import buckets as bucket_services
from buckets.services.sections import Target
from buckets.views.common import actor, endpoint_or_404
from buckets.views.sections import ACL_VOCABULARY, filled_sections
from catalog.models import IndexedBucket
from catalog.services import analytics as index_sizes
from console import access, fragments, rows
from console.models import Endpoint, Role
from console.rows import esc
from console.sizes import human_size

BUCKETS_PER_PAGE = 100

# One row of the bucket list, rendered in Python (console/rows.py says why): every value is escaped.
BUCKET_ROW = (
    '<tr>\n<td class="break"><strong><a href="{href}">{name}</a></strong>{public}</td>\n<td>{endpoint}</td>\n'
    '<td class="nowrap">{region}</td>\n<td class="num nowrap">{count}</td>\n<td class="nowrap">{created}</td>\n'
    '<td class="nowrap muted">{synced}</td>\n</tr>'
)
PUBLIC_BADGE = ' <span class="badge public" title="Checked {checked}">Public</span>'
COUNTED = '<span title="Counted {counted}">{objects}</span> <span class="muted small">· {size}</span>'
NOT_COUNTED = '<span class="muted" title="Not counted yet: “Count objects” on the bucket page">—</span>'
INDEXED = (
    '<a href="{href}" title="From the index, crawled {at}">{objects}</a> <span class="muted small">· {size}</span>'
)


# What a row shows: plain values, not model instances (a third of the cost of 100 Bucket + Endpoint objects).
ROW_FIELDS = ("endpoint_id", "name", "region", "created", "last_synced", "object_count", "total_bytes", "counted_at",
              "is_public", "public_checked_at")  # fmt: skip


def _size(number: int) -> str:
    return avoid_wrapping(human_size(number))  # as the templates' |size: on one line


def _count(b: dict, ago, number, analytics_url) -> str:
    """Objects and bytes: from the bucket index when it has crawled the bucket, else the last count."""
    if b["ix_at"]:
        objects, size = esc(number(b["ix_count"])), esc(_size(b["ix_bytes"]))
        return INDEXED.format(href=esc(analytics_url(b["name"])), at=esc(ago(b["ix_at"])), objects=objects, size=size)
    if b["counted_at"]:
        return COUNTED.format(counted=esc(ago(b["counted_at"])), objects=esc(number(b["object_count"])),
                              size=esc(_size(b["total_bytes"])))  # fmt: skip
    return NOT_COUNTED


def bucket_rows(buckets: list[dict]) -> str:
    """The rows of ``listed_buckets()``: values of ROW_FIELDS, the endpoint's name and the index sizes."""
    tz, ago, number, urls = rows.zone(), rows.ago_maker(), rows.number_maker(), {}
    out = []
    for b in buckets:
        pk = b["endpoint_id"]
        url = urls.get(pk) or urls.setdefault(pk, rows.url_maker("bucket_detail", pk))
        analytics_url = urls.get(("a", pk)) or urls.setdefault(("a", pk), rows.url_maker("catalog_analytics", pk))
        out.append(BUCKET_ROW.format(
            href=esc(url(b["name"])), name=esc(b["name"]),
            public=PUBLIC_BADGE.format(checked=esc(ago(b["public_checked_at"]))) if b["is_public"] else "",
            endpoint=esc(b["endpoint_name"]), region=esc(b["region"] or "—"),
            count=_count(b, ago, number, analytics_url),
            created=rows.local(b["created"], "%Y-%m-%d %H:%M", tz) or "—",
            synced=esc(ago(b["last_synced"])) if b["last_synced"] else "never",
        ))  # fmt: skip
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


def listed_buckets(buckets, offset: int = 0, limit: int | None = None) -> list[dict]:
    """A page of ``buckets`` as the list reads it: one query, sizes from the index included.

    The page is chosen in an inner query (ordered, limited) and only its rows join their endpoint and
    look up the index: PostgreSQL otherwise runs the three size lookups for every bucket it sorts.
    """
    if limit is not None:
        buckets = Bucket.objects.filter(pk__in=buckets.values("pk")[offset : offset + limit])
    return list(index_sizes.with_bucket_sizes(buckets.values(*ROW_FIELDS, endpoint_name=F("endpoint__name"))))


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


# What the kept bucket list shows (console/fragments.py): buckets, endpoints' names, index sizes.
LIST_COUNTED = (Bucket.counted_as, Endpoint.counted_as, IndexedBucket.counted_as)


def _bucket_list_context(user, filters: dict, page_number: str | None) -> dict:
    """The endpoints the user sees (pk, name: the sync buttons and the filter) and the page of buckets asked for."""
    buckets = Bucket.objects.all()
    if (visible := access.bucket_filter(user)) is not None:
        buckets = buckets.filter(visible)
    if filters["endpoint_id"].isdigit():  # one endpoint: its name orders nothing, and (endpoint, name) is an index
        buckets = buckets.filter(endpoint_id=int(filters["endpoint_id"])).order_by("name")
    if filters["query"]:
        buckets = buckets.filter(name__icontains=filters["query"])
    if filters["public"]:  # the dashboard's "Public buckets" (the last known state)
        buckets = buckets.filter(is_public=True)
    endpoints = Endpoint.objects.all()
    if (ids := access.visible_endpoint_ids(user)) is not None:
        endpoints = endpoints.filter(pk__in=ids)
    # The count is of the bucket table alone; only the page's rows join their endpoint and the index.
    page = Paginator(buckets, BUCKETS_PER_PAGE).get_page(page_number)
    listed = listed_buckets(buckets, (page.number - 1) * BUCKETS_PER_PAGE, BUCKETS_PER_PAGE)
    return {**filters, "page": page, "buckets": listed, "bucket_rows": bucket_rows(listed),
            "endpoints": list(endpoints.values("pk", "name"))}  # fmt: skip


@require_GET
def bucket_list(request):
    """The bucket records the user may see, 100 a page; kept until a record changes (console/fragments.py)."""
    filters = {
        "endpoint_id": request.GET.get("endpoint", ""),
        "query": request.GET.get("q", "").strip(),
        "public": request.GET.get("public") == "1",
    }
    page_number = request.GET.get("page")
    template = "buckets/bucket_list_content.html" + ("#bucket-table" if request.htmx else "")
    content = fragments.kept_content(
        request, "bucket_list", (bool(request.htmx), tuple(filters.values()), page_number), LIST_COUNTED, template,
        lambda: _bucket_list_context(request.user, filters, page_number),
    )  # fmt: skip
    if request.htmx:
        return HttpResponse(content)
    return render(request, "buckets/bucket_list.html", {"content": content})


@require_POST
def bucket_sync(request, endpoint_pk: int):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="buckets.sync", endpoint=endpoint)
    try:
        result = bucket_services.buckets_sync(actor=actor(request, role), endpoint=endpoint)
    except s3.S3Error as exc:
        messages.error(request, f"Could not list the buckets of “{endpoint.name}”: {exc.user_message}")
        return redirect("bucket_list")
    messages.success(request, _sync_message(result))
    return redirect("bucket_list")


def _sync_message(result: bucket_services.SyncResult) -> str:
    text = f"“{result.endpoint.name}”: {result.total} buckets."
    if result.added:
        text += f" New: {_names(result.added)}."
    if result.removed:
        text += f" No longer in S3, removed from the list: {_names(result.removed)}."
    return text


@require_POST
def bucket_sync_all(request):
    """Sync every endpoint the user holds a role on, one after the other; one message each."""
    endpoints = [e for e in Endpoint.objects.order_by("name") if access.effective_role(request.user, endpoint=e)]
    if not endpoints:
        access.require_role(request, Role.VIEWER, action="buckets.sync")  # records the refusal
    for endpoint in endpoints:
        role = access.require_role(request, Role.VIEWER, action="buckets.sync", endpoint=endpoint)
        try:
            result = bucket_services.buckets_sync(actor=actor(request, role), endpoint=endpoint)
        except s3.S3Error as exc:
            messages.error(request, f"Could not list the buckets of “{endpoint.name}”: {exc.user_message}")
        else:
            messages.success(request, _sync_message(result))
    return redirect("bucket_list")


@require_GET
def bucket_detail(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="bucket.view", endpoint=endpoint, bucket=bucket)
    record = get_object_or_404(Bucket, endpoint=endpoint, name=bucket)
    if access.effective_role(request.user, endpoint=endpoint, bucket=bucket) is None:
        # A role on prefixes only: the bucket's settings are not theirs to see; their folders are.
        return redirect(reverse("object_list", args=[endpoint.pk, bucket]))
    sections = [
        {"spec": s, "url": reverse("bucket_setting", args=[endpoint.pk, bucket, s.slug])} for s in BUCKET_SECTIONS
    ]
    history_url = reverse("audit_history") + "?" + urlencode({"endpoint": endpoint.pk, "bucket": bucket})
    all_url = reverse("bucket_settings_all", args=[endpoint.pk, bucket])
    target = Target(endpoint, bucket, record=record)
    context = {"endpoint": endpoint, "bucket": record, "role": role, "sections": sections,
               "history_url": history_url, "all_url": all_url, **ACL_VOCABULARY,
               "filled": filled_sections("bucket", target, role)}  # fmt: skip
    return render(request, "buckets/bucket_detail.html", context)


def _admin_endpoints(user):
    ids = [e.pk for e in Endpoint.objects.all() if access.effective_role(user, endpoint=e) == Role.ADMIN]
    return Endpoint.objects.filter(pk__in=ids)


@require_http_methods(["GET", "POST"])
def bucket_create(request):
    endpoints = _admin_endpoints(request.user)
    if request.method == "POST":
        pk = _int(request.POST.get("endpoint"))
        if pk or not endpoints.exists():  # (none chosen: the form says so)
            endpoint = get_object_or_404(Endpoint, pk=pk)
            role = access.require_role(request, Role.ADMIN, action="bucket.create", endpoint=endpoint)
        form = BucketCreateForm(request.POST, endpoints=endpoints)
        if form.is_valid() and (response := _create(request, form, endpoint, role)):
            return response
        return render(request, "buckets/bucket_create.html", {"form": form}, status=422)
    if not endpoints.exists():
        access.require_role(request, Role.ADMIN, action="bucket.create")  # records the denial and refuses
    initial = {k: v for k, v in request.GET.items() if k in {"region", "tags", "name"}}
    initial["endpoint"] = _came_from(request, endpoints)
    prefix = request.GET.get("prefix", "")
    if request.GET.get("generate"):
        initial["name"] = vocabulary.unique_bucket_name(prefix)
    form = BucketCreateForm(endpoints=endpoints, initial=initial)
    return render(request, "buckets/bucket_create.html", {"form": form, "prefix": prefix})


def _int(value) -> int:
    return int(value) if str(value).isdigit() else 0


def _came_from(request, endpoints) -> int | None:
    """The endpoint to preselect: the one asked for (?endpoint=), else the one of the page the user came
    from (a bucket's pages, the bucket list filtered by endpoint), else the only one; never just the first."""
    wanted = _int(request.GET.get("endpoint"))
    referer = urlsplit(request.headers.get("Referer", ""))
    if not wanted and referer.netloc == request.get_host():
        with contextlib.suppress(Resolver404):
            wanted = _int(resolve(referer.path).kwargs.get("endpoint_pk"))
        wanted = wanted or _int(parse_qs(referer.query).get("endpoint", [""])[0])
    ids = list(endpoints.values_list("pk", flat=True))
    if wanted in ids:
        return wanted
    return ids[0] if len(ids) == 1 else None


def _create(request, form, endpoint: Endpoint, role: Role):
    data = form.cleaned_data
    try:
        record, problems = bucket_services.bucket_create(
            actor=actor(request, role), endpoint=endpoint, name=data["name"], region=data["region"],
            object_lock=data["object_lock"], versioning=data["versioning"], tags=data["tags"],
        )  # fmt: skip
    except bucket_services.BucketRefused as exc:
        form.add_error(exc.field, exc.message)
        return None
    messages.success(request, f"Bucket “{record.name}” created.")
    for problem in problems:
        messages.warning(request, problem)
    return redirect("bucket_detail", endpoint.pk, record.name)


@require_GET
def bucket_name_suggest(request):
    """A generated name from the prefix: the name field for htmx, or the create form prefilled without JS."""
    if not request.htmx:
        query = urlencode({"prefix": request.GET.get("prefix", ""), "generate": 1})
        return redirect(reverse("bucket_create") + "?" + query)
    if not _admin_endpoints(request.user).exists():
        raise PermissionDenied("Creating buckets needs the admin role on an endpoint.")
    name = vocabulary.unique_bucket_name(request.GET.get("prefix", ""))
    context = {"value": name, "errors": vocabulary.bucket_name_errors(name)}
    return render(request, "buckets/bucket_create.html#name-field", context)
