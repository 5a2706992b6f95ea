"""Clients per endpoint, and the one way every S3 call is made (:func:`call`).

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
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
import botocore.utils
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

from buckets.s3.budget import endpoint_key, in_background, run_with_budget, time_budget  # noqa: F401 - the layer's
from buckets.s3.errors import FRIENDLY, NOT_SUPPORTED_CODES, SENT_WRITE, TIMEOUT_CODE, S3Error  # noqa: F401
from buckets.s3.fastparse import FastParserFactory, fast_timestamp, parse_once
from buckets.s3.retries import retries_of_its_own

if TYPE_CHECKING:
    from console.models import Endpoint

log = logging.getLogger("buckets.s3")

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
        # Standard, not adaptive: the adaptive mode's client-side rate limiter is shared by every page and
        # job of the process on this endpoint, so one throttled bucket slowed every other call (measured:
        # ~1 ms calls took 140 ms to 2 s after a SlowDown elsewhere). Each call backs off on its own here;
        # background jobs keep their own pace (``Throttle``). ``total_max_attempts``: botocore's
        # ``max_attempts`` counts the retries only, so S3_MAX_ATTEMPTS=4 made five attempts.
        retries={"mode": "standard", "total_max_attempts": settings.S3_MAX_ATTEMPTS},
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
    parsers = FastParserFactory()  # S3's XML read with a plan per shape, timestamps with fromisoformat
    parsers.set_parser_defaults(timestamp_parser=fast_timestamp)
    session._session.register_component("response_parser_factory", parsers)
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
    """CopyObject and UploadPartCopy send no body, so no checksum: add the Content-MD5 of the empty body.

    AWS refuses a write into an object-lock bucket with a default retention unless the request carries
    Content-MD5 or a checksum (MissingUploadObjectWithObjectLockHeaders; "... required for Put Part
    requests with Object Lock parameters" for parts); for a copy the MD5 of the empty body is the true
    one, so every server accepts it.
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
    retries_of_its_own(client)
    parse_once(client)
    client.meta.events.register("before-call.s3", _count_call)
    client.meta.events.register("before-sign.s3.CopyObject", _integrity_header)
    client.meta.events.register("before-sign.s3.UploadPartCopy", _integrity_header)
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


class _SharedReads:
    """Answers of reads made inside ``shared_reads()``: the same read asked twice (or by two threads at
    once) goes to S3 once; the second caller gets the first one's answer or error."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers: dict[tuple, Future] = {}

    def once(self, key: tuple, function):
        with self.lock:
            future, owner = self.answers.get(key), False
            if future is None:
                future = self.answers[key] = Future()
                owner = True
        if not owner:
            return future.result()
        try:
            answer = function()
        except BaseException as exc:  # any failure: a caller waiting on the answer must not wait forever
            future.set_exception(exc)
            raise
        future.set_result(answer)
        return answer


_shared: contextvars.ContextVar[_SharedReads | None] = contextvars.ContextVar("s3_shared_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Inside, a bucket setting read twice is asked once (a page whose sections read the same settings).

    Only ``get_*`` calls other than GetObject are shared, and only until the block ends: a write inside
    (there should be none) would not be seen by a later read.
    """
    token = _shared.set(_SharedReads())
    try:
        yield
    finally:
        _shared.reset(token)


# A background job told to slow down (after botocore's own retries of the call) waits and asks again, these
# pauses in turn, before the object counts as failed: a job can wait. A page says so at once.
JOB_SLOWDOWN_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0)


def call(endpoint: Endpoint, operation: str, /, *, client=None, expected: tuple[str, ...] = (), **params) -> dict:
    """Call one S3 operation within the time budget; every failure becomes S3Error, logged once (at INFO;
    codes in ``expected``, the answers that mean "there is none", at DEBUG: a bucket page has seven)."""
    shared = _shared.get()
    if shared is not None and client is None and operation.startswith("get_") and operation != "get_object":
        key = (endpoint.pk, operation, repr(sorted(params.items())))
        return shared.once(key, lambda: _call(endpoint, operation, None, params, expected))
    # A stream sent once cannot be sent again from here (botocore rewinds it for its own retries only).
    again = in_background() and isinstance(params.get("Body", b""), bytes | str)
    for pause in JOB_SLOWDOWN_PAUSES if again else ():
        try:
            return _call(endpoint, operation, client, params, expected)
        except S3Error as exc:
            if exc.code != "SlowDown":
                raise
        log.info("S3 %s on endpoint %s: asked to slow down, again in %g s", operation, endpoint.name, pause)
        time.sleep(pause)
    return _call(endpoint, operation, client, params, expected)


def _call(endpoint: Endpoint, operation: str, client, params: dict, expected: tuple[str, ...] = ()) -> dict:
    if is_write(operation) and not _audited.get():
        raise UnauditedWrite(f"S3 {operation} outside an audited change: call it from a service in audit.change.")
    _last_request_id.set("")
    try:
        function = getattr(client or client_for(endpoint), operation)
        answer = run_with_budget(function, params, endpoint_key(endpoint))
    except (BotoCoreError, ClientError, S3Error) as exc:
        error = translate(exc)
        if error.sent and is_write(operation):
            error.message += SENT_WRITE  # the page must not say it failed for sure
        _last_request_id.set(error.request_id)
        log.log(
            logging.DEBUG if error.code in expected else logging.INFO,
            "S3 %s on endpoint %s failed: %s (request id %s)", operation, endpoint.name, error.code, error.request_id,
        )  # fmt: skip
        raise error from None
    _last_request_id.set(_request_id(answer))
    server = ((answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}).get("server")
    if server and endpoint.pk:
        _servers[endpoint.pk] = server
    return answer


def given(**params: Any) -> dict[str, Any]:
    """The optional parameters that are set: S3 takes an empty marker or version id as a real value."""
    return {name: value for name, value in params.items() if value}


def call_unless_absent(endpoint: Endpoint, operation: str, absent: tuple[str, ...], /, **params) -> dict | None:
    """Like :func:`call`, but an answer that means "there is none" (a code in ``absent``) gives None."""
    try:
        return call(endpoint, operation, expected=absent, **params)
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
