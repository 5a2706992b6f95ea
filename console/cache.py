"""The shared cache (Redis, when ``REDIS_URL`` is set) that keeps serving when Redis does not.

Sessions (``cached_db``) and the remembered bucket facts live in it. Django's Redis backend raises
when Redis is down or slow, and every page would fail with it; here a read that cannot reach Redis is
a miss (the session comes from the database, the fact from S3), a write or delete that cannot is
logged and skipped. Timeouts are short (``REDIS_TIMEOUT``, default 0.5 s) so a hung Redis costs a
page at most that long per call, and after a failure Redis is left alone for ``RETRY_AFTER`` seconds.

A session deleted (logout) while Redis was unreachable stays in Redis until it comes back and the
entry expires; the next save of that session (at most a minute of activity later, see
``SessionIdleTimeoutMiddleware``) finds no database row and ends it.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)
RETRY_AFTER = 10.0


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _guard(self, operation: str, function, default=None):
        if time.monotonic() < self._down_until:
            return default
        try:
            return function()
        except Exception as exc:  # redis.exceptions.ConnectionError, TimeoutError, ResponseError …
            with self._lock:
                first = time.monotonic() >= self._down_until
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:
                log.warning("Redis cache %s failed (%s); using the database for %g s", operation, exc, RETRY_AFTER)
            return default

    def get(self, key, default=None, version=None):
        return self._guard("get", lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def get_many(self, keys, version=None):
        return self._guard("get_many", lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._guard("has_key", lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def set(self, key, value, timeout=None, version=None):
        return self._guard("set", lambda: super(ResilientRedisCache, self).set(key, value, timeout, version))

    def add(self, key, value, timeout=None, version=None):
        return self._guard("add", lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), False)

    def set_many(self, data, timeout=None, version=None):
        return self._guard("set_many", lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), [])

    def delete(self, key, version=None):
        return self._guard("delete", lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys, version=None):
        return self._guard("delete_many", lambda: super(ResilientRedisCache, self).delete_many(keys, version))

    def touch(self, key, timeout=None, version=None):
        return self._guard("touch", lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)
