"""Prometheus metrics at /metrics (prometheus-client).

- Requests by view and status (a middleware) and their duration by view.
- S3 calls by endpoint, operation and outcome, and their latency: botocore event handlers that
  the S3 layer registers on every client it makes (``instrument_s3_client``).
- Jobs by kind and state, audit events by outcome, task workers by heartbeat: read from the
  database at scrape time, so every instance that shares the database reports the same numbers
  and no process has to keep them.

Several gunicorn workers: gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a directory of its
own before the workers start; the counters of every worker are then added up at each scrape.
Without it (runserver, one process) the process's own registry is served.

/metrics answers only when METRICS_TOKEN (a bearer token) or METRICS_ALLOWED_NETWORKS is set,
404 otherwise; it needs no login and makes no S3 call.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "console_http_requests", "HTTP requests answered by the console, by view and status", ["view", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "console_http_request_duration_seconds",
    "Time to answer a request, by view",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
)
S3_CALLS = Counter(
    "console_s3_calls",
    "S3 API calls by endpoint, operation and outcome (ok, error with the S3 code, or unreachable)",
    ["endpoint", "operation", "outcome", "code"],
)
S3_SECONDS = Histogram(
    "console_s3_call_duration_seconds",
    "S3 API call latency (retries included, until the response headers)",
    ["endpoint", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

NETWORK_ERRORS = frozenset({"ConnectionError", "HTTPClientError"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- requests ---------------------------------------------------------------------------------
class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The URL name, never the path: paths carry bucket and key names (user data, unbounded).
        view = (match.view_name or "unnamed") if match else "unresolved"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view).observe(time.perf_counter() - start)
        return response


# --- S3 calls -----------------------------------------------------------------------------------
_CONTEXT_KEY = "console_metrics"


def instrument_s3_client(client, endpoint_name: str) -> None:
    """Count and time every call the client makes (called by the S3 layer for each new client)."""
    events = client.meta.events
    events.register("before-call.s3", _before_call)
    events.register("after-call.s3", partial(_after_call, endpoint_name))
    events.register("after-call-error.s3", partial(_after_call_error, endpoint_name))


def _before_call(model=None, context=None, **kwargs) -> None:
    if context is not None:
        context[_CONTEXT_KEY] = (model.name if model else "unknown", time.perf_counter())


def _after_call(endpoint_name: str, http_response=None, parsed=None, context=None, **kwargs) -> None:
    operation, start = (context or {}).pop(_CONTEXT_KEY, ("unknown", None))
    status = getattr(http_response, "status_code", 0)
    if status < 300:
        outcome, code = "ok", ""
    else:
        outcome, code = "error", str(((parsed or {}).get("Error") or {}).get("Code") or status)
    _record(endpoint_name, operation, outcome, code, start)


def _after_call_error(endpoint_name: str, exception=None, context=None, **kwargs) -> None:
    # No HTTP answer: botocore's ConnectionError and HTTPClientError families (refused, timeouts, TLS,
    # closed connections) mean the endpoint did not answer; anything else (no credentials, say) failed
    # before a request went out. By name: botocore stays imported by the S3 layer alone.
    operation, start = (context or {}).pop(_CONTEXT_KEY, ("unknown", None))
    network = any(cls.__name__ in NETWORK_ERRORS for cls in type(exception).__mro__)
    _record(endpoint_name, operation, "unreachable" if network else "error", type(exception).__name__, start)


def _record(endpoint_name: str, operation: str, outcome: str, code: str, start: float | None) -> None:
    S3_CALLS.labels(endpoint_name, operation, outcome, code[:64]).inc()
    if start is not None:
        S3_SECONDS.labels(endpoint_name, operation).observe(time.perf_counter() - start)


# --- numbers from the database, at scrape time ---------------------------------------------------
class DatabaseCollector:
    """Jobs, audit events and task workers as gauges, counted when Prometheus asks."""

    def collect(self):
        from buckets.models import Job
        from console.models import AuditEvent, WorkerHeartbeat

        rows = Job.objects.order_by().values_list("status", "kind").annotate(n=Count("id"))
        counts = {(state, kind): n for state, kind, n in rows}
        jobs = GaugeMetricFamily("console_jobs", "Background jobs in the database, by state", labels=["state"])
        for state in Job.Status.values:  # zeros too: an alert on "failed" needs the series to exist
            jobs.add_metric([state], sum(n for (s, _), n in counts.items() if s == state))
        yield jobs
        by_kind = GaugeMetricFamily(
            "console_jobs_by_kind", "Background jobs in the database, by kind and state", labels=["kind", "state"]
        )
        for (state, kind), n in sorted(counts.items()):
            by_kind.add_metric([kind, state], n)
        yield by_kind

        audit = GaugeMetricFamily(
            "console_audit_events", "Audit events in the database, by outcome", labels=["outcome"]
        )
        by_outcome = dict(AuditEvent.objects.order_by().values_list("outcome").annotate(n=Count("id")))
        for outcome in AuditEvent.Outcome.values:
            audit.add_metric([outcome], by_outcome.get(outcome, 0))
        yield audit

        cutoff = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
        workers = GaugeMetricFamily("console_task_workers", "Task workers whose heartbeat is fresh")
        workers.add_metric([], WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).count())
        yield workers


def registry() -> CollectorRegistry:
    fresh = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(fresh)  # every gunicorn worker's counters, added up
    else:
        fresh.register(_Forward(REGISTRY))  # this process's counters, plus its process_* metrics
    fresh.register(DatabaseCollector())
    return fresh


class _Forward:
    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self):
        yield from self.source.collect()


# --- the view -------------------------------------------------------------------------------------
def refusal(request) -> int | None:
    """None when the request may read the metrics, else the status to refuse it with (404: metrics off)."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return 404
    if networks:
        # The direct peer, never X-Forwarded-For: a header anyone can write opens no door here.
        try:
            peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return 403
        if not any(peer in ipaddress.ip_network(net, strict=False) for net in networks):
            return 403
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return 401
    return None


@login_not_required
@never_cache
@require_safe
def metrics_view(request):
    status = refusal(request)
    if status == 404:
        raise Http404("Metrics are not configured.")
    if status is not None:
        response = HttpResponse("Not allowed.\n", status=status, content_type="text/plain")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
