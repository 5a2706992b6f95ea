"""Objects: browse a bucket, the object page with inline editing, links, versions, incomplete uploads.

Keys are user data: they travel only in query strings (``?key=``) and reach pages through autoescape.
Every view checks the role for the key's scope first (404 for outsiders, 403 + audit row for too low).
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import unicodedata
import urllib.parse

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buckets import s3
from buckets.object_forms import (
    GRANTEE_TYPES,
    GROUPS,
    HEADER_FIELDS,
    PERMISSIONS,
    PUBLIC_CANNED_ACLS,
    PUBLIC_GROUPS,
    AclForm,
    MetadataForm,
    ShareForm,
    StorageClassForm,
    TagsForm,
)
from buckets.services import copying, reads
from console import access, audit
from console.models import Endpoint, Role

PAGE = "buckets/objects/object_detail.html"
DOWNLOAD_SECONDS = 5 * 60
PREVIEW_BYTES = 64 * 1024
PREVIEW_IMAGE_MAX = 10 * 1000 * 1000
TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/yaml",
    "application/x-yaml",
    "application/javascript",
    "application/x-ndjson",
    "application/toml",
    "application/sql",
    "application/csv",
}
TEXT_EXTENSIONS = {
    "txt", "json", "jsonl", "ndjson", "xml", "csv", "tsv", "yaml", "yml", "log", "md", "ini", "toml", "conf",
    "cfg", "py", "js", "ts", "css", "html", "htm", "sh", "sql", "rst", "env", "properties",
}  # fmt: skip
UNKNOWN_TYPES = {"", "binary/octet-stream", "application/octet-stream"}
CHANGED = "This object changed since you opened it — reload to see the current version. Nothing was saved."


# --- helpers ------------------------------------------------------------------
def _endpoint(endpoint_pk: int) -> Endpoint:
    return get_object_or_404(Endpoint, pk=endpoint_pk)


def _key(request) -> str:
    key = request.POST.get("key") if request.method == "POST" else request.GET.get("key")
    if not key:
        raise Http404("No object key given.")
    return key


def _url(name: str, endpoint: Endpoint, bucket: str, **query) -> str:
    """A URL of this module with the key (and friends) urlencoded in the query string."""
    query = {k: v for k, v in query.items() if v}
    base = reverse(name, args=[endpoint.pk, bucket])
    return f"{base}?{urllib.parse.urlencode(query)}" if query else base


# Rows a page of the object list may show (one ListObjectsV2 call each); the first is the default.
PAGE_SIZES = (100, 250, 500, 1000)

# One object row of the object list, filled with html.escape'd values (quote=True: safe in attributes and
# text alike). Rendered in Python because the template engine spends ~70 µs a row and a page holds up to
# 1,000 rows; the page's goal is to cost little more than the ListObjectsV2 call behind it.
OBJECT_ROW = (
    '<tr><td class="check"><input type="checkbox" name="key" value="{key}" form="object-actions" '
    'aria-label="Select {name}"></td><td><a class="entry break" href="{href}"><svg class="icon icon-file" '
    'viewBox="0 0 16 16" aria-hidden="true"><use href="#icon-file"></use></svg><span>{name}</span></a></td>'
    '<td class="num nowrap" title="{size} bytes">{size_text}</td><td class="nowrap">{modified}</td>'
    '<td><span class="badge">{storage_class}</span></td></tr>'
)


def object_rows(objects: list[dict], detail_url: str) -> str:
    esc = html.escape
    rows = [
        OBJECT_ROW.format(
            key=esc(o["key"]),
            name=esc(o["name"]),
            href=esc(detail_url + urllib.parse.quote(o["key"], safe="")),
            size=int(o["size"] or 0),
            size_text=human_size(o["size"]),
            modified=timezone.localtime(o["last_modified"]).strftime("%Y-%m-%d %H:%M:%S") if o["last_modified"] else "",
            storage_class=esc(o["storage_class"]),
        )
        for o in objects
    ]
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


def human_size(size: int | None) -> str:
    """1,536 → '1.5 KB' (like filesizeformat, which is too slow for a thousand rows)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1024
        if value < 1024 or unit == "PB":
            return f"{value:.1f} {unit}"
    return ""


def crumbs(prefix: str) -> list[dict]:
    """Each complete path segment of a prefix, linked to its own prefix ("a//b/" has an empty one)."""
    parts = prefix.split("/")
    return [{"name": part, "prefix": "/".join(parts[: i + 1]) + "/"} for i, part in enumerate(parts[:-1])]


