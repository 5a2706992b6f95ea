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
import urllib.parse

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from buckets import s3
from buckets.forms.transfer import encode_key
from buckets.views import way_down
from buckets.views.common import PAGE_SIZES, crumbs, endpoint_or_404, human_size, optional, url_for
from catalog.services import analytics as index_sizes
from console import access, crypto
from console.errors import NotFound
from console.models import Endpoint, Role

TEMPLATE = "buckets/objects/object_list.html"
TOKEN_PURPOSE = "listing-position"
UPLOAD_PANEL_COOKIE = "upload_panel"  # "open" or "closed": how the user last left the object list's upload panel

# One object row of the object list, filled with html.escape'd values (quote=True: safe in attributes and
# text alike). Rendered in Python because the template engine spends ~70 µs a row and a page holds up to
# 1,000 rows; the page's goal is to cost little more than the ListObjectsV2 call behind it. The checkbox
# carries the key base64-encoded (key_b64): a browser rewrites line breaks in attribute values.
OBJECT_ROW = (
    '<tr>{check}<td><a class="entry break" href="{href}"><svg class="icon icon-file" '
    'viewBox="0 0 16 16" aria-hidden="true"><use href="#icon-file"></use></svg><span>{name}</span></a></td>'
    '<td class="num nowrap" title="{size} bytes">{size_text}</td><td class="nowrap">{modified}</td>'
    '<td><span class="badge">{storage_class}</span></td>{menu}</tr>'
)
# The row's checkbox, for users who can act on a selection (write here, or copy somewhere).
ROW_CHECK = (
    '<td class="check"><input type="checkbox" name="key_b64" value="{value}" form="object-actions" '
    'aria-label="Select {name}"></td>'
)
# The per-row actions menu: a <details> (keyboard and screen readers know it; no script needed). Its links are
# the page's URLs with the row's quoted key appended (only URL-safe characters: nothing left to escape).
ROW_MENU = (
    '<td class="row-menu"><details class="menu"><summary title="Actions" aria-label="Actions for {name}">'
    '<span aria-hidden="true">⋯</span></summary><ul class="menu-list">{items}</ul></details></td>'
)


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


def _menu(menu: list[tuple[str, str, str]], name: str, quoted: str) -> str:
    items = "".join(f'<li><a href="{base}{quoted}"{attrs}>{label}</a></li>' for label, base, attrs in menu)
    return ROW_MENU.format(name=name, items=items)


def object_rows(
    objects: list[dict], detail_url: str, menu: list[tuple[str, str, str]] | None = None, selectable: bool = True
) -> str:
    esc, quote = html.escape, urllib.parse.quote
    zone, base = timezone.get_current_timezone(), html.escape(detail_url)
    rows = []
    for o in objects:
        quoted, name = quote(o["key"], safe=""), esc(o["name"])  # once a row: the link and the menu share them
        rows.append(OBJECT_ROW.format(
            check=ROW_CHECK.format(value=encode_key(o["key"]), name=name) if selectable else "",
            name=name,
            href=base + quoted,
            size=int(o["size"] or 0),
            size_text=human_size(o["size"]),
            modified=o["last_modified"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if o["last_modified"] else "",
            storage_class=esc(o["storage_class"]),
            menu=_menu(menu, name, quoted) if menu is not None else "",
        ))  # fmt: skip
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
    if versions:
        return _version_list(request, endpoint, bucket, role, prefix, name_filter, size, position)
    # A user whose role covers only some prefixes sees just the way down to them, not their siblings.
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    way = way_down.plan(allowed, prefix, name_filter)
    page, error, following = _objects_page(endpoint, bucket, way, prefix + name_filter, position, size)
    objects = [dict(o, name=o["key"][len(prefix) :]) for o in page["objects"] if access.key_allowed(allowed, o["key"])]
    # A "folder marker" (a key equal to the prefix, ending in /) is this folder, not an entry in it.
    listed = [o for o in objects if o["key"] != prefix or not prefix]
    folders = _folders(page["prefixes"], prefix, allowed)
    sized = index_sizes.with_folder_sizes(endpoint, bucket, folders, allowed)  # from the bucket index (catalog)
    sort = request.GET.get("sort", "")
    folders, listed = _sorted(folders, sort), _sorted(listed, sort)
    following = following and seal_position(following, listing)
    ctx = _context(endpoint, bucket, role, prefix, name_filter, size, error, position) | {
        "folders": folders,
        "folder_sizes": sized,
        "sort": sort,
        "marker": next((o for o in objects if o["key"] == prefix and prefix), None),
        "objects": listed,
        "selectable": (selectable := role.can_write or access.writes_somewhere(request.user)),
        "object_rows": _object_rows(endpoint, bucket, role, listed, selectable),
        "object_count": len(objects),
        **_page_links(endpoint, bucket, _list_query(prefix, name_filter, size), following),
        "upload_open": _upload_open(request, empty=not (listed or page["prefixes"])),
    }
    return _render(request, ctx)


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


def _context(endpoint: Endpoint, bucket: str, role: Role, prefix, name_filter, size, error, position) -> dict:
    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "filter": name_filter,
        "paged": bool(position),
        "crumbs": crumbs(prefix),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "can_write": role.can_write,
        "error": error,
    }


def _render(request, ctx: dict):
    partial = request.htmx and not request.htmx.history_restore_request
    # A role on prefixes only opens no bucket settings (that page sends such a user back here).
    role_on_bucket = access.effective_role(request.user, endpoint=ctx["endpoint"], bucket=ctx["bucket"])
    ctx["bucket_settings"] = role_on_bucket is not None
    return render(request, TEMPLATE + ("#object-table" if partial else ""), ctx)


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


def _version_list(request, endpoint, bucket, role, prefix, name_filter, size, position):
    """The folder with every version and delete marker of its keys ("Show versions"): one ListObjectVersions call."""
    allowed = access.allowed_prefixes(request.user, endpoint, bucket)
    way = way_down.plan(allowed, prefix, name_filter)
    page, error, following = _versions_page(endpoint, bucket, way, prefix + name_filter, position, size)
    versions = [
        dict(v, name=v["key"][len(prefix) :], short_id=short_version(v["version_id"]))
        for v in page["versions"]
        if access.key_allowed(allowed, v["key"])
    ]
    for i, v in enumerate(versions):
        v["first"] = i == 0 or versions[i - 1]["key"] != v["key"]  # the key's name shows once, on its first row
    listing = listing_of("versions", endpoint, bucket, prefix, name_filter)
    following = following and seal_position(following, listing)
    ctx = _context(endpoint, bucket, role, prefix, name_filter, size, error, position) | {
        "show_versions": True,
        "folders": _folders(page["prefixes"], prefix, allowed),
        "versions": versions,
        **_page_links(endpoint, bucket, _list_query(prefix, name_filter, size, versions="1"), following),
        "here_url": request.get_full_path(),
    }
    return _render(request, ctx)
