"""Browsing a bucket: one folder at a time, one S3 listing call a page, and the folder with every version.

Listing positions (continuation tokens, version markers) reach the browser sealed (``crypto.seal``):
some servers' tokens are plain key names, which would show a prefix-scoped user the names beyond
their prefixes; a token the console did not make is refused, so nobody can start a listing anywhere.
A token is bound to the listing it continues (which list, endpoint, bucket, prefix and filter): used
on another one, it is refused too.
"""

from __future__ import annotations

import html
import json
import secrets
import urllib.parse
from collections.abc import Callable

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from buckets import s3
from buckets.forms.transfer import encode_key
from buckets.views import way_down
from buckets.views.common import PAGE_SIZES, crumbs, endpoint_or_404, human_size, optional, url_for
from buckets.views.section_reads import started
from catalog.services import analytics as index_sizes
from console import access, crypto, fragments
from console.errors import NotFound
from console.models import Endpoint, Role

TEMPLATE = "buckets/objects/object_list.html"  # the page: base layout and its content
CONTENT = "buckets/objects/object_list_content.html"  # around the table: kept (console/fragments.py)
TABLE = "buckets/objects/_object_table.html"  # the table, also the htmx fragment: rendered without the request
BULK_BAR = "buckets/objects/_bulk_actions.html"  # the selection's actions, in the table
# What the content around the table shows is all in its key: of records only the endpoint's name, read with
# the endpoint on every request, so it counts no generation (no query).
CONTENT_PARTS = (
    "endpoint_pk", "endpoint_name", "bucket", "prefix", "filter", "size", "can_write", "bucket_settings",
    "show_versions",
)  # fmt: skip
TOKEN_PURPOSE = "listing-position"
UPLOAD_PANEL_COOKIE = "upload_panel"  # "open" or "closed": how the user last left the object list's upload panel

# The object rows of the object list, filled with html.escape'd values (quote=True: safe in attributes and
# text alike). Rendered in Python because the template engine spends ~70 µs a row and a page holds up to
# 1,000 rows; the page's goal is to cost little more than the ListObjectsV2 call behind it. The checkbox
# (for users who can act on a selection: write here, or copy somewhere) carries the key base64-encoded
# (key_b64): a browser rewrites line breaks in attribute values.
FILE_ICON = '<svg class="icon icon-file" viewBox="0 0 16 16" aria-hidden="true"><use href="#icon-file"></use></svg>'
# The per-row actions menu: a <details> (keyboard and screen readers know it; no script needed). Its links are
# the page's URLs with the row's quoted key appended (only URL-safe characters: nothing left to escape).
MENU_OPEN = '<td class="row-menu"><details class="menu"><summary title="Actions" aria-label="Actions for '
MENU_LIST = '"><span aria-hidden="true">⋯</span></summary><ul class="menu-list">'
MENU_CLOSE = "</ul></details></td>"
_KEY = "\0"  # where a row's quoted key goes in the menu's links (no URL or label holds it)


def row_menu(endpoint: Endpoint, bucket: str, can_write: bool, can_copy: bool) -> list[tuple[str, str, str]]:
    """(label, URL up to "key=", extra attributes) of each action of an object row, made once per page.

    Only what the role allows: a copy needs somewhere to write (``can_copy``), the rest a writer here.
    """
    names = [("Download", "object_download", ""), ("Versions", "object_versions", "")]
    if can_copy:
        names.append(("Copy…", "object_copy", ""))
    if can_write:
        names += [("Move…", "object_move", ""), ("Rename…", "object_rename", "")]
        names += [("Delete…", "object_delete", ' class="danger"')]
    return [
        (label, html.escape(reverse(name, args=[endpoint.pk, bucket]) + "?key="), attrs) for label, name, attrs in names
    ]