def attachment_disposition(key: str) -> str:
    """Content-Disposition for a download (RFC 6266/5987): an ASCII fallback and the exact UTF-8 name."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C") or "download"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(ch for ch in fallback if ch not in '"\\').strip() or "download"
    encoded = urllib.parse.quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _is_text(head: dict) -> bool:
    content_type = head["headers"]["ContentType"].split(";")[0].strip().lower()
    extension = head["key"].rsplit(".", 1)[-1].lower() if "." in head["key"].rsplit("/", 1)[-1] else ""
    return (
        content_type.startswith("text/")
        or content_type in TEXT_TYPES
        or content_type.endswith(("+json", "+xml"))
        or (content_type in UNKNOWN_TYPES and extension in TEXT_EXTENSIONS)
    )


def _preview(endpoint: Endpoint, bucket: str, head: dict) -> dict | None:
    """What the object page shows of the content: an image URL, the first 64 KiB of text, or nothing."""
    content_type = head["headers"]["ContentType"].split(";")[0].strip().lower()
    if head["sse_customer_algorithm"] or head["headers"]["ContentEncoding"] not in ("", "identity"):
        return None
    if content_type.startswith("image/"):
        if head["size"] > PREVIEW_IMAGE_MAX:
            return {"kind": "none", "reason": "The image is larger than 10 MB."}
        url = s3.presigned_get_url(
            endpoint=endpoint,
            bucket=bucket,
            key=head["key"],
            version_id=head["version_id"],
            expires_in=DOWNLOAD_SECONDS,
        )
        return {"kind": "image", "url": url}
    known = _is_text(head)
    if not known and not (content_type in UNKNOWN_TYPES and head["size"] <= 1024 * 1024):
        return None
    data = s3.read_object_start(
        endpoint=endpoint, bucket=bucket, key=head["key"], version_id=head["version_id"], length=PREVIEW_BYTES
    )
    truncated = head["size"] > len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(data) - 3:
            text = data[: exc.start].decode("utf-8", errors="replace")  # a character cut by the range
        elif known:
            text = data.decode("utf-8", errors="replace")
        else:
            return None
    if not known and "\x00" in text:
        return None
    return {"kind": "text", "text": text, "truncated": truncated}


def _head_or_404(endpoint: Endpoint, bucket: str, key: str, version_id: str = "") -> dict:
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key, version_id=version_id)
    if head is None:
        raise Http404("The object does not exist (any more).")
    return head


def _optional(call, what: str) -> tuple:
    """(value, "") or (None, a sentence): one part of the page the endpoint refuses does not break the page."""
    try:
        return call(), ""
    except s3.S3Error as exc:
        return None, (f"{what} not supported by this endpoint." if exc.not_supported else exc.user_message)


def _acl_state(endpoint: Endpoint, bucket: str, key: str) -> dict:
    acl, error = _optional(lambda: s3.get_object_acl(endpoint=endpoint, bucket=bucket, key=key), "Object ACLs are")
    return {"acl": acl, "acl_error": error}


def _base(endpoint: Endpoint, bucket: str, key: str, role: Role, **extra) -> dict:
    """What every part of the object page needs: where it is and what the user may do."""
    folder, slash, name = (key[:-1] if key.endswith("/") else key).rpartition("/")
    parent = folder + slash  # the listing the key appears in ("a//b" is in "a//", "a/" in the root)
    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "keyq": urllib.parse.urlencode({"key": key}),
        "name": name + ("/" if key.endswith("/") else ""),
        "parent": parent,
        "crumbs": crumbs(parent),
        "role": role,
        "can_write": role.can_write,
        "editable": role.can_write,
        **extra,
    }


def _detail_context(endpoint: Endpoint, bucket: str, key: str, role: Role, version_id: str = "") -> dict:
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key, version_id=version_id)
    ctx = _base(endpoint, bucket, key, role, head=head, version_id=version_id)
    if head is None:
        return ctx
    ctx["tags"], ctx["tags_error"] = _optional(
        lambda: s3.get_object_tags(endpoint=endpoint, bucket=bucket, key=key, version_id=version_id), "Object tags are"
    )
    ctx.update(_acl_state(endpoint, bucket, key))
    preview, error = _optional(lambda: _preview(endpoint, bucket, head), "Reading the content is")
    ctx["preview"] = {"kind": "none", "reason": error} if error else preview
    # Edits act on the current version: an older version's page is read-only.
    ctx["old_version"] = bool(version_id) and version_id != _latest_version_id(endpoint, bucket, key)
    ctx["editable"] = role.can_write and not ctx["old_version"]
    ctx["share_form"] = ShareForm()
    return ctx


def _latest_version_id(endpoint: Endpoint, bucket: str, key: str) -> str:
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key)
    return head["version_id"] if head else ""


def _respond(request, ctx: dict, section: str, *, status: int = 200, also: tuple[str, ...] = ()):
    """htmx: the section's partial (plus sections out of band); otherwise the whole page around it."""
    if request.htmx:
        html = render_to_string(f"{PAGE}#{section}", ctx, request=request)
        for extra in also:
            html += render_to_string(f"{PAGE}#{extra}", {**ctx, "oob": True}, request=request)
        return HttpResponse(html, status=status)
    full = _detail_context(ctx["endpoint"], ctx["bucket"], ctx["key"], ctx["role"])
    return render(request, PAGE, {**full, **ctx}, status=status)


