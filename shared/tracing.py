"""OpenTelemetry traces, exported by OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Off, this module imports nothing of OpenTelemetry (every import below sits in a function that
only runs once tracing is on), so a service without the variable starts and runs as before.
On, each process that serves requests gets its own tracer provider and batch exporter: gunicorn
preloads the app in its master and forks the workers, and an export thread or a connection
must never cross a fork, so the provider is made in the worker (shared.web.tracing).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from shared import observability
from shared.config import ConfigError, parse_http_url

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
TRACER_NAME = "msp-backend"

P = ParamSpec("P")
T = TypeVar("T")

_provider: TracerProvider | None = None
_provider_pid: int | None = None
_provider_lock = threading.Lock()


def tracing_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """True when an OTLP endpoint is configured (the traces-only variable counts too)."""
    return any(
        environ.get(name, "").strip() for name in (ENDPOINT_VARIABLE, TRACES_ENDPOINT_VARIABLE)
    )


def check_endpoints(environ: Mapping[str, str] = os.environ) -> None:
    """Raise ConfigError naming the variable (never its value) if an endpoint is no http(s) URL.

    The exporter would only log a warning at every export, and spans would be lost quietly.
    """
    for name in (ENDPOINT_VARIABLE, TRACES_ENDPOINT_VARIABLE):
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        try:
            parse_http_url(raw)
        except ValueError:
            raise ConfigError(f"{name} is malformed: expected an http(s) URL") from None


def service_name(default: str, environ: Mapping[str, str] = os.environ) -> str:
    """OTEL_SERVICE_NAME when the operator set it, else the service's own name."""
    return environ.get("OTEL_SERVICE_NAME", "").strip() or default


def start_exporting(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """This process's tracer provider, made on first call in each process (so per worker).

    The OTLP http/protobuf exporter reads its endpoint, headers and timeout from the standard
    OTEL_EXPORTER_OTLP_* variables; the batch processor its delays from OTEL_BSP_*; the
    provider its sampler from OTEL_TRACES_SAMPLER. `exporter` is for tests.
    """
    global _provider, _provider_pid
    if _provider is not None and _provider_pid == os.getpid():
        return _provider  # every request asks: no lock once this process has its provider
    with _provider_lock:
        if _provider is not None and _provider_pid == os.getpid():
            return _provider
        from opentelemetry import trace
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from shared.span_redaction import RedactingSpanExporter

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name(service)}))
        provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(exporter)))
        trace.set_tracer_provider(provider)
        _provider, _provider_pid = provider, os.getpid()
        observability.use_trace_hooks(_TraceHooks())
        return provider


def import_exporter() -> None:
    """Import the SDK and the OTLP exporter now, without starting them.

    Called in gunicorn's master, which forks the workers: each worker then starts exporting
    without importing them after the fork (its first request does not wait for the imports).
    """
    import opentelemetry.exporter.otlp.proto.http.trace_exporter
    import opentelemetry.sdk.resources  # noqa: F401

    import shared.span_redaction  # noqa: F401  (the SDK's span export with it)


def flush_traces(timeout_seconds: float = 2.0) -> None:
    """Send the spans still waiting in this process's batch (a worker about to exit)."""
    provider = _provider if _provider_pid == os.getpid() else None
    if provider is not None:
        provider.force_flush(timeout_millis=max(1, int(timeout_seconds * 1000)))


class _TraceHooks:
    """What shared.observability asks of tracing: carry a trace into work, name the current."""

    def carrying(self, work: Callable[P, T]) -> Callable[P, T]:
        return carrying_trace_context(work)

    def current_ids(self) -> tuple[str, str] | None:
        return current_trace_ids()


def carrying_trace_context(work: Callable[P, T]) -> Callable[P, T]:
    """`work`, run in a span of its own under the trace current now, wherever it runs.

    A thread starts with an empty context, and work run after the answer runs once the
    request's span has ended; without this a backup job or a webhook's processing would start
    a trace of its own, and its calls to peers would not join the request's.
    """
    from opentelemetry import context, trace

    carried = context.get_current()
    name = f"background {_work_name(work)}"

    @functools.wraps(work)
    def under_trace(*args: P.args, **kwargs: P.kwargs) -> T:
        token = context.attach(carried)
        try:
            with trace.get_tracer(TRACER_NAME).start_as_current_span(name):
                return work(*args, **kwargs)
        finally:
            context.detach(token)

    return under_trace


def current_trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the span active here, in W3C hex, or None outside any span."""
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def _work_name(work: Callable[..., Any]) -> str:
    # A partial or a bound method names its function; the name is a span name: code, not data.
    target = getattr(work, "func", work)
    return str(getattr(target, "__qualname__", None) or type(target).__name__)
