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
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
