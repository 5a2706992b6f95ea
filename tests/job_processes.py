"""Real processes for the job-recovery tests and benchmark: a console database of its own, `db_worker`
processes, a loopback proxy in front of S3 that slows or throttles chosen requests, and a small command
line (``python -m tests.job_processes …``) that starts jobs the way the console's services do.

Nothing here is mocked: the workers are ``manage.py db_worker`` (ours) on the database backend, against a
file SQLite database, or a PostgreSQL database of their own when DATABASE_URL names a PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>proxy</RequestId></Error>"
)


# --- a database of their own ----------------------------------------------------------------------
@dataclass
class Database:
    url: str
    var_dir: Path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Raw SQL with %s placeholders, on a fresh connection (the test process has no Django for it)."""
        if self.url.startswith("sqlite"):
            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=20)) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def job(self, job_id: str) -> dict:
        columns = "status, done, failed, total, attempts, lease_owner, message, finished_at"
        row = self.query(f"SELECT {columns} FROM buckets_job WHERE id = %s", (job_id.replace("-", ""),))
        if not row:  # PostgreSQL keeps uuids with their dashes, SQLite without
            row = self.query(f"SELECT {columns} FROM buckets_job WHERE id = %s", (job_id,))
        return dict(zip([c.strip() for c in columns.split(",")], row[0], strict=True))

    def events(self, action: str) -> list[tuple]:
        return self.query("SELECT outcome, error_code, params FROM console_auditevent WHERE action = %s", (action,))


def environment(db: Database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings", DEBUG="0", SECRET_KEY="procs-" + "s" * 60,
        ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=db.url, CONSOLE_VAR_DIR=str(db.var_dir),
        TASKS_BACKEND="django_tasks_db.DatabaseBackend", PYTHONPATH=str(ROOT), **extra,
    )  # fmt: skip
    return env


@contextlib.contextmanager
def database(base_dir: Path, server_url: str = "") -> Iterator[Database]:
    """A migrated database: a SQLite file under ``base_dir``, or a new database on ``server_url`` (PostgreSQL)."""
    var = base_dir / "var"
    var.mkdir(parents=True, exist_ok=True)
    if not server_url.startswith("postgres"):
        db = Database(f"sqlite:///{base_dir / 'console.sqlite3'}", var)
        migrate(db)
        yield db
        return
    import psycopg

    parts = urllib.parse.urlsplit(server_url)
    name = f"{(parts.path.strip('/') or 'console')[:30]}_procs_{secrets.token_hex(4)}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        db = Database(parts._replace(path=f"/{name}").geturl(), var)
        migrate(db)
        yield db
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(db: Database) -> None:
    manage(db, "migrate", "--noinput", "-v", "0")