def _saved(request, ctx: dict, section: str, text: str, also: tuple[str, ...] = ()):
    """After a change: the fresh section for htmx, a redirect to the page (with a message) otherwise."""
    if request.htmx:
        return _respond(request, {**ctx, "saved": text}, section, also=also)
    messages.success(request, text)
    return redirect(_url("object_detail", ctx["endpoint"], ctx["bucket"], key=ctx["key"]))


def _s3_text(exc: s3.S3Error) -> str:
    if exc.code == "PreconditionFailed":
        return CHANGED
    return "This is not supported by this endpoint." if exc.not_supported else exc.user_message


def _audited(
    request, ctx: dict, action: str, form, *, work, reread, params: dict, before, version_id: str = ""
) -> bool:
    """Run ``work`` through the audit trail; ``reread`` gives the state after. An S3 refusal lands in the form."""
    try:
        with audit.change(
            audit.Actor.from_request(request, ctx["role"]),
            action,
            endpoint=ctx["endpoint"],
            bucket=ctx["bucket"],
            key=ctx["key"],
            version_id=version_id,
            params=params,
            before=before,
        ) as ev:
            work()
            ev.after = reread()
    except s3.S3Error as exc:
        form.add_error(None, _s3_text(exc))
        return False
    return True


def digest(seen) -> str:
    """A short fingerprint of what a form showed (the HeadObject answer, the tags, the ACL).

    The ETag alone cannot tell: a metadata-only change (a copy onto itself) keeps a single-part object's ETag.
    """
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _unchanged(form, seen) -> bool:
    """False (and the form says why) when the state changed since the form was opened."""
    if form.is_valid() and form.cleaned_data["seen"] != digest(seen):
        form.add_error(None, CHANGED)
    return form.is_valid()


# --- browsing -----------------------------------------------------------------
@require_GET
def object_list(request, endpoint_pk: int, bucket: str):
    endpoint = _endpoint(endpoint_pk)
    prefix = request.GET.get("prefix", "")
    name_filter = request.GET.get("filter", "")
    token = request.GET.get("token", "")
    size = int(request.GET["size"]) if request.GET.get("size") in {str(n) for n in PAGE_SIZES} else PAGE_SIZES[0]
    sized = {"size": size} if size != PAGE_SIZES[0] else {}
    role = access.require_role(
        request, Role.VIEWER, action="object.list", endpoint=endpoint, bucket=bucket, key=prefix, listing=True
    )
    if request.GET.get("versions") == "1":
        return _version_list(request, endpoint, bucket, role, prefix=prefix, name_filter=name_filter, size=size)
    page, error = _optional(
        lambda: s3.list_objects_page(
            endpoint=endpoint, bucket=bucket, prefix=prefix + name_filter, delimiter="/", token=token, max_keys=size
        ),
        "Listing is",
    )
    page = page or {"prefixes": [], "objects": [], "next_token": ""}
    # A user whose role covers only some prefixes sees just the way down to them, not their siblings.
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    objects = [dict(o, name=o["key"][len(prefix) :]) for o in page["objects"] if access.key_allowed(allowed, o["key"])]
    page["prefixes"] = [p for p in page["prefixes"] if access.folder_visible(allowed, p)]
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "filter": name_filter,
        "token": token,
        "crumbs": crumbs(prefix),
        "folders": [{"prefix": p, "name": p[len(prefix) :]} for p in page["prefixes"]],
        # A "folder marker" (a key equal to the prefix, ending in /) is this folder, not an entry in it.
        "marker": next((o for o in objects if o["key"] == prefix and prefix), None),
        "objects": [o for o in objects if o["key"] != prefix or not prefix],
        "object_rows": object_rows(
            [o for o in objects if o["key"] != prefix or not prefix],
            reverse("object_detail", args=[endpoint.pk, bucket]) + "?key=",
        ),
        "object_count": len(objects),
        "next_url": page["next_token"]
        and _url("object_list", endpoint, bucket, prefix=prefix, filter=name_filter, token=page["next_token"], **sized),
        "first_url": _url("object_list", endpoint, bucket, prefix=prefix, filter=name_filter, **sized),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "can_write": role.can_write,
        "error": error,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "buckets/objects/object_list.html" + ("#object-table" if partial else ""), ctx)


