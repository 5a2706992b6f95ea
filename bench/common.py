"""Shared set-up for the benchmarks: Django on a throw-away database, a SeaweedFS, an endpoint, a client.

Every benchmark prints its measure as a ratio against a baseline measured in the same run.
Usage inside a bench script:

    from bench.common import setup_django, seaweed, median_time
    setup_django()                      # before importing models
    with seaweed() as server:           # a private SeaweedFS on free loopback ports
        endpoint = server.endpoint()    # a console Endpoint row for it
        client = admin_client()         # django.test.Client logged in as a superuser
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FLOOR_PATH = "/bench/floor/"  # the floor page of bench/floor_urls.py
_tmp_var: str | None = None


def setup_django(database_url: str | None = None) -> None:
    """Configure Django with the real settings on a temporary SQLite DB (or the given URL) and migrate."""
    global _tmp_var
    sys.path.insert(0, str(ROOT))
    _tmp_var = tempfile.mkdtemp(prefix="s3console-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")  # the console + the floor page
    os.environ["DEBUG"] = "0"  # the goals are for production settings: a DEBUG=1 in the shell would time debug mode
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 60)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ["CONSOLE_VAR_DIR"] = _tmp_var
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    os.environ["STATIC_ROOT"] = str(Path(_tmp_var) / "static")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # DEBUG=0 pages name the hashed static files of the manifest, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)


class Server:
    def __init__(self, url: str, ids, proc, base: Path):
        self.url, self.ids, self.proc, self.base = url, ids, proc, base

    def boto3_client(self, url: str = ""):
        """A plain boto3 client with this server's keys, at ``url`` when given (a proxy in front of it)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=url or self.url,
            aws_access_key_id=self.ids.access_key,
            aws_secret_access_key=self.ids.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=64),
        )

    def endpoint(self, name: str = "bench"):
        from console.models import Endpoint

        endpoint = Endpoint.objects.filter(name=name).first() or Endpoint(name=name)
        endpoint.url = self.url
        endpoint.addressing_style = Endpoint.Addressing.PATH
        endpoint.credential_source = Endpoint.CredentialSource.KEYS
        endpoint.access_key_id = self.ids.access_key
        endpoint.set_secret_access_key(self.ids.secret_key)
        endpoint.save()
        return endpoint

    def aws_env(self) -> dict[str, str]:
        """Environment for the aws CLI against this server."""
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.ids.access_key,
            "AWS_SECRET_ACCESS_KEY": self.ids.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextlib.contextmanager
def seaweed(data_dir: Path | None = None) -> Iterator[Server]:
    """Start a SeaweedFS on free loopback ports. A given data_dir is kept (to reuse big data sets)."""
    from console import embedded_s3

    keep = data_dir is not None
    base = data_dir or Path(tempfile.mkdtemp(prefix="s3console-bench-weed-"))
    base.mkdir(parents=True, exist_ok=True)
    ids = embedded_s3.ensure_identities(base / "identities.json")
    server = Server("", ids, None, base)

    def lists_buckets(url: str) -> bool:
        server.url = url
        try:
            server.boto3_client().list_buckets()
        except Exception:
            return False
        return True

    try:
        server.proc, server.url = embedded_s3.start_verified(base, lists_buckets)
        yield server
    finally:
        if server.proc is not None:
            embedded_s3.stop(server.proc)
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


AWSCLI_REQUIREMENTS = ROOT / "bench" / "requirements-awscli.txt"
AWSCLI_VENV = ROOT / "bench" / ".venv-awscli"


def aws_binary() -> Path:
    """The aws CLI (pinned in bench/requirements-awscli.txt), in its own venv: awscli pins its own botocore."""
    aws = AWSCLI_VENV / "bin" / "aws"
    if not aws.exists():
        import subprocess

        print(f"installing {AWSCLI_REQUIREMENTS.read_text().split()[0]} into {AWSCLI_VENV.relative_to(ROOT)} …")
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        pip = [str(AWSCLI_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(AWSCLI_REQUIREMENTS)], check=True)
    return aws


def admin_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    User = get_user_model()
    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "", "bench-password-123456"
    )
    client = Client()
    client.force_login(user)
    return client


