"""Prometheus metrics at /metrics: requests, the database pool, figures read from the database."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.errors import Forbidden, Unauthorized
from shared.web.db import engine_of
from shared.web.health import readiness_engine

log = logging.getLogger("shared.web.metrics")

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
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over live workers",
    ["service"],
    multiprocess_mode="livesum",
)
POOL_WAITS = Counter(
    "db_pool_waits_total", "Checkouts that found every pooled connection in use", ["service"]
)
POOL_WAIT_SECONDS = Counter(
    "db_pool_wait_seconds_total", "Time spent waiting for a pooled connection", ["service"]
)
# Label values must come from a closed set, or a caller inventing methods grows series forever.
OTHER_METHOD = "other"
_UNMATCHED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Where an app keeps its readers of figures that live in the database (see read_from_database).
DATABASE_FIGURES = "metrics_database_figures"
FigureReader = Callable[[Session], Iterable[Metric]]


def init_metrics(app: Flask, service: str) -> None:
    """Time every request and serve the registry (all gunicorn workers when multiprocess)."""
    instrument_pool(engine_of(app), service)
    app.extensions.setdefault(DATABASE_FIGURES, [])
    figures = DatabaseFigures(app)

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
        return Response(_exposition(figures), content_type=CONTENT_TYPE_LATEST)


def read_from_database(app: Flask, reader: FigureReader) -> None:
    """Have every scrape call `reader` for metrics read from the database at that moment.

    For business figures that live in tables (backup history, learning metrics): counting
    them in each process would give every worker and replica its own, wrong, total.
    """
    app.extensions.setdefault(DATABASE_FIGURES, []).append(reader)


class DatabaseFigures(Collector):
    """The app's database readers, run on a pool-free connection bounded like /readyz.

    A frozen or unreachable database must not hold the scrape (nor a thread) for longer than
    the readiness bound; the scrape then says so in metrics_database_read_ok instead.
    """

    def __init__(self, app: Flask) -> None:
        self.readers: list[FigureReader] = app.extensions[DATABASE_FIGURES]
        self.app_engine = engine_of(app)
        self.engine: Engine | None = None  # made at the first scrape: readers come after init

    def collect(self) -> Iterable[Metric]:
        if not self.readers:
            return []
        self.engine = self.engine or readiness_engine(self.app_engine)
        found: list[Metric] = []
        read_ok = 1.0
        try:
            with Session(self.engine) as session:
                for reader in self.readers:
                    found.extend(reader(session))
        except SQLAlchemyError as exc:
            log.warning("metrics: database figures not read (%s)", type(exc).__name__)
            found, read_ok = [], 0.0
        ok = GaugeMetricFamily(
            "metrics_database_read_ok", "1 when this scrape read its figures from the database"
        )
        ok.add_metric([], read_ok)
        return [*found, ok]


def instrument_pool(engine: Engine, service: str) -> None:
    """Count pooled connections in use and the checkouts that had to wait for one.

    Hooked on the engine, not its pool: each gunicorn worker disposes of the pool it inherited
    (engine.dispose makes a new one), and engine-level listeners carry over to the new pool.
    """
    in_use = POOL_IN_USE.labels(service)
    waits, waited = POOL_WAITS.labels(service), POOL_WAIT_SECONDS.labels(service)
    raw_connection = engine.raw_connection

    def raw_connection_counting_waits() -> Any:
        # A full pool is only known before the checkout: SQLAlchemy has no event there.
        if not _pool_is_full(engine.pool):
            return raw_connection()
        started = time.perf_counter()
        try:
            return raw_connection()
        finally:
            waits.inc()
            waited.inc(time.perf_counter() - started)

    setattr(engine, "raw_connection", raw_connection_counting_waits)  # noqa: B010 - mypy: a method
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


def _pool_is_full(pool: Any) -> bool:
    """True for a QueuePool whose every connection, overflow included, is checked out."""
    limit = getattr(pool, "_max_overflow", -1)  # NullPool and StaticPool have none: never full
    return bool(limit >= 0 and pool.checkedout() >= pool.size() + limit)


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


def _exposition(figures: DatabaseFigures) -> bytes:
    """Every worker's metrics in multiprocess mode, whichever worker answers; else this one's;
    then the figures read from the database now (the same for every worker and replica)."""
    from_database = CollectorRegistry()
    from_database.register(figures)
    if MULTIPROCESS_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry) + generate_latest(from_database)
    return generate_latest() + generate_latest(from_database)