def _short_version(version_id: str) -> str:
    # Head and tail: SeaweedFS's ids begin with a timestamp, so versions written together share their start.
    return version_id if len(version_id) <= 12 else f"{version_id[:4]}…{version_id[-6:]}"


def _version_list(request, endpoint: Endpoint, bucket: str, role: Role, *, prefix: str, name_filter: str, size: int):
    """The folder with every version and delete marker of its keys ("Show versions"): one ListObjectVersions call."""
    key_marker, version_id_marker = request.GET.get("key_marker", ""), request.GET.get("version_id_marker", "")
    page, error = _optional(
        lambda: s3.list_versions_page(
            endpoint=endpoint,
            bucket=bucket,
            prefix=prefix + name_filter,
            delimiter="/",
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=size,
        ),
        "Listing is",
    )
    page = page or {"prefixes": [], "versions": [], "next": None}
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    versions = [
        dict(v, name=v["key"][len(prefix) :], short_id=_short_version(v["version_id"]))
        for v in page["versions"]
        if access.key_allowed(allowed, v["key"])
    ]
    for i, v in enumerate(versions):
        v["first"] = i == 0 or versions[i - 1]["key"] != v["key"]  # the key's name shows once, on its first row
    sized = {"size": size} if size != PAGE_SIZES[0] else {}
    query = {"prefix": prefix, "filter": name_filter, "versions": "1", **sized}
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "filter": name_filter,
        "show_versions": True,
        "token": key_marker,
        "crumbs": crumbs(prefix),
        "folders": [
            {"prefix": p, "name": p[len(prefix) :]} for p in page["prefixes"] if access.folder_visible(allowed, p)
        ],
        "versions": versions,
        "next_url": page["next"] and _url("object_list", endpoint, bucket, **query, **page["next"]),
        "first_url": _url("object_list", endpoint, bucket, **query),
        "here_url": request.get_full_path(),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "can_write": role.can_write,
        "error": error,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "buckets/objects/object_list.html" + ("#object-table" if partial else ""), ctx)


# --- the object page ------------------------------------------------------------
@require_GET
def object_detail(request, endpoint_pk: int, bucket: str):
    endpoint, key = _endpoint(endpoint_pk), _key(request)
    version_id = request.GET.get("version_id", "")
    role = access.require_role(request, Role.VIEWER, action="object.view", endpoint=endpoint, bucket=bucket, key=key)
    ctx = _detail_context(endpoint, bucket, key, role, version_id)
    return render(request, PAGE, ctx, status=200 if ctx["head"] else 404)


@require_GET
def object_download(request, endpoint_pk: int, bucket: str):
    endpoint, key = _endpoint(endpoint_pk), _key(request)
    access.require_role(request, Role.VIEWER, action="object.download", endpoint=endpoint, bucket=bucket, key=key)
    url = s3.presigned_get_url(
        endpoint=endpoint,
        bucket=bucket,
        key=key,
        version_id=request.GET.get("version_id", ""),
        expires_in=DOWNLOAD_SECONDS,
        content_disposition=attachment_disposition(key),
    )
    return redirect(url)


# --- metadata and content headers -------------------------------------------------
def _metadata_state(head: dict) -> dict:
    return {"headers": head["headers"], "metadata": head["metadata"], "etag": head["etag"]}


def _reread_head(ctx: dict):
    """Read the object again after a change; the page shows it and the audit keeps it."""
    ctx["head"] = _head_or_404(ctx["endpoint"], ctx["bucket"], ctx["key"])
    return ctx["head"]


def _copy_onto_itself(ctx: dict, etag: str, **changes) -> dict:
    """CopyObject onto the same key, replacing metadata/headers/storage class; the rest stays as it was."""
    head = {**ctx["head"], "etag": etag}
    return copying.copy_onto_itself(
        endpoint=ctx["endpoint"],
        bucket=ctx["bucket"],
        key=ctx["key"],
        head=head,
        metadata=changes.get("metadata"),
        headers=changes.get("headers"),
        storage_class=changes.get("storage_class", ""),
    )


def _object_ctx(request, endpoint_pk: int, bucket: str, action: str, *, write: bool) -> dict:
    """Role check for the key's scope (operator for changes), then the current HeadObject."""
    endpoint, key = _endpoint(endpoint_pk), _key(request)
    need = Role.OPERATOR if write else Role.VIEWER
    role = access.require_role(request, need, action=action, endpoint=endpoint, bucket=bucket, key=key)
    return _base(endpoint, bucket, key, role, head=_head_or_404(endpoint, bucket, key))


