"""The object page: its sections (properties, metadata, tags, ACL, storage class), preview, download, share.

Every view checks the role for the key first (404 for outsiders, 403 + audit row for too low a role).
"""

from __future__ import annotations

import unicodedata
import urllib.parse

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from buckets import s3
from buckets.forms.sections import ShareForm
from buckets.sections import OBJECT_SECTIONS
from buckets.services import objects as object_services
from buckets.services import reads
from buckets.services.sections import Target
from buckets.views.common import actor, crumbs, endpoint_or_404, key_param, optional, parent_of
from buckets.views.sections import ACL_VOCABULARY, read_states, section_context
from console import access
from console.models import Endpoint, Role

PAGE = "buckets/objects/object_detail.html"
DOWNLOAD_SECONDS = 5 * 60
PREVIEW_BYTES = 64 * 1024
PREVIEW_IMAGE_MAX = 10 * 1024 * 1024  # "10 MiB"
TEXT_TYPES = {
    "application/json", "application/xml", "application/yaml", "application/x-yaml", "application/javascript",
    "application/x-ndjson", "application/toml", "application/sql", "application/csv",
}  # fmt: skip
TEXT_EXTENSIONS = {
    "txt", "json", "jsonl", "ndjson", "xml", "csv", "tsv", "yaml", "yml", "log", "md", "ini", "toml", "conf",
    "cfg", "py", "js", "ts", "css", "html", "htm", "sh", "sql", "rst", "env", "properties",
}  # fmt: skip
UNKNOWN_TYPES = {"", "binary/octet-stream", "application/octet-stream"}


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


def preview(endpoint: Endpoint, bucket: str, head: dict) -> dict | None:
    """What the object page shows of the content: an image URL, the first 64 KiB of text, or nothing."""
    content_type = head["headers"]["ContentType"].split(";")[0].strip().lower()
    if head["sse_customer_algorithm"] or head["headers"]["ContentEncoding"] not in ("", "identity"):
        return None
    where = {"endpoint": endpoint, "bucket": bucket, "key": head["key"], "version_id": head["version_id"]}
    if content_type.startswith("image/"):
        if head["size"] > PREVIEW_IMAGE_MAX:
            return {"kind": "none", "reason": "The image is larger than 10 MiB."}
        return {"kind": "image", "url": s3.presigned_get_url(**where, expires_in=DOWNLOAD_SECONDS)}
    known = _is_text(head)
    if not known and not (content_type in UNKNOWN_TYPES and head["size"] <= 1024 * 1024):
        return None
    data = s3.read_object_start(**where, length=PREVIEW_BYTES)
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


def page_context(target: Target, role: Role, **extra) -> dict:
    key = target.key
    parent = parent_of(key)
    name = key[len(parent) :]
    return {
        "endpoint": target.endpoint,
        "bucket": target.bucket,
        "key": key,
        "keyq": urllib.parse.urlencode({"key": key}),
        "name": name,
        "parent": parent,
        "crumbs": crumbs(parent),
        "role": role,
        "can_write": role.can_write,
        "version_id": target.version_id,
        **extra,
    }


def _object_page(target: Target, role: Role) -> dict:
    """Everything on the object page: the HeadObject of the version shown, each section, the preview."""
    head = s3.head_object(endpoint=target.endpoint, bucket=target.bucket, key=target.key, version_id=target.version_id)
    ctx = page_context(target, role, head=head)
    if head is None:
        return ctx
    latest = (
        head
        if not target.version_id
        else reads.latest_version(endpoint=target.endpoint, bucket=target.bucket, key=target.key)
    )
    # Edits act on the current version: an older version's page is read-only.
    old = bool(target.version_id) and (latest or {}).get("version_id") != target.version_id
    shown = target if old else Target(target.endpoint, target.bucket, key=target.key)
    shown.cached("head", lambda: head)
    if old:
        shown.version_id = target.version_id
    states = read_states(OBJECT_SECTIONS, shown)  # the S3 reads of every section at the same time
    sections = [
        section_context(spec, shown, role, **state) for spec, state in zip(OBJECT_SECTIONS, states, strict=True)
    ]
    found, error = optional(lambda: preview(target.endpoint, target.bucket, head), "Reading the content is")
    ctx.update(
        old_version=old,
        main_sections=[s for s in sections if s["spec"].column == "main"],
        side_sections=[s for s in sections if s["spec"].column == "side"],
        preview={"kind": "none", "reason": error} if error else found,
        share_form=ShareForm(),
        **ACL_VOCABULARY,
    )
    return ctx


@require_GET
def object_detail(request, endpoint_pk: int, bucket: str):
    endpoint, key = endpoint_or_404(endpoint_pk), key_param(request)
    role = access.require_role(request, Role.VIEWER, action="object.view", endpoint=endpoint, bucket=bucket, key=key)
    target = Target(endpoint, bucket, key=key, version_id=request.GET.get("version_id", ""))
    ctx = _object_page(target, role)
    return render(request, PAGE, ctx, status=200 if ctx["head"] else 404)


@require_GET
def object_download(request, endpoint_pk: int, bucket: str):
    endpoint, key = endpoint_or_404(endpoint_pk), key_param(request)
    access.require_role(request, Role.VIEWER, action="object.download", endpoint=endpoint, bucket=bucket, key=key)
    url = s3.presigned_get_url(
        endpoint=endpoint, bucket=bucket, key=key, version_id=request.GET.get("version_id", ""),
        expires_in=DOWNLOAD_SECONDS, content_disposition=attachment_disposition(key),
    )  # fmt: skip
    return redirect(url)


@require_POST
def object_share(request, endpoint_pk: int, bucket: str):
    endpoint, key = endpoint_or_404(endpoint_pk), key_param(request)
    role = access.require_role(request, Role.OPERATOR, action="object.share", endpoint=endpoint, bucket=bucket, key=key)
    target = Target(endpoint, bucket, key=key, version_id=request.POST.get("version_id", ""))
    head = s3.head_object(endpoint=endpoint, bucket=bucket, key=key, version_id=target.version_id)
    form = ShareForm(request.POST)
    ctx = page_context(target, role, head=head, share_form=form)
    if head is None:
        form.add_error(None, "The object does not exist (any more).")
    elif form.is_valid():
        seconds, note = object_services.share_seconds(target, form.cleaned_data["seconds"])
        if seconds < 60:
            form.add_error(None, "The endpoint's credentials expire within a minute: no link can be made now.")
        else:
            ctx["share"] = object_services.object_share_create(
                actor=actor(request, role), target=target, seconds=seconds, note=note
            )
    status = 422 if form.errors else 200
    if request.htmx:
        return render(request, f"{PAGE}#share", ctx, status=status)
    return render(request, PAGE, {**_object_page(target, role), **ctx}, status=status)
