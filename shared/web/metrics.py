"""Prometheus metrics: request counts and latency per route and status, at /metrics."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

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
            elapsed = time.perf_counter() - started
            LATENCY.labels(service, request.method, route).observe(elapsed)
            REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(_exposition(), mimetype=CONTENT_TYPE_LATEST)


def _exposition() -> bytes:
    """Every worker's metrics in multiprocess mode, whichever worker answers; else this one's."""
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