@require_GET
def object_metadata_edit(request, endpoint_pk: int, bucket: str):
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.metadata.put", write=True)
    head = ctx["head"]
    initial = {name: head["headers"][s3_name] for name, s3_name in HEADER_FIELDS.items()}
    form = MetadataForm(
        initial={**initial, "etag": head["etag"], "seen": digest(head)}, rows=list(head["metadata"].items())
    )
    return _respond(request, {**ctx, "metadata_form": form, "editing": "metadata"}, "metadata-form")


@require_http_methods(["GET", "POST"])
def object_metadata(request, endpoint_pk: int, bucket: str):
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.metadata.put", write=request.method == "POST")
    if request.method == "GET":
        return _respond(request, ctx, "metadata")
    head, form = ctx["head"], MetadataForm(request.POST)
    if _unchanged(form, head):  # a change since the form was opened is caught here, before any write
        data = form.cleaned_data
        if _audited(
            request,
            ctx,
            "object.metadata.put",
            form,
            work=lambda: _copy_onto_itself(ctx, data["etag"], metadata=data["metadata"], headers=form.headers()),
            reread=lambda: _metadata_state(_reread_head(ctx)),
            params={"headers": form.headers(), "metadata": data["metadata"], "if_match": data["etag"]},
            before=_metadata_state(head),
            version_id=head["version_id"],
        ):
            return _saved(request, ctx, "metadata", "Metadata saved.", also=("properties", "storage"))
    return _respond(request, {**ctx, "metadata_form": form, "editing": "metadata"}, "metadata-form", status=422)


# --- tags -------------------------------------------------------------------------
def _load_tags(ctx: dict) -> list[dict]:
    """Read the tags into the context (before an edit, and again after it for the page and the audit)."""
    ctx["tags"] = s3.get_object_tags(endpoint=ctx["endpoint"], bucket=ctx["bucket"], key=ctx["key"])
    return ctx["tags"]


def _tags_ctx(request, endpoint_pk: int, bucket: str, *, write: bool) -> dict:
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.tags.put", write=write)
    _load_tags(ctx)
    return ctx


@require_GET
def object_tags_edit(request, endpoint_pk: int, bucket: str):
    ctx = _tags_ctx(request, endpoint_pk, bucket, write=True)
    form = TagsForm(initial={"seen": digest(ctx["tags"])}, rows=[(t["key"], t["value"]) for t in ctx["tags"]])
    return _respond(request, {**ctx, "tags_form": form, "editing": "tags"}, "tags-form")


@require_http_methods(["GET", "POST"])
def object_tags(request, endpoint_pk: int, bucket: str):
    ctx = _tags_ctx(request, endpoint_pk, bucket, write=request.method == "POST")
    if request.method == "GET":
        return _respond(request, ctx, "tags")
    form = TagsForm(request.POST)
    if _unchanged(form, ctx["tags"]) and _audited(
        request,
        ctx,
        "object.tags.put",
        form,
        work=lambda: s3.put_object_tags(
            endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"], tags=form.cleaned_data["tags"]
        ),
        reread=lambda: _load_tags(ctx),
        params={"tags": form.cleaned_data["tags"]},
        before=ctx["tags"],
        version_id=ctx["head"]["version_id"],
    ):
        return _saved(request, ctx, "tags", "Tags saved.")
    return _respond(request, {**ctx, "tags_form": form, "editing": "tags"}, "tags-form", status=422)


# --- ACL --------------------------------------------------------------------------
def _load_acl(ctx: dict) -> dict | None:
    ctx.update(_acl_state(ctx["endpoint"], ctx["bucket"], ctx["key"]))
    return ctx["acl"]


def _acl_ctx(request, endpoint_pk: int, bucket: str, *, write: bool) -> dict:
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.acl.put", write=write)
    _load_acl(ctx)
    ctx.update(grantee_types=GRANTEE_TYPES, permissions=PERMISSIONS, groups=GROUPS)
    return ctx


@require_GET
def object_acl_edit(request, endpoint_pk: int, bucket: str):
    ctx = _acl_ctx(request, endpoint_pk, bucket, write=True)
    grants = ctx["acl"]["grants"] if ctx["acl"] else []
    form = AclForm(
        initial={"seen": digest(ctx["acl"])}, rows=[(g["type"], g["grantee"], g["permission"]) for g in grants]
    )
    return _respond(request, {**ctx, "acl_form": form, "editing": "acl"}, "acl-form")


def _public_grants(grants) -> set[tuple[str, str]]:
    return {(g["grantee"], g["permission"]) for g in grants if g["type"] == "Group" and g["grantee"] in PUBLIC_GROUPS}


