"""Which webhook URLs a destination may have: http(s), not the console itself, and (a setting) no private address.

With ``ALERT_BLOCK_PRIVATE_ADDRESSES`` the address is checked twice: when the URL is checked (its name
resolved), and by :func:`post` on the connection itself, so a name that resolves to a public address
when checked and to a private one a moment later (DNS rebinding) reaches nothing. A proxy from the
environment (HTTP_PROXY, HTTPS_PROXY) would make that connection itself, past the check: with the
setting on, webhooks do not go through one.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

LOCAL_NAMES = {"localhost", "localhost.localdomain"}


class URLRefused(ValueError):
    """The URL may not be a destination; the message says why, for the form."""


def _port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        raise URLRefused("The port of this URL is not a number between 1 and 65535.") from None


def _console_netlocs(request_host: str) -> set[tuple[str, int | None]]:
    """(host, port) pairs the console answers on: CONSOLE_BASE_URL's, and the host the admin reached it by."""
    own = set()
    if settings.CONSOLE_BASE_URL:
        parts = urlsplit(settings.CONSOLE_BASE_URL)
        own.add(((parts.hostname or "").lower(), _port(parts)))
    if request_host:
        parts = urlsplit(f"//{request_host}")
        host = (parts.hostname or "").lower()
        own |= {(host, parts.port)} if parts.port else {(host, 80), (host, 443)}  # no port: maybe a TLS proxy
    return own


def _is_console_name(host: str) -> bool:
    """A DNS name in ALLOWED_HOSTS is the console's own (loopback and addresses are shared with other services)."""
    for allowed in settings.ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed in ("*", "") or allowed in LOCAL_NAMES or _ip(allowed.strip("[]")) is not None:
            continue
        if host == allowed or (allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:])):
            return True
    return False


def _ip(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _private(address) -> bool:
    return (
        address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
        or address.is_multicast or address.is_unspecified
    )  # fmt: skip


def addresses(host: str) -> list:
    literal = _ip(host.strip("[]"))
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise URLRefused(f"The host “{host}” cannot be resolved.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str, *, request_host: str = "") -> str:
    """The URL, or URLRefused with the reason. Resolves the host only when private addresses are refused."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise URLRefused("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise URLRefused("Only http:// and https:// URLs can receive alerts.")
    host = (parts.hostname or "").lower()
    if not host:
        raise URLRefused("The URL has no host name.")
    if parts.username or parts.password:
        raise URLRefused("Put credentials in the signing secret, not in the URL.")
    if (host, _port(parts)) in _console_netlocs(request_host) or _is_console_name(host):
        raise URLRefused("This URL points at the console itself; alerts must go to another service.")
    if settings.ALERT_BLOCK_PRIVATE_ADDRESSES and (host in LOCAL_NAMES or any(map(_private, addresses(host)))):
        raise URLRefused(
            "This URL points at a private, loopback or link-local address, which this console refuses "
            "(ALERT_BLOCK_PRIVATE_ADDRESSES)."
        )
    return url.strip()


# --- sending: the connection's own address checked ---------------------------------------------------
PRIVATE_REFUSED = "The receiver's name resolved to a private address when connecting (ALERT_BLOCK_PRIVATE_ADDRESSES)."


class PrivateAddressRefused(NewConnectionError):
    """The connection reached a private address although the name was public when checked."""


class _PublicOnly:
    def _new_conn(self):
        sock = super()._new_conn()
        peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
        if _private(peer):
            sock.close()
            raise PrivateAddressRefused(self, f"{PRIVATE_REFUSED} ({peer})")
        return sock


class _PublicHTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


def post(url: str, *, timeout: tuple[float, float], **kwargs) -> requests.Response:
    """``requests.post``; with ALERT_BLOCK_PRIVATE_ADDRESSES a connection to a private address is refused
    (``requests.ConnectionError`` whose reason is a :class:`PrivateAddressRefused`)."""
    if not settings.ALERT_BLOCK_PRIVATE_ADDRESSES:
        return requests.post(url, timeout=timeout, **kwargs)
    with requests.Session() as session:
        # No proxy from the environment (it would connect wherever the name points, unchecked); a CA
        # bundle named there still counts.
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.mount("http://", _PublicOnlyAdapter())
        session.mount("https://", _PublicOnlyAdapter())
        return session.post(url, timeout=timeout, **kwargs)


def refused_private(exc: requests.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), PrivateAddressRefused)
