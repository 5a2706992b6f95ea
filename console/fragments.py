"""Page output kept in this process under the generations of the records it shows.

A page's costly part (the bucket list's table, say) is built once and kept; the next request for the
same thing reads the counters of the kinds of records it shows (``console.generations``, one small
query) and, when none has moved, sends what was kept. A change committed anywhere — another
instance, a worker — raises a counter, so the output is built again: nothing shared between
processes but the database. What the output also depends on goes in its key: the request's
parameters, the user's scope (never the user's session or CSRF token: those stay out of kept
output), the language and time zone. ``PAGE_KEEP_SECONDS`` bounds how old kept output gets, so
its "3 minutes ago" texts age at most that much; 0 keeps nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from django.utils.translation import get_language

from console import generations

T = TypeVar("T")


def kept(name: str, parts: tuple, counted: tuple[str, ...], build: Callable[[], T]) -> T:
    """``build()``'s value for ``parts``, kept while the generations ``counted`` stay where they are."""
    if not settings.PAGE_KEEP_SECONDS:
        return build()
    state = (name, parts, generations.current(counted), get_language(), timezone.get_current_timezone_name())
    key = f"{name}:{hashlib.blake2b(repr(state).encode(), digest_size=16).hexdigest()}"
    cache = caches["pages"]
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, settings.PAGE_KEEP_SECONDS)
    return value
