"""Clients, the one error type, and the one way every S3 call is made (:func:`call`).

Every call goes through :func:`call`, which

- translates every botocore failure into :class:`S3Error` (logged once, with the request id);
- keeps to the time budget of the request or job that makes it (:func:`time_budget`): a page waits at
  most its budget for S3, however the endpoint behaves (accepts and never answers, drips bytes);
- refuses a write that no audited change covers (:func:`audited_scope`, entered by ``console.audit``):
  the console never changes S3 without an audit row.
"""

from __future__ import annotations

import collections
import contextvars
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from django.conf import settings

if TYPE_CHECKING:
    from console.models import Endpoint

log = logging.getLogger("buckets.s3")

# Error codes that mean "the server does not implement this setting".
NOT_SUPPORTED_CODES = frozenset(
    {"NotImplemented", "NotSupported", "UnsupportedOperation", "XNotImplemented", "MethodNotAllowed"}
)
TIMEOUT_CODE = "EndpointTimeout"


@dataclass
class S3Error(Exception):
    code: str
    message: str = ""
    request_id: str = ""
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @property
    def not_supported(self) -> bool:
        return self.code in NOT_SUPPORTED_CODES or self.status == 501

    @property
    def timed_out(self) -> bool:
        return self.code == TIMEOUT_CODE

    @property
    def user_message(self) -> str:
        """A sentence for the page: what went wrong, in words, with the S3 code."""
        if self.timed_out:
            return self.message
        hint = FRIENDLY.get(self.code)
        text = hint or self.message or "The S3 server refused the request."
        return f"{text} ({self.code})" if self.code not in text else text


FRIENDLY = {
    "AccessDenied": "The endpoint's credentials are not allowed to do this.",
    "InvalidAccessKeyId": "The access key id is not known to the S3 server.",
    "SignatureDoesNotMatch": "The secret access key is wrong: the server rejected the request signature.",
    "EndpointUnreachable": "The S3 endpoint cannot be reached.",
    "NoCredentials": "No credentials were found for this endpoint.",
    "ProfileNotFound": "The named AWS profile does not exist on this server.",
    "SlowDown": "The S3 server asks to slow down (too many requests); try again in a moment.",
    "NoSuchBucket": "The bucket does not exist (any more).",
    "BucketAlreadyExists": "That bucket name is taken by someone else; bucket names are global.",
    "BucketAlreadyOwnedByYou": "You already own a bucket with that name.",
    "BucketNotEmpty": "The bucket is not empty.",
    "InvalidBucketName": "The S3 server rejected the bucket name.",
    "PreconditionFailed": "The object changed since you opened it.",
    "ExpiredToken": "The endpoint's temporary credentials have expired.",
}

# --- call accounting: call counts for tests, the last request id for the audit trail ------------
CALL_COUNTS: collections.Counter[str] = collections.Counter()
_last_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("s3_last_request_id", default="")
_client_hooks: list = []


def last_request_id() -> str:
    return _last_request_id.get()


_servers: dict[int, str] = {}


def server_software(endpoint: Endpoint) -> str:
    """The ``Server`` header the endpoint last answered with in this process ("" before its first answer)."""
    return _servers.get(endpoint.pk, "")


def on_new_client(callback) -> None:
    """Run ``callback(client, endpoint_name)`` for every new client (metrics register their events so)."""
    if callback not in _client_hooks:
        _client_hooks.append(callback)


def _request_id(answer: dict) -> str:
    meta = answer.get("ResponseMetadata") or {}
    return meta.get("RequestId") or (meta.get("HTTPHeaders") or {}).get("x-amz-request-id", "") or ""


# --- writes only inside an audited change -------------------------------------------------------
_audited: contextvars.ContextVar[str] = contextvars.ContextVar("s3_audited_action", default="")
# Operations that change S3. UploadPart is not here: its bytes belong to an upload whose start
# (CreateMultipartUpload) and end (Complete/Abort) are audited changes.
_WRITE_PREFIXES = ("put_", "delete_", "create_", "copy_", "complete_", "abort_", "restore_", "upload_part_copy")


def is_write(operation: str) -> bool:
    return operation.startswith(_WRITE_PREFIXES)


@contextmanager
def audited_scope(action: str) -> Iterator[None]:
    """Mark the calls inside as part of the audited change ``action`` (entered by ``console.audit.change``)."""
    token = _audited.set(action)
    try:
        yield
    finally:
        _audited.reset(token)


class UnauditedWrite(RuntimeError):
    """A write to S3 outside ``audit.change``: a bug, refused before anything is sent."""


