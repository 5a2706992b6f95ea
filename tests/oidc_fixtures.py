"""A real OpenID provider for the tests: the npm package `oidc-provider` (tests/oidc/), on a loopback port.

One provider per test session (per xdist worker). Its users live in a JSON file the tests
rewrite (``provider.set_accounts``); ``provider.set_faults`` makes its next answers wrong in
one way (audience, issuer, signature, claims), so every refusal is tested against real tokens.

The console is registered as a native client (RFC 8252): the provider accepts its loopback
redirect URI on any port, so the Django test client (host ``localhost``) and the live server
of the browser tests (``localhost:<port>``) share one registration.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from console import oidc

OIDC_DIR = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "console", "console-test-secret-0123456789"
HOST = "localhost"  # the console's host in these tests: a loopback name the provider accepts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections (the kernel's backlog) and never answers: a server that hangs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


class Provider:
    def __init__(self, state: Path, port: int, proc: subprocess.Popen):
        self.state, self.port, self.proc = state, port, proc
        self.issuer = f"http://127.0.0.1:{port}"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"

    def set_accounts(self, accounts: dict) -> None:
        (self.state / "accounts.json").write_text(json.dumps(accounts))

    def set_faults(self, faults: dict | None) -> None:
        path = self.state / "faults.json"
        if faults:
            path.write_text(json.dumps(faults))
        else:
            path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def oidc_provider():
    if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("tests/oidc/node_modules is missing: `make test` installs it (npm ci --prefix tests/oidc)")
    state = Path(tempfile.mkdtemp(prefix="oidc-"))
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "application_type": "native",
            "redirect_uris": [f"http://{HOST}/oidc/callback/"],
            "post_logout_redirect_uris": [f"http://{HOST}/login/"],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        }
    ]
    (state / "clients.json").write_text(json.dumps(clients))
    port = free_port()
    log = open(state / "provider.log", "w")  # noqa: SIM115 - open for the life of the process
    proc = subprocess.Popen(
        ["node", str(OIDC_DIR / "provider.mjs"), str(state), str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    provider = Provider(state, port, proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(provider.discovery_url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("oidc-provider did not start: " + (state / "provider.log").read_text()[-2000:])
            time.sleep(0.1)
        yield provider
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def oidc_on(oidc_provider, settings):
    """OpenID sign-in configured against the test provider; no faults, no users yet."""
    settings.OIDC_DISCOVERY_URL = oidc_provider.discovery_url
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_BUTTON_LABEL = "Sign in with Test IdP"
    oidc.discovery.forget()
    oidc_provider.set_faults(None)
    oidc_provider.set_accounts({})
    yield oidc_provider
    oidc_provider.set_faults(None)
    oidc.discovery.forget()


def console_client(**extra) -> Client:
    return Client(HTTP_HOST=HOST, **extra)


class ProviderBrowser:
    """The provider's login and consent pages, driven over HTTP (the browser test uses Chromium)."""

    def __init__(self):
        self.http = requests.Session()

    def sign_in(self, authorize_url: str, login: str) -> str:
        """Follow the provider from the authorization request to the redirect back to the console."""
        url = authorize_url
        for _ in range(12):
            response = self.http.get(url, allow_redirects=False, timeout=10)
            while response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith(f"http://{HOST}/"):
                    return url
                response = self.http.get(url, allow_redirects=False, timeout=10)
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            assert action and prompt, f"no login or consent form at {url}: {response.text[:500]}"
            data = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                data.update(login=login, password="any password")
            response = self.http.post(urljoin(url, action.group(1)), data=data, allow_redirects=False, timeout=10)
            url = urljoin(url, response.headers["location"])
            if url.startswith(f"http://{HOST}/"):
                return url
        raise AssertionError("the provider never sent the browser back")


def start(client: Client, next_url: str = "") -> str:
    """The console's "Sign in with …" link: returns the provider's authorization URL it redirects to."""
    response = client.get(reverse("oidc_start") + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response
    return response["Location"]


def callback(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def sign_in(client: Client, login: str, browser: ProviderBrowser | None = None, next_url: str = ""):
    """The whole round trip; returns the console's answer to the callback."""
    return callback(client, (browser or ProviderBrowser()).sign_in(start(client, next_url), login))
