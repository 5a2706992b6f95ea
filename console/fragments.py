"""Page output kept in this process under the generations of the records it shows.

A page's costly part (the bucket list's table, say) is built once and kept; the next request for the
same thing reads the counters of the kinds of records it shows (``console.generations``, one small
query) and, when none has moved, sends what was kept. A change committed anywhere — another
instance, a worker — raises a counter, so the output is built again: nothing shared between
processes but the database. What the output also depends on goes in its key: the request's
parameters, the user's scope (``access.scope_key``), the language and time zone. Nothing of one
request is kept: a form's CSRF token is rendered as a stand-in (random per process, so no user data
can spell it) that each request replaces with its own token. ``PAGE_KEEP_SECONDS`` bounds how old
kept output gets, so its "3 minutes ago" texts age at most that much; 0 keeps nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from console import access, generations

T = TypeVar("T")
CSRF_STANDIN = secrets.token_hex(20)  # what kept output holds where a form's CSRF token goes


def csrf_token(request) -> str:
    """This request's CSRF token for its forms: masked once per response, as ``{% csrf_token %}`` does within one
    render (``get_token`` masks it anew on every call, ~36 µs each). A page made of several renders (a kept part,
    the layout) uses this one everywhere."""
    secret = request.META.get("CSRF_COOKIE")  # a new secret (sign-in rotates it) gets a new token
    kept_for, token = getattr(request, "_console_csrf_token", (None, None))
    if token is None or kept_for != secret:
        token = get_token(request)
        request._console_csrf_token = (request.META.get("CSRF_COOKIE"), token)
    return token


def kept(name: str, parts: tuple, counted: tuple[str, ...], build: Callable[[], T], read: Iterable | None = None) -> T:
    """``build()``'s value for ``parts``, kept while the generations ``counted`` stay where they are (``read``:
    their values, when the caller has read them already)."""
    if not settings.PAGE_KEEP_SECONDS:
        return build()
    read = generations.current(counted) if read is None else tuple(read)
    state = (name, parts, read, get_language(), timezone.get_current_timezone_name())
    key = f"{name}:{hashlib.blake2b(repr(state).encode(), digest_size=16).hexdigest()}"
    cache = caches["pages"]
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, settings.PAGE_KEEP_SECONDS)
    return value


def kept_content(request, name: str, parts: tuple, counted: tuple[str, ...], template: str, context) -> SafeString:
    """``template`` rendered for ``request`` with ``context()``, kept for everyone of the user's scope.

    The scope (``access.scope_key``) is part of the key here, so no caller can forget it; the CSRF
    token of every ``{% csrf_token %}`` is this request's.
    """
    return _kept_render(request, name, parts, counted, template, context, None)


def kept_contents(request, name: str, parts: tuple, pieces: dict[str, tuple]) -> dict[str, SafeString]:
    """Several parts of one page, ``{piece: (counted, template, context)}``, each as ``kept_content`` keeps it
    under its own kinds of records: a change builds again only the pieces that show its kind. The counters
    of all are read in one query."""
    kinds = tuple(dict.fromkeys(kind for counted, _, _ in pieces.values() for kind in counted))
    read = dict(zip(kinds, generations.current(kinds), strict=True)) if settings.PAGE_KEEP_SECONDS else {}
    return {
        piece: _kept_render(request, f"{name}:{piece}", parts, kinds_of, template, context, map(read.get, kinds_of))
        for piece, (kinds_of, template, context) in pieces.items()
    }


def _kept_render(request, name: str, parts: tuple, counted: tuple, template: str, context, read) -> SafeString:
    def build() -> str:
        return render_to_string(template, {**context(), "csrf_token": CSRF_STANDIN}, request=request)

    html = kept(name, (access.scope_key(request.user), *parts), counted, build, read)
    return mark_safe(html.replace(CSRF_STANDIN, csrf_token(request)) if CSRF_STANDIN in html else html)  # noqa: S308 - rendered by the template engine, escaped there