# --- time budgets ---------------------------------------------------------------------------------
@dataclass
class _Budget:
    seconds: float
    deadline: float | None  # a total for a page; None: each call gets ``seconds`` (background jobs)
    spent: bool = False


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("s3_budget", default=None)


class _DaemonPool:
    """Threads for calls under a budget. Daemon threads: a call left hanging on an endpoint that never
    answers must not keep the process alive at exit (a ThreadPoolExecutor joins its threads)."""

    def __init__(self, most: int):
        self.most, self.idle, self.threads = most, 0, 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def submit(self, function, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.queue.put((future, function, args, kwargs))
        with self.lock:
            if self.idle == 0 and self.threads < self.most:
                self.threads += 1
                threading.Thread(target=self._work, name=f"s3-call-{self.threads}", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            with self.lock:
                self.idle += 1
            future, function, args, kwargs = self.queue.get()
            with self.lock:
                self.idle -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)


_executor = _DaemonPool(most=64)


@contextmanager
def time_budget(seconds: float, *, per_call: bool = False) -> Iterator[None]:
    """S3 calls inside wait at most ``seconds`` in all (a page), or each (``per_call``: a background job).

    A call still running when the budget ends is left to finish on its own thread (its socket
    timeouts end it); the caller gets ``S3Error("EndpointTimeout")`` at once, and every later call
    of the same page fails fast, so a page with several S3 reads still answers within its budget.
    """
    deadline = None if per_call else time.monotonic() + seconds
    token = _budget.set(_Budget(seconds, deadline))
    try:
        yield
    finally:
        _budget.reset(token)


def _timeout_error(budget: _Budget) -> S3Error:
    return S3Error(TIMEOUT_CODE, f"The endpoint did not answer within {budget.seconds:g} s.", status=504)


def _run_with_budget(function, params: dict) -> dict:
    budget = _budget.get()
    if budget is None:
        return function(**params)
    if budget.spent:
        raise _timeout_error(budget)
    wait = budget.seconds if budget.deadline is None else budget.deadline - time.monotonic()
    if wait <= 0:
        budget.spent = True
        raise _timeout_error(budget)
    future = _executor.submit(contextvars.copy_context().run, function, **params)
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        budget.spent = budget.deadline is not None
        raise _timeout_error(budget) from None


# --- clients ----------------------------------------------------------------------------------------
_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()
_session_defaults: list = []


def client_config(endpoint: Endpoint, **overrides) -> Config:
    style = {"auto": "auto", "path": "path", "virtual": "virtual"}[endpoint.addressing_style]
    return Config(
        region_name=overrides.get("region") or endpoint.region or "us-east-1",
        signature_version="s3v4",
        connect_timeout=settings.S3_CONNECT_TIMEOUT,
        read_timeout=settings.S3_READ_TIMEOUT,
        retries={"mode": "adaptive", "max_attempts": settings.S3_MAX_ATTEMPTS},
        max_pool_connections=settings.S3_MAX_POOL_CONNECTIONS,
        s3={"addressing_style": style},
    )


def session_for(endpoint: Endpoint) -> boto3.session.Session:
    source = endpoint.credential_source
    if source == "profile":
        session = boto3.session.Session(profile_name=endpoint.profile, region_name=endpoint.region or None)
    elif source == "keys":
        session = boto3.session.Session(
            aws_access_key_id=endpoint.access_key_id,
            aws_secret_access_key=endpoint.get_secret_access_key(),
            region_name=endpoint.region or None,
        )
    else:
        session = boto3.session.Session(region_name=endpoint.region or None)
    for configure in _session_defaults:
        configure(session._session)
    return session


def configure_sessions(callback) -> None:
    """Run ``callback(botocore_session)`` on every new session (e.g. a faster timestamp parser)."""
    _session_defaults.append(callback)


def _count_call(model, **kwargs) -> None:
    CALL_COUNTS[model.name] += 1


EMPTY_BODY_MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="  # base64 MD5 of b""


def _integrity_header(request, **kwargs) -> None:
    """CopyObject sends no body, so no checksum: add the Content-MD5 of the empty body.

    AWS refuses a write into an object-lock bucket with a default retention unless the request carries
    Content-MD5 or a checksum (MissingUploadObjectWithObjectLockHeaders); for a copy the MD5 of the
    empty body is the true one, so every server accepts it.
    """
    if not request.body and "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = EMPTY_BODY_MD5


def new_client(endpoint: Endpoint, **overrides):
    """A client that is not cached (e.g. for another region); prefer :func:`client_for`."""
    try:
        client = session_for(endpoint).client(
            "s3",
            endpoint_url=endpoint.url or None,
            config=client_config(endpoint, **overrides),
            verify=endpoint.verify_tls,
        )
    except ProfileNotFound:
        raise S3Error("ProfileNotFound", f"The profile '{endpoint.profile}' was not found.") from None
    except BotoCoreError as exc:
        raise S3Error(type(exc).__name__, str(exc)) from None
    client.meta.events.register("before-call.s3", _count_call)
    client.meta.events.register("before-sign.s3.CopyObject", _integrity_header)
    for hook in _client_hooks:
        hook(client, endpoint.name)
    return client


def client_for(endpoint: Endpoint):
    """A cached client for the endpoint; a changed endpoint (updated_at) gets a new one."""
    cache_key = (endpoint.pk, endpoint.updated_at)
    client = _clients.get(cache_key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            client = new_client(endpoint)
            for stale in [k for k in _clients if k[0] == endpoint.pk]:
                del _clients[stale]
            _clients[cache_key] = client
    return client


def forget_client(endpoint: Endpoint) -> None:
    with _clients_lock:
        for stale in [k for k in _clients if k[0] == endpoint.pk]:
            del _clients[stale]


def available_profiles() -> list[str]:
    """Profile names found in ~/.aws/credentials and ~/.aws/config."""
    try:
        return sorted(botocore.session.Session().available_profiles)
    except BotoCoreError:
        return []


def credentials_lifetime(*, endpoint: Endpoint) -> dict:
    """{temporary, expires_at}: whether the endpoint signs with temporary credentials, and until when.

    A presigned URL dies with the credentials that signed it, whatever its own expiry says.
    """
    try:
        credentials = client_for(endpoint)._request_signer._credentials
    except AttributeError:
        return {"temporary": False, "expires_at": None}
    if credentials is None:
        return {"temporary": False, "expires_at": None}
    expires_at = getattr(credentials, "_expiry_time", None)
    token = credentials.get_frozen_credentials().token if hasattr(credentials, "get_frozen_credentials") else None
    return {"temporary": bool(token or expires_at), "expires_at": expires_at}


# --- the call -----------------------------------------------------------------------------------------
def translate(exc: Exception) -> S3Error:
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, ClientError):
        err = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode")
        code = str(err.get("Code") or status or "Unknown")
        if code == "503" or (status == 503 and code in {"Unknown", "ServiceUnavailable"}):
            code = "SlowDown"
        return S3Error(code, err.get("Message") or "", _request_id(exc.response), status)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return S3Error("EndpointUnreachable", str(exc))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return S3Error("NoCredentials", "No usable credentials were found for this endpoint.")
    if isinstance(exc, ProfileNotFound):
        return S3Error("ProfileNotFound", str(exc))
    if isinstance(exc, ParamValidationError):
        return S3Error("InvalidParameter", str(exc))
    return S3Error(type(exc).__name__, str(exc))


def call(endpoint: Endpoint, operation: str, /, *, client=None, **params) -> dict:
    """Call one S3 operation within the time budget; every failure becomes S3Error, logged once."""
    if is_write(operation) and not _audited.get():
        raise UnauditedWrite(f"S3 {operation} outside an audited change: call it from a service in audit.change.")
    _last_request_id.set("")
    try:
        function = getattr(client or client_for(endpoint), operation)
        answer = _run_with_budget(function, params)
    except (BotoCoreError, ClientError, S3Error) as exc:
        error = translate(exc)
        _last_request_id.set(error.request_id)
        log.info(
            "S3 %s on endpoint %s failed: %s (request id %s)", operation, endpoint.name, error.code, error.request_id
        )
        raise error from None
    _last_request_id.set(_request_id(answer))
    server = ((answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}).get("server")
    if server and endpoint.pk:
        _servers[endpoint.pk] = server
    return answer


def call_unless_absent(endpoint: Endpoint, operation: str, absent: tuple[str, ...], /, **params) -> dict | None:
    """Like :func:`call`, but an answer that means "there is none" (a code in ``absent``) gives None."""
    try:
        return call(endpoint, operation, **params)
    except S3Error as exc:
        if exc.code in absent:
            return None
        raise


def presign(endpoint: Endpoint, operation: str, params: dict, expires: int) -> str:
    """A presigned URL (signed locally, no S3 call)."""
    try:
        return client_for(endpoint).generate_presigned_url(operation, Params=params, ExpiresIn=int(expires))
    except (BotoCoreError, ClientError) as exc:
        raise translate(exc) from None


def read_body(body, length: int) -> bytes:
    """Read up to ``length`` bytes of a streamed body, then close it."""
    try:
        return body.read(length)
    except (BotoCoreError, OSError) as exc:
        raise translate(exc) from None
    finally:
        body.close()
