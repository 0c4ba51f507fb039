"""JSON logs on stdout in RFC 3339 UTC; the request id (and trace) carried into background work."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from pythonjsonlogger.json import JsonFormatter

# Set per request by the web layer, read by logs and by outgoing peer calls.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

P = ParamSpec("P")
T = TypeVar("T")


class TraceHooks(Protocol):
    """What tracing lends this module once it is on (shared.tracing); nothing while it is off."""

    def carrying(self, work: Callable[P, T]) -> Callable[P, T]: ...

    def current_ids(self) -> tuple[str, str] | None: ...


# Set by shared.tracing when it starts exporting: None keeps OpenTelemetry unimported.
_trace_hooks: TraceHooks | None = None


def use_trace_hooks(hooks: TraceHooks | None) -> None:
    """Carry traces into background work and name them in log lines from now on (or stop)."""
    global _trace_hooks
    _trace_hooks = hooks


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def carrying_request_id(work: Callable[P, T]) -> Callable[P, T]:
    """`work`, made to run under the request id current now, wherever and whenever it runs.

    A thread does not inherit the caller's context variables, and work run after the answer
    runs once the request's own id has been reset. Only the id is carried, not a copy of the
    whole context: that would also carry Flask's request context into a thread that outlives
    the request, where `request` would quietly point at a finished one. With tracing on, the
    trace context goes along too (W3C trace and parent span), and the work gets its own span.
    """
    request_id = request_id_var.get()
    traced = _trace_hooks.carrying(work) if _trace_hooks else work

    @functools.wraps(work)
    def under_request_id(*args: P.args, **kwargs: P.kwargs) -> T:
        token = request_id_var.set(request_id)
        try:
            return traced(*args, **kwargs)
        finally:
            request_id_var.reset(token)

    return under_request_id


class RequestIdExecutor(ThreadPoolExecutor):
    """A thread pool whose jobs keep the request id of the code that submitted them."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(carrying_request_id(fn), *args, **kwargs)


def rfc3339_time(created: float) -> str:
    """A record's time as RFC 3339 in UTC with microseconds: 2026-12-04T15:01:02.123456Z."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Rfc3339JsonFormatter(JsonFormatter):
    """python-json-logger's formatter with an unambiguous, zoned `time`.

    logging's default asctime ("2026-12-04 15:01:02,123") names no time zone, so lines from
    hosts in different zones could not be ordered or matched with the access log.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return rfc3339_time(record.created)


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or '-') to every record, and the trace and span ids when
    tracing is on and a span is active (a JSON line then carries `trace_id` and `span_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        ids = _trace_hooks.current_ids() if _trace_hooks else None
        if ids:
            record.trace_id, record.span_id = ids
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON line per record on stdout, with service name and request id."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        _Rfc3339JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every readiness probe's version check at INFO; that is noise.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def log_current_exception(logger: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled by its type and frames only.

    Never its message: database errors carry their SQL parameters there, and other
    exceptions may quote a secret they were handed.
    """
    error = sys.exc_info()[1]
    frames = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    logger.error(message + ": %s\n%s", *args, type(error).__name__, frames)