def manage(db: Database, *args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=environment(db, **env), cwd=ROOT,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def helper(db: Database, *args: str, **env: str) -> str:
    """Run this module's command line in a fresh process: its last line of output."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.job_processes", *args], env=environment(db, **env), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"helper {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


# --- workers ---------------------------------------------------------------------------------------
@dataclass
class Worker:
    proc: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "Starting worker" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The worker did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no signal handler, no finally block, nothing written: as if it ran out of memory."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_worker(db: Database, name: str, *, interval: str = "0.5", **env: str) -> Worker:
    log = db.var_dir / f"worker-{name}.log"
    handle = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "db_worker", "--no-reload", "--no-startup-delay",
         "--interval", interval],
        env=environment(db, **env), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
    )  # fmt: skip
    handle.close()
    return Worker(proc, log)


def owner_pid(lease_owner: str) -> int | None:
    """The process id in a job's lease owner ("host:pid:random")."""
    parts = lease_owner.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


# --- a loopback proxy that slows or throttles chosen requests --------------------------------------------
def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """``predicate()``'s first truthy value within ``timeout`` seconds, asked every ``every``; else fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError(f"Timed out waiting for {what}")


def operation(method: str, path: str, headers) -> str:
    """The S3 operation of a request, as far as the tests need to tell them apart."""
    query = urllib.parse.urlsplit(path).query
    if method == "PUT" and headers.get("x-amz-copy-source"):
        return "CopyObject"
    if method == "POST" and "delete" in urllib.parse.parse_qs(query, keep_blank_values=True):
        return "DeleteObjects"
    if method == "GET" and "list-type=2" in query:
        return "ListObjectsV2"
    if "tagging" in urllib.parse.parse_qs(query, keep_blank_values=True):
        return {"PUT": "PutObjectTagging", "GET": "GetObjectTagging"}.get(method, method)
    return f"{method}"


@dataclass
class Rules:
    """What the proxy does to a request: ``delay(op, path)`` seconds first, then ``throttle(op, path)`` → 503."""

    delay: Callable[[str, str], float] = lambda op, path: 0.0
    throttle: Callable[[str, str], bool] = lambda op, path: False
    # A canned answer (status, headers, body) instead of forwarding, or None: e.g. a refusal AWS makes
    # and the server behind the proxy does not.
    answer: Callable[[str, str, Any], tuple[int, dict, bytes] | None] = lambda op, path, headers: None
    seen: dict[str, int] = field(default_factory=dict)  # requests by operation
    lock: threading.Lock = field(default_factory=threading.Lock)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a killed worker's connection resets: expected here
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Proxy:
    """Forwards requests verbatim (the Host header too: SigV4 signatures stay valid) to ``upstream``."""

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.rules = Rules()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body would wait for the
            # client's delayed ACK of the headers (40 ms on Linux), a latency no S3 server adds.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def handle_one(self):
                chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"  # botocore's uploads
                body = self._chunks() if chunked else self.rfile.read(int(self.headers.get("Content-Length") or 0))
                op = operation(self.command, self.path, self.headers)
                with proxy.rules.lock:
                    proxy.rules.seen[op] = proxy.rules.seen.get(op, 0) + 1
                if pause := proxy.rules.delay(op, self.path):
                    time.sleep(pause)
                if proxy.rules.throttle(op, self.path):
                    return self._answer(503, {"Content-Type": "application/xml"}, SLOW_DOWN)
                if (canned := proxy.rules.answer(op, self.path, self.headers)) is not None:
                    return self._answer(*canned)
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                try:
                    upstream.request(
                        self.command, self.path, body=body, headers=dict(self.headers.items()), encode_chunked=chunked
                    )
                    answer = upstream.getresponse()
                    data = answer.read()
                    skip = {"transfer-encoding", "connection"} | (
                        {"content-length"} if self.command != "HEAD" else set()
                    )
                    headers = {k: v for k, v in answer.getheaders() if k.lower() not in skip}  # HEAD: the object's
                    self._answer(answer.status, headers, data)
                finally:
                    upstream.close()

            def _chunks(self) -> bytes:
                """A chunked body, its framing removed (forwarded chunked again)."""
                data = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    data.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():  # trailers, up to the blank line
                    pass
                return b"".join(data)

            def _answer(self, status: int, headers: dict, data: bytes):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if not any(name.lower() == "content-length" for name in headers):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = handle_one

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="s3-proxy", daemon=True)

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the command line: start jobs as the console's services do ----------------------------------------
def _cli(argv: list[str]) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from buckets.services import bulk, bulk_sources, emptying, transfer
    from console import audit
    from console.models import Endpoint, Role, RoleAssignment

    command, *args = argv
    if command == "setup":  # URL ACCESS_KEY SECRET_KEY
        url, access_key, secret_key = args
        endpoint = Endpoint(name="procs", url=url, addressing_style=Endpoint.Addressing.PATH,
                            credential_source=Endpoint.CredentialSource.KEYS, access_key_id=access_key)  # fmt: skip
        endpoint.set_secret_access_key(secret_key)
        endpoint.save()
        user = get_user_model().objects.create_user("alice", password="pw-alice-123456")
        RoleAssignment.objects.create(user=user, role=Role.ADMIN)
        print(endpoint.pk)
        return
    user = get_user_model().objects.get(username="alice")
    actor = audit.Actor(user_id=user.pk, username="alice", role="admin")
    endpoint = Endpoint.objects.get(name="procs")
    if command == "empty":  # BUCKET
        print(emptying.bucket_empty_start(actor=actor, endpoint=endpoint, bucket=args[0]).pk)
    elif command == "copy":  # BUCKET SOURCE_PREFIX DEST_PREFIX
        job = transfer.prefix_copy_start(actor=actor, endpoint=endpoint, source_bucket=args[0],
                                         source_prefix=args[1], bucket=args[0], dest_prefix=args[2])  # fmt: skip
        print(job.pk)
    elif command == "bulk-tag":  # BUCKET PREFIX TAG=VALUE
        name, _, value = args[2].partition("=")
        job = bulk.bulk_start(actor=actor, endpoint=endpoint, bucket=args[0], action="tag",
                              options={"tags": {name: value}}, source=bulk_sources.prefix_source(args[1]))  # fmt: skip
        print(job.pk)
    elif command == "index":  # BUCKET: turn the index on (a crawl job), as an admin does on the index page
        from catalog.services import index

        print(index.index_enable(actor=actor, endpoint=endpoint, bucket=args[0])[1].pk)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    _cli(sys.argv[1:])
