"""gunicorn settings for the console (README "Production").

    .venv/bin/gunicorn -c gunicorn.conf.py

Everything here can be changed through the environment: GUNICORN_BIND, GUNICORN_WORKERS,
GUNICORN_THREADS, GUNICORN_WORKER_CLASS, GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG, GUNICORN_CONTROL_SOCKET.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile

from gunicorn.glogging import Logger


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name, "")
    try:
        number = int(value) if value else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {number}")
    return number


wsgi_app = "console.wsgi:application"
chdir = os.path.dirname(os.path.abspath(__file__))  # the checkout, wherever gunicorn starts from
bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address]

# The console mostly waits for S3 and the database: a few processes (one per CPU, plus one) with
# threads each. CPUs this process may use, not those of the host (containers, taskset).
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
workers = _env_int("GUNICORN_WORKERS", _cpus + 1)
threads = _env_int("GUNICORN_THREADS", 4)
# gthread (measured against sync by bench/bench_throughput.py, README "Benchmarks"): a thread waiting
# for S3 or the database does not hold a whole process.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
if worker_class not in {"gthread", "sync"}:
    raise SystemExit(f"GUNICORN_WORKER_CLASS must be gthread or sync, not {worker_class!r}")

# A page gives up on a slow S3 endpoint after S3_PAGE_BUDGET seconds (default 20) and says so;
# gunicorn's timeout must stay above it, or the worker is killed before the page can answer
# (checked in on_starting). With threads, the timeout only fires when a whole worker hangs.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = timeout
keepalive = 5
# Object keys are up to 1,024 bytes, three times that percent-encoded, plus a prefix: above the
# default 4,094-byte request line.
limit_request_line = 8190

# The heartbeat files of the workers on a RAM disk where there is one this user may write to (the
# docs' advice for containers); else gunicorn's default, the temporary directory.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):  # noqa: S108 - gunicorn's own files
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Access log on stdout, with the time each request took (%(M)s, milliseconds).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# gunicorn 25+ opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl:
# one path for every gunicorn of that user on the host, so a second instance takes it from the
# first. Off, unless GUNICORN_CONTROL_SOCKET names a path of this instance's own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Prometheus counters of all workers, added up at each scrape of /metrics (console/metrics.py):
# every worker writes its own files into this directory. A fresh one per instance unless given.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="s3console-metrics-")
    os.environ["S3CONSOLE_OWNS_METRICS_DIR"] = "1"


class RedactingLogger(Logger):
    """The access log without the token of one-time set-password links (they log in whoever holds them)."""

    TOKEN_IN_PATH = re.compile(r"(/password/set/[^/\s]+/)(?!set-password/)[^/\s?]+")

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "f"):
            if isinstance(atoms.get(name), str):
                atoms[name] = self.TOKEN_IN_PATH.sub(r"\1[redacted]", atoms[name])
        return atoms


logger_class = RedactingLogger


def on_starting(server):
    # The settings load here, once, before any worker: a configuration error (no SECRET_KEY, say)
    # stops the start with its message instead of every worker failing to boot.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        budget = getattr(settings, "S3_PAGE_BUDGET", 20)
    except ImproperlyConfigured as exc:
        _stop(f"Configuration error: {exc}")
    if server.cfg.timeout <= budget:
        _stop(
            f"GUNICORN_TIMEOUT ({server.cfg.timeout} s) must be above S3_PAGE_BUDGET ({budget:g} s): "
            "a worker would be killed before a page waiting for a slow S3 endpoint can answer."
        )
    if getattr(settings, "SECRET_KEY_FROM_FILE", False) and not settings.DEBUG:
        server.log.warning(
            "SECRET_KEY comes from %s (make run's development key); set SECRET_KEY in production.",
            settings.SECRET_KEY_FILE,
        )
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)  # counters of an earlier run of this instance


def _stop(message: str):
    on_exit(None)
    raise SystemExit(message)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("S3CONSOLE_OWNS_METRICS_DIR"):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
