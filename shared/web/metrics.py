"""Prometheus metrics: request counts and latency per route and status, at /metrics."""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from shared.errors import Forbidden, Unauthorized

# prometheus_client chose where values live when it was imported: in files under this directory,
# one per process, when it is set (deploy/gunicorn.conf.py sets it before loading the app), else
# in this process's memory (flask run, the test client, Lambda). The scrape must read the same.
# A Gauge added here needs a multiprocess_mode ("livesum", "max", ...) to be summed sensibly.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Label values must come from a closed set, or a caller inventing methods grows series forever.
OTHER_METHOD = "other"
_UNMATCHED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_metrics(app: Flask, service: str) -> None:
    """Time every request and serve the registry (all gunicorn workers when multiprocess)."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            method = method_label()
            elapsed = time.perf_counter() - started
            LATENCY.labels(service, method, route).observe(elapsed)
            REQUESTS.labels(service, method, route, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        allow_scraper()
        # content_type, not mimetype: Flask would add a second "; charset=utf-8" to text/plain.
        return Response(_exposition(), content_type=CONTENT_TYPE_LATEST)


def method_label() -> str:
    """The request's method if the matched route serves it, else "other"."""
    rule = request.url_rule
    served = (rule.methods or frozenset()) if rule else _UNMATCHED_METHODS
    return request.method if request.method in served else OTHER_METHOD


def allow_scraper() -> None:
    """With METRICS_TOKEN set, only a caller presenting it; without, only loopback callers."""
    expected = current_app.config.get("METRICS_TOKEN")
    if expected:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            offered.strip().encode(), str(expected).encode()
        ):
            raise Unauthorized("/metrics needs the bearer token set in METRICS_TOKEN")
    elif not _is_loopback(request.remote_addr):
        raise Forbidden("/metrics answers loopback callers only; set METRICS_TOKEN to scrape")


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _exposition() -> bytes:
    """Every worker's metrics in multiprocess mode, whichever worker answers; else this one's."""
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