def median_time(fn: Callable[[], object], repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of fn() in seconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def built_again(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with no page output kept (console/fragments.py): what a page costs after a change of its records."""

    def call():
        from django.core.cache import caches

        caches["pages"].clear()
        return fn()

    return call


def verdict(met: bool) -> str:
    """The end of every measure line: `goal met` or `goal NOT met`."""
    return "goal met" if met else "goal NOT met"


def check(
    name: str,
    measured: float,
    baseline: float,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    unit: str = "ms",
) -> bool:
    """Print one measure against its baseline and whether the ratio is within ``at_most`` (or above ``at_least``).

    unit "ms" takes seconds and prints milliseconds; any other unit (``req/s``) is printed as given.
    """
    scale = 1000 if unit == "ms" else 1
    ratio = measured / baseline if baseline else float("inf")
    met = (at_most is None or ratio <= at_most) and (at_least is None or ratio >= at_least)
    goal = f"<= {at_most:g}x" if at_most is not None else f">= {at_least:g}x"
    print(
        f"{name}: {measured * scale:.1f} {unit} vs baseline {baseline * scale:.1f} {unit}  "
        f"ratio {ratio:.2f}x (goal {goal})  {verdict(met)}",
        flush=True,
    )
    return met


@contextlib.contextmanager
def gunicorn_console(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """The console under gunicorn with the repository's gunicorn.conf.py, on this process's database.

    Uses the settings ``setup_django`` chose (its var directory and DATABASE_URL), after collectstatic
    into that directory. Yields the origin (``http://127.0.0.1:<port>``).
    """
    import re
    import signal
    import subprocess
    import urllib.error
    import urllib.request

    from django.conf import settings

    static_root = Path(_tmp_var or tempfile.mkdtemp()) / "static"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "STATIC_ROOT": str(static_root),
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GUNICORN_BIND": "127.0.0.1:0",
        "GUNICORN_ACCESS_LOG": os.devnull,
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{settings.DATABASES['default']['NAME']}",
        **(extra_env or {}),
    })  # fmt: skip
    if not (static_root / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("w") as out:
        proc = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        origin = ""
        for _ in range(300):
            if found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text()):
                origin = found.group(1)
                try:
                    with urllib.request.urlopen(f"{origin}/healthz", timeout=5):  # noqa: S310 - loopback
                        break
                except urllib.error.HTTPError:
                    break  # it answers: 503 says no task worker runs, which a bench does not need
                except OSError:
                    pass
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            origin = ""
        if not origin:
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        yield origin
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.unlink(missing_ok=True)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    """GET requests through Django's production WSGI handler, with the session cookie of a logged-in user.

    The same handler gunicorn calls (request_started/finished, so connections are kept or closed as in
    production), without the test client's extras.
    """

    def __init__(self, user):
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import Client

        client = Client()
        client.force_login(user)
        self.cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        self.app = WSGIHandler()

    def _keep_cookies(self, headers) -> None:
        """Keep what a page sets (the CSRF cookie, a renewed session) as a browser does: without it every
        request would make a new CSRF secret."""
        from http.cookies import SimpleCookie

        cookies = dict(pair.split("=", 1) for pair in self.cookie.split("; ") if "=" in pair)
        for name, value in headers:
            if name.lower() == "set-cookie":
                for morsel in SimpleCookie(value).values():
                    cookies[morsel.key] = morsel.value
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def get(self, path: str, expect: int = 200, headers: dict[str, str] | None = None) -> bytes:
        """GET ``path`` through the WSGI handler; ``headers`` as WSGI names ({"HTTP_HX_REQUEST": "true"})."""
        import io

        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "HTTP_COOKIE": self.cookie, "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            **(headers or {}),
        }  # fmt: skip
        status: list[str] = []

        def start_response(s, headers, exc_info=None):
            status.append(s)
            self._keep_cookies(headers)

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        code = int(status[0].split()[0])
        if code != expect:
            raise AssertionError(f"GET {path}?{query}: {status[0]}, not {expect}")
        return body


def interleaved_medians(fns: dict[str, Callable[[], object]], repeat: int = 21, warmup: int = 3) -> dict[str, float]:
    """Median wall time (s) of each fn, measured in turns (a, b, c, a, b, c, …) so drift hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def superuser(username: str = "bench-admin"):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.filter(username=username).first() or User.objects.create_superuser(
        username, "", "bench-password-123456"
    )