def _require_admin_to_publish(request, ctx: dict, form) -> None:
    """Opening an object to everyone is a permission change: admin on the key's scope, not operator.

    A public canned ACL, or a grant to AllUsers/AuthenticatedUsers the object does not hold yet, needs admin;
    an operator may keep (or drop) what an admin granted, and set private and bucket-owner ACLs.
    """
    if ctx["role"].can_admin or not form.is_valid():
        return
    held = _public_grants(ctx["acl"]["grants"]) if ctx["acl"] else set()
    if form.cleaned_data["canned"] in PUBLIC_CANNED_ACLS or _public_grants(form.cleaned_data["grants"]) - held:
        access.require_role(
            request, Role.ADMIN, action="object.acl.put", endpoint=ctx["endpoint"], bucket=ctx["bucket"], key=ctx["key"]
        )


@require_http_methods(["GET", "POST"])
def object_acl(request, endpoint_pk: int, bucket: str):
    ctx = _acl_ctx(request, endpoint_pk, bucket, write=request.method == "POST")
    if request.method == "GET":
        return _respond(request, ctx, "acl")
    form = AclForm(request.POST)
    _require_admin_to_publish(request, ctx, form)
    owner = ctx["acl"]["owner"]["id"] if ctx["acl"] else ""
    if _unchanged(form, ctx["acl"]) and _audited(
        request,
        ctx,
        "object.acl.put",
        form,
        work=lambda: s3.put_object_acl(
            endpoint=ctx["endpoint"],
            bucket=bucket,
            key=ctx["key"],
            canned=form.cleaned_data["canned"],
            grants=form.cleaned_data["grants"],
            owner_id=owner,
        ),
        reread=lambda: _load_acl(ctx),
        params={"canned": form.cleaned_data["canned"], "grants": form.cleaned_data["grants"]},
        before=ctx["acl"],
        version_id=ctx["head"]["version_id"],
    ):
        return _saved(request, ctx, "acl", "Access control list saved.")
    return _respond(request, {**ctx, "acl_form": form, "editing": "acl"}, "acl-form", status=422)


# --- storage class ------------------------------------------------------------------
def _storage_state(head: dict) -> dict:
    return {"storage_class": head["storage_class"], "etag": head["etag"]}


@require_GET
def object_storage_edit(request, endpoint_pk: int, bucket: str):
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.storage_class.put", write=True)
    head = ctx["head"]
    form = StorageClassForm(
        initial={"etag": head["etag"], "seen": digest(head), "storage_class": head["storage_class"]}
    )
    return _respond(request, {**ctx, "storage_form": form, "editing": "storage"}, "storage-form")


@require_http_methods(["GET", "POST"])
def object_storage(request, endpoint_pk: int, bucket: str):
    ctx = _object_ctx(request, endpoint_pk, bucket, "object.storage_class.put", write=request.method == "POST")
    if request.method == "GET":
        return _respond(request, ctx, "storage")
    head, form = ctx["head"], StorageClassForm(request.POST)
    if _unchanged(form, head):
        data = form.cleaned_data
        if _audited(
            request,
            ctx,
            "object.storage_class.put",
            form,
            work=lambda: _copy_onto_itself(ctx, data["etag"], storage_class=data["storage_class"]),
            reread=lambda: _storage_state(_reread_head(ctx)),
            params={"storage_class": data["storage_class"], "if_match": data["etag"]},
            before=_storage_state(head),
            version_id=head["version_id"],
        ):
            return _saved(request, ctx, "storage", "Storage class changed.", also=("properties", "metadata"))
    return _respond(request, {**ctx, "storage_form": form, "editing": "storage"}, "storage-form", status=422)


# --- share links --------------------------------------------------------------------
def _share_seconds(endpoint: Endpoint, wanted: int) -> tuple[int, str]:
    """The link's life: what was asked, cut to what the endpoint's credentials have left."""
    life = s3.credentials_lifetime(endpoint=endpoint)
    if life["expires_at"] is not None:
        left = int((life["expires_at"] - timezone.now()).total_seconds())
        if left < wanted:
            return max(left, 0), (
                f"The endpoint signs with temporary credentials that expire at "
                f"{life['expires_at'].astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC; the link cannot outlive them, "
                "so it is valid only until then."
            )
    elif life["temporary"]:
        return wanted, "The endpoint signs with temporary credentials: the link stops working when they expire."
    return wanted, ""


