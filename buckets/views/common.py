"""What the views of the buckets app share: lookups, URLs with keys in the query string, small presenters.

Keys are user data: they travel only in query strings (``?key=``, ``?prefix=``) and reach pages
through autoescape.
"""

from __future__ import annotations

import urllib.parse

from django.http import Http404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from buckets import s3
from buckets.forms.transfer import decode_key
from console import audit
from console.errors import NotFound
from console.models import Endpoint, Role
from console.rowlookup import RowLookup
from console.sizes import human_size  # noqa: F401 - the rows' sizes, in the one convention of console/sizes.py

PAGE_SIZES = (100, 250, 500, 1000)  # rows a page of the object list may show; the first is the default


_ENDPOINT = RowLookup(Endpoint, "pk")


def endpoint_or_404(endpoint_pk: int) -> Endpoint:
    """The endpoint of a bucket view's URL (every one of them reads it: without the ORM's compile), else a 404."""
    endpoint = _ENDPOINT.get(endpoint_pk)
    if endpoint is None:
        raise Http404("No endpoint matches the given query.")
    return endpoint


def key_param(request) -> str:
    """The object key of the request: in the form for a POST, else in the query string.

    Forms carry it base64-encoded (``key_b64``): a browser turns line breaks in a form value into
    other ones, and keys may hold them. A plain ``key`` (links, query strings) is read too.
    """
    data = request.POST if request.method == "POST" else request.GET
    key = decode_key(data["key_b64"]) if data.get("key_b64") else data.get("key")
    if not key:
        raise NotFound("No object key given.")
    return key


def url_for(name: str, endpoint: Endpoint, bucket: str, **query) -> str:
    """A bucket-scoped URL with its query (keys, prefixes, markers) urlencoded; empty values left out."""
    query = {k: v for k, v in query.items() if v}
    base = reverse(name, args=[endpoint.pk, bucket])
    return f"{base}?{urllib.parse.urlencode(query)}" if query else base


def back_to(request, default: str) -> str:
    """The page the form came from when it says so (``next``, a path of this site only), else ``default``."""
    wanted = request.POST.get("next", "")
    return wanted if wanted.startswith("/") and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None) else default


def actor(request, role: Role | str) -> audit.Actor:
    return audit.Actor.from_request(request, role)


def s3_text(exc: s3.S3Error) -> str:
    """An S3 refusal in words for the page."""
    if exc.code == "PreconditionFailed":
        return "This object changed since you opened it — reload to see the current version. Nothing was saved."
    return "This is not supported by this endpoint." if exc.not_supported else exc.user_message


def crumbs(prefix: str) -> list[dict]:
    """Each complete path segment of a prefix, linked to its own prefix ("a//b/" has an empty one)."""
    parts = prefix.split("/")
    return [{"name": part, "prefix": "/".join(parts[: i + 1]) + "/"} for i, part in enumerate(parts[:-1])]


def parent_of(key: str) -> str:
    """The listing a key appears in: "a//b" is in "a//", "a/" in the root."""
    folder, slash, _ = (key[:-1] if key.endswith("/") else key).rpartition("/")
    return folder + slash


def optional(call, what: str) -> tuple:
    """(value, "") or (None, a sentence): one part of a page the endpoint refuses does not break the page."""
    try:
        return call(), ""
    except s3.S3Error as exc:
        return None, (f"{what} not supported by this endpoint." if exc.not_supported else exc.user_message)