def object_rows(
    objects: list[dict], detail_url: str, menu: list[tuple[str, str, str]] | None = None, selectable: bool = True
) -> str:
    """The rows of ``objects`` ({key, name (what the row shows), size, last_modified, storage_class}).

    What every row shares is made once: the menu's links around the key, the quoted folder part of the
    keys, each storage class escaped."""
    esc, quote, zone, base = html.escape, urllib.parse.quote, timezone.get_current_timezone(), html.escape(detail_url)
    items = "".join(f'<li><a href="{url}{_KEY}"{attrs}>{label}</a></li>' for label, url, attrs in menu or ())
    links = items.split(_KEY)
    heads: dict[str, str] = {}  # a key's part before its name ("reports/2024/"), quoted
    classes: dict[str, str] = {}
    rows = []
    for o in objects:
        key, name = o["key"], o["name"]
        head, tail = (key[: len(key) - len(name)], name) if key.endswith(name) else (key, "")
        if (quoted_head := heads.get(head)) is None:
            quoted_head = heads[head] = quote(head, safe="")
        quoted, shown = quoted_head + quote(tail, safe=""), esc(name)
        size, moment = int(o["size"] or 0), o["last_modified"]
        if (storage := classes.get(o["storage_class"])) is None:
            storage = classes[o["storage_class"]] = esc(o["storage_class"])
        check = (
            f'<td class="check"><input type="checkbox" name="key_b64" value="{encode_key(key)}" form="object-actions" '
            f'aria-label="Select {shown}"></td>'
        ) if selectable else ""  # fmt: skip
        rows.append(
            f'<tr>{check}<td><a class="entry break" href="{base}{quoted}">{FILE_ICON}<span>{shown}</span></a></td>'
            f'<td class="num nowrap" title="{size} bytes">{human_size(size)}</td>'
            f'<td class="nowrap">{moment.astimezone(zone).isoformat(" ", "seconds")[:19] if moment else ""}</td>'
            f'<td><span class="badge">{storage}</span></td>'
            f"{MENU_OPEN + shown + MENU_LIST + quoted.join(links) + MENU_CLOSE if menu is not None else ''}</tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


def listing_of(kind: str, endpoint: Endpoint, bucket: str, prefix: str = "", name_filter: str = "") -> list:
    """What a sealed position is bound to: the kind of list ("objects", "versions", "key-versions", "uploads")
    and where it lists."""
    return [kind, endpoint.pk, bucket, prefix, name_filter]


def seal_position(position: dict, listing: list) -> str:
    """``position`` for the browser, readable only by this console and only for ``listing``
    (what names the list: its kind, endpoint, bucket and prefix)."""
    return crypto.seal(TOKEN_PURPOSE, json.dumps({"listing": listing, "position": position}))


def unseal_position(token: str, listing: list) -> dict:
    """The listing position of a token this console handed out for this very listing; 404 for anything else."""
    if not token:
        return {}
    plain = crypto.unseal(TOKEN_PURPOSE, token)
    sealed = json.loads(plain) if plain is not None else {}
    if sealed.get("listing") != listing:
        raise NotFound("This page link is not valid (any more): start from the first page.")
    return sealed["position"]


def _page_size(request) -> int:
    wanted = request.GET.get("size")
    return int(wanted) if wanted in {str(n) for n in PAGE_SIZES} else PAGE_SIZES[0]


def _folders(prefixes: list[str], prefix: str, allowed) -> list[dict]:
    return [{"prefix": p, "name": p[len(prefix) :]} for p in prefixes if access.folder_visible(allowed, p)]


@require_GET
def object_list(request, endpoint_pk: int, bucket: str):
    endpoint = endpoint_or_404(endpoint_pk)
    prefix, name_filter, size = request.GET.get("prefix", ""), request.GET.get("filter", ""), _page_size(request)
    role = access.require_role(
        request, Role.VIEWER, action="object.list", endpoint=endpoint, bucket=bucket, key=prefix, listing=True
    )
    versions = request.GET.get("versions") == "1"
    listing = listing_of("versions" if versions else "objects", endpoint, bucket, prefix, name_filter)
    position = unseal_position(request.GET.get("token", ""), listing)
    # A user whose role covers only some prefixes sees just the way down to them, not their siblings.
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    way = way_down.plan(allowed, prefix, name_filter)
    list_page = _versions_page if versions else _objects_page  # started first: the rest is made while S3 answers
    pending = started(endpoint, list_page, endpoint, bucket, way, prefix + name_filter, position, size)
    ctx = _context(request.user, endpoint, bucket, role, prefix, name_filter, size, position, versions)
    if versions:
        return _render(request, ctx, lambda: _version_table(request, ctx, allowed, listing, *pending.result()))
    return _render(request, ctx, lambda: _object_table(request, ctx, role, allowed, listing, *pending.result()))


def _object_table(request, ctx: dict, role: Role, allowed, listing: list, page: dict, error: str, following) -> dict:
    """What the table shows of one ListObjectsV2 page (and the upload panel's default, open on an empty folder)."""
    endpoint, bucket, prefix = ctx["endpoint"], ctx["bucket"], ctx["prefix"]
    objects = [dict(o, name=o["key"][len(prefix) :]) for o in page["objects"] if access.key_allowed(allowed, o["key"])]
    # A "folder marker" (a key equal to the prefix, ending in /) is this folder, not an entry in it.
    listed = [o for o in objects if o["key"] != prefix or not prefix]
    folders = _folders(page["prefixes"], prefix, allowed)
    sized = index_sizes.with_folder_sizes(endpoint, bucket, folders, allowed)  # from the bucket index (catalog)
    sort = request.GET.get("sort", "")
    folders, listed = _sorted(folders, sort), _sorted(listed, sort)
    following = following and seal_position(following, listing)
    return {
        "error": error,
        "folders": folders,
        "folder_sizes": sized,
        "sort": sort,
        "marker": next((o for o in objects if o["key"] == prefix and prefix), None),
        "objects": listed,
        "selectable": (selectable := role.can_write or ctx["can_copy"]),
        "object_rows": _object_rows(endpoint, bucket, role, listed, selectable),
        "object_count": len(objects),
        **_page_links(endpoint, bucket, _list_query(prefix, ctx["filter"], ctx["size"]), following),
        "upload_open": _upload_open(request, empty=not (listed or page["prefixes"])),
    }


EMPTY_OBJECTS = {"prefixes": [], "objects": [], "next_token": ""}


def _objects_page(endpoint: Endpoint, bucket: str, way, prefix: str, position: dict, size: int) -> tuple:
    """One ListObjectsV2 page of a folder (or of the way down, ``way``): (page, error, next position).
    An empty page and the error to show when S3 fails."""

    def list_part(part: str, position: dict) -> tuple[dict, str, dict | None]:
        page, error = optional(
            lambda: s3.list_objects_page(
                endpoint=endpoint, bucket=bucket, prefix=part, delimiter="/", token=position.get("token", ""),
                max_keys=size,
            ),
            "Listing is",
        )  # fmt: skip
        page = page or EMPTY_OBJECTS
        return page, error, ({"token": page["next_token"]} if page["next_token"] else None)

    return list_part(prefix, position) if way is None else way_down.page(way, position, list_part, EMPTY_OBJECTS)


def _object_rows(endpoint: Endpoint, bucket: str, role: Role, listed: list[dict], can_copy: bool) -> str:
    """The page's object rows, with the actions menu the user's role allows (and checkboxes when a selection
    can be acted on: a copy needs somewhere to write)."""
    detail_url = reverse("object_detail", args=[endpoint.pk, bucket]) + "?key="
    menu = row_menu(endpoint, bucket, role.can_write, can_copy)
    return object_rows(listed, detail_url, menu, selectable=can_copy)


def _list_query(prefix: str, name_filter: str, size: int, **extra) -> dict:
    """What the object list's page links keep of the request (the page size only when it is not the default)."""
    return {"prefix": prefix, "filter": name_filter, **extra, **({"size": size} if size != PAGE_SIZES[0] else {})}


def _page_links(endpoint: Endpoint, bucket: str, query: dict, following: str) -> dict:
    return {
        "next_url": following and url_for("object_list", endpoint, bucket, **query, token=following),
        "first_url": url_for("object_list", endpoint, bucket, **query),
    }


def _upload_open(request, *, empty: bool) -> bool:
    """The upload panel as the user left it (a cookie set by objects.js); by default open on an empty folder only."""
    remembered = request.COOKIES.get(UPLOAD_PANEL_COOKIE)
    return remembered == "open" if remembered in ("open", "closed") else empty


def _newest(entry: dict) -> float:
    moment = entry.get("last_modified") or entry.get("newest")  # an object's date, or a folder's newest object's
    return moment.timestamp() if moment else 0.0


SORTS = {  # the entries of one page, by size or date (largest, newest first); S3 lists by name
    "size": lambda e: -(e.get("size") or 0),
    "date": lambda e: -_newest(e),
}


def _sorted(entries: list[dict], sort: str) -> list[dict]:
    return sorted(entries, key=SORTS[sort]) if sort in SORTS else entries


def _context(user, endpoint: Endpoint, bucket: str, role: Role, prefix, name_filter, size, position, versions) -> dict:
    """What the page shows around its table (no S3 answer needed)."""
    # A role on prefixes only opens no bucket settings (that page sends such a user back here).
    role_on_bucket = access.effective_role(user, endpoint=endpoint, bucket=bucket)
    return {
        "endpoint": endpoint,
        "endpoint_pk": endpoint.pk,
        "endpoint_name": endpoint.name,
        "bucket": bucket,
        "prefix": prefix,
        "filter": name_filter,
        "paged": bool(position),
        "crumbs": crumbs(prefix),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "can_write": role.can_write,
        "can_copy": access.writes_somewhere(user),  # a copy needs somewhere to write
        "bucket_settings": role_on_bucket is not None,
        "show_versions": versions,
    }


# Where the content goes in the page, the table and the upload panel's "open" in the content: random per
# process, so no key or name shown around them can spell them.
CONTENT_STANDIN, TABLE_STANDIN, OPEN_STANDIN = (secrets.token_hex(20) for _ in range(3))


def _render(request, ctx: dict, table: Callable[[], dict]) -> HttpResponse:
    """The page, its table from ``table()``, which waits for the S3 listing started before. Everything else
    is made meanwhile: the base layout, the content around the table (kept until the endpoint changes), the
    selection's action bar. An htmx request gets the table alone."""
    ctx["csrf_token"] = fragments.csrf_token(request)
    ctx["bulk_bar"] = "" if ctx["show_versions"] else _bulk_bar(request, ctx)
    if request.htmx and not request.htmx.history_restore_request:
        return HttpResponse(render_to_string(TABLE, ctx | table()))
    around = fragments.kept_content(
        request, "object-list", tuple(ctx.get(name) for name in CONTENT_PARTS), (), CONTENT,
        lambda: ctx | {"object_table": TABLE_STANDIN, "upload_open_attr": OPEN_STANDIN},
    )  # fmt: skip
    page = render_to_string(
        TEMPLATE,
        {"bucket": ctx["bucket"], "prefix": ctx["prefix"], "content": CONTENT_STANDIN, "csrf_token": ctx["csrf_token"]},
        request,
    )
    full = ctx | table()
    content = around.replace(OPEN_STANDIN, " open" if full.get("upload_open") else "", 1)
    content = content.replace(TABLE_STANDIN, render_to_string(TABLE, full), 1)
    return HttpResponse(page.replace(CONTENT_STANDIN, content, 1))


def _bulk_bar(request, ctx: dict) -> str:
    """The selection's action bar: the same for every page of a folder and role (kept, as the content around)."""
    parts = tuple(ctx[name] for name in ("endpoint_pk", "bucket", "prefix", "can_write", "can_copy"))
    return fragments.kept_content(request, "object-bulk-bar", parts, (), BULK_BAR, lambda: ctx)


def short_version(version_id: str) -> str:
    # Head and tail: SeaweedFS's ids begin with a timestamp, so versions written together share their start.
    return version_id if len(version_id) <= 12 else f"{version_id[:4]}…{version_id[-6:]}"


EMPTY_VERSIONS = {"prefixes": [], "versions": [], "next": None}


def _versions_page(endpoint: Endpoint, bucket: str, way, prefix: str, position: dict, size: int) -> tuple:
    """One ListObjectVersions page of a folder (or of the way down, ``way``): (page, error, next position)."""

    def list_part(part: str, position: dict) -> tuple[dict, str, dict | None]:
        page, error = optional(
            lambda: s3.list_versions_page(
                endpoint=endpoint, bucket=bucket, prefix=part, delimiter="/",
                key_marker=position.get("key_marker", ""), version_id_marker=position.get("version_id_marker", ""),
                max_keys=size,
            ),
            "Listing is",
        )  # fmt: skip
        page = page or EMPTY_VERSIONS
        return page, error, page["next"]

    return list_part(prefix, position) if way is None else way_down.page(way, position, list_part, EMPTY_VERSIONS)


def _version_table(request, ctx: dict, allowed, listing: list, page: dict, error: str, following) -> dict:
    """What the table shows of one ListObjectVersions page: the folder with every version and delete marker
    of its keys ("Show versions")."""
    endpoint, bucket, prefix = ctx["endpoint"], ctx["bucket"], ctx["prefix"]
    versions = [
        dict(v, name=v["key"][len(prefix) :], short_id=short_version(v["version_id"]))
        for v in page["versions"]
        if access.key_allowed(allowed, v["key"])
    ]
    for i, v in enumerate(versions):
        v["first"] = i == 0 or versions[i - 1]["key"] != v["key"]  # the key's name shows once, on its first row
    following = following and seal_position(following, listing)
    return {
        "error": error,
        "folders": _folders(page["prefixes"], prefix, allowed),
        "versions": versions,
        **_page_links(endpoint, bucket, _list_query(prefix, ctx["filter"], ctx["size"], versions="1"), following),
        "here_url": request.get_full_path(),
    }