@require_POST
def object_share(request, endpoint_pk: int, bucket: str):
    endpoint, key, version_id = _endpoint(endpoint_pk), _key(request), request.POST.get("version_id", "")
    role = access.require_role(request, Role.OPERATOR, action="object.share", endpoint=endpoint, bucket=bucket, key=key)
    ctx = _base(endpoint, bucket, key, role, head=_head_or_404(endpoint, bucket, key, version_id))
    form = ShareForm(request.POST)
    ctx.update(share_form=form, version_id=version_id)
    if not form.is_valid():
        return _respond(request, ctx, "share", status=422)
    seconds, note = _share_seconds(ctx["endpoint"], form.cleaned_data["seconds"])
    if seconds < 60:
        form.add_error(None, "The endpoint's credentials expire within a minute: no link can be made now.")
        return _respond(request, ctx, "share", status=422)
    expires_at = timezone.now() + datetime.timedelta(seconds=seconds)
    with audit.change(
        audit.Actor.from_request(request, ctx["role"]),
        "object.share",
        endpoint=ctx["endpoint"],
        bucket=bucket,
        key=ctx["key"],
        version_id=version_id,
        params={"expires_in_seconds": seconds, "expires_at": expires_at.isoformat(), "capped": bool(note)},
    ):
        url = s3.presigned_get_url(
            endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"], version_id=version_id, expires_in=seconds
        )
    ctx.update(share={"url": url, "expires_at": expires_at, "note": note})
    return _respond(request, ctx, "share")


# --- versions -------------------------------------------------------------------------
@require_GET
def object_versions(request, endpoint_pk: int, bucket: str):
    endpoint, key = _endpoint(endpoint_pk), _key(request)
    role = access.require_role(
        request, Role.VIEWER, action="object.versions", endpoint=endpoint, bucket=bucket, key=key
    )
    key_marker, version_id_marker = request.GET.get("key_marker", ""), request.GET.get("version_id_marker", "")
    page = reads.key_versions_page(
        endpoint=endpoint, bucket=bucket, key=key, key_marker=key_marker, version_id_marker=version_id_marker
    )
    ctx = _base(endpoint, bucket, key, role, versions=page["versions"], paged=bool(key_marker))
    if page["next"]:
        ctx["next_url"] = _url("object_versions", endpoint, bucket, key=key, **page["next"])
    return render(request, "buckets/objects/object_versions.html", ctx)


def _version_ctx(request, endpoint_pk: int, bucket: str, action: str) -> dict:
    endpoint, key = _endpoint(endpoint_pk), _key(request)
    version_id = (request.POST if request.method == "POST" else request.GET).get("version_id", "")
    if not version_id:
        raise Http404("No version given.")
    role = access.require_role(request, Role.OPERATOR, action=action, endpoint=endpoint, bucket=bucket, key=key)
    return _base(endpoint, bucket, key, role, version_id=version_id)


def _version_done(request, ctx: dict, action: str, work, *, before, text: str):
    """Run a version action through the audit trail; back to the versions page with the outcome."""
    try:
        with audit.change(
            audit.Actor.from_request(request, ctx["role"]),
            action,
            endpoint=ctx["endpoint"],
            bucket=ctx["bucket"],
            key=ctx["key"],
            version_id=ctx["version_id"],
            before=before,
        ) as ev:
            work()
            head = s3.head_object(endpoint=ctx["endpoint"], bucket=ctx["bucket"], key=ctx["key"])
            ev.after = {"current": _summary(head)}
        messages.success(request, text)
    except s3.S3Error as exc:
        messages.error(request, _s3_text(exc))
    return redirect(_back(request, _url("object_versions", ctx["endpoint"], ctx["bucket"], key=ctx["key"])))


def _back(request, default: str) -> str:
    """The page the form came from when it says so (``next``, a path of this site only), else ``default``."""
    wanted = request.POST.get("next", "")
    return wanted if wanted.startswith("/") and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None) else default


def _summary(head: dict | None) -> dict | None:
    """A version as the audit trail keeps it (None: the key has no current version)."""
    if head is None:
        return None
    return {"version_id": head["version_id"], "etag": head["etag"], "size": head["size"]}


@require_POST
def object_version_restore(request, endpoint_pk: int, bucket: str):
    ctx = _version_ctx(request, endpoint_pk, bucket, "object.version.restore")
    source = _head_or_404(ctx["endpoint"], bucket, ctx["key"], ctx["version_id"])
    current = s3.head_object(endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"])
    return _version_done(
        request,
        ctx,
        "object.version.restore",
        lambda: copying.copy_onto_itself(
            endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"], head=source, source_version_id=ctx["version_id"]
        ),
        before={"current": _summary(current)},
        text="The version was restored: it is now the current version (a copy; the history is kept).",
    )


@require_http_methods(["GET", "POST"])
def object_version_delete(request, endpoint_pk: int, bucket: str):
    ctx = _version_ctx(request, endpoint_pk, bucket, "object.version.delete")
    if request.method == "GET":
        return render(request, "buckets/objects/object_version_delete.html", ctx)
    current = s3.head_object(endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"])
    return _version_done(
        request,
        ctx,
        "object.version.delete",
        lambda: s3.delete_object(endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"], version_id=ctx["version_id"]),
        before={"current": _summary(current)},
        text="The version was deleted permanently.",
    )


@require_POST
def object_undelete(request, endpoint_pk: int, bucket: str):
    ctx = _version_ctx(request, endpoint_pk, bucket, "object.undelete")
    latest = reads.latest_version(endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"])
    if not latest or not latest["delete_marker"] or latest["version_id"] != ctx["version_id"]:
        messages.error(request, "The key is not deleted (any more): its latest version is not that delete marker.")
        return redirect(_back(request, _url("object_versions", ctx["endpoint"], bucket, key=ctx["key"])))
    return _version_done(
        request,
        ctx,
        "object.undelete",
        lambda: s3.delete_object(endpoint=ctx["endpoint"], bucket=bucket, key=ctx["key"], version_id=ctx["version_id"]),
        before={"current": None, "delete_marker": ctx["version_id"]},
        text="The object is back: its delete marker was removed.",
    )


# --- incomplete multipart uploads ---------------------------------------------------------
@require_GET
def multipart_list(request, endpoint_pk: int, bucket: str):
    endpoint = _endpoint(endpoint_pk)
    role = access.require_role(request, Role.VIEWER, action="multipart.list", endpoint=endpoint, bucket=bucket)
    key_marker, upload_id_marker = request.GET.get("key_marker", ""), request.GET.get("upload_id_marker", "")
    page = s3.list_uploads_page(
        endpoint=endpoint, bucket=bucket, key_marker=key_marker, upload_id_marker=upload_id_marker
    )
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "uploads": [u for u in page["uploads"] if access.key_allowed(allowed, u["key"])],
        "paged": bool(key_marker),
        "next_url": page["next"] and _url("multipart_list", endpoint, bucket, **page["next"]),
        "can_write": role.can_write,
    }
    return render(request, "buckets/objects/multipart_list.html", ctx)


@require_POST
def multipart_abort(request, endpoint_pk: int, bucket: str):
    endpoint, key, upload_id = _endpoint(endpoint_pk), _key(request), request.POST.get("upload_id", "")
    role = access.require_role(
        request, Role.OPERATOR, action="multipart.abort", endpoint=endpoint, bucket=bucket, key=key
    )
    try:
        with audit.change(
            audit.Actor.from_request(request, role),
            "multipart.abort",
            endpoint=endpoint,
            bucket=bucket,
            key=key,
            params={"upload_id": upload_id},
        ):
            s3.abort_multipart_upload(endpoint=endpoint, bucket=bucket, key=key, upload_id=upload_id)
        messages.success(request, "The upload was aborted and its parts deleted.")
    except s3.S3Error as exc:
        messages.error(request, _s3_text(exc))
    return redirect(_url("multipart_list", endpoint, bucket))


@require_http_methods(["GET", "POST"])
def multipart_abort_all(request, endpoint_pk: int, bucket: str):
    endpoint = _endpoint(endpoint_pk)
    role = access.require_role(request, Role.OPERATOR, action="multipart.abort_all", endpoint=endpoint, bucket=bucket)
    if request.method == "GET":
        return render(request, "buckets/objects/multipart_abort_all.html", {"endpoint": endpoint, "bucket": bucket})
    if request.POST.get("confirm") != bucket:
        messages.error(request, "Type the bucket name to confirm.")
        return redirect(_url("multipart_abort_all", endpoint, bucket))
    try:
        with audit.change(
            audit.Actor.from_request(request, role), "multipart.abort_all", endpoint=endpoint, bucket=bucket
        ) as ev:
            ev.params["count"] = 0
            markers: dict = {}
            while True:
                page = s3.list_uploads_page(endpoint=endpoint, bucket=bucket, **markers)
                for upload in page["uploads"]:
                    s3.abort_multipart_upload(
                        endpoint=endpoint, bucket=bucket, key=upload["key"], upload_id=upload["upload_id"]
                    )
                    ev.params["count"] += 1
                if not page["next"]:
                    break
                markers = page["next"]
            ev.after = {"aborted": ev.params["count"]}
        messages.success(request, f"{ev.params['count']} incomplete uploads aborted.")
    except s3.S3Error as exc:
        messages.error(request, f"Stopped after {ev.params['count']} uploads: {_s3_text(exc)}")
    return redirect(_url("multipart_list", endpoint, bucket))
