"""Server spans for every request, client spans for every outbound call, when tracing is on.

Flask's and requests' OpenTelemetry instrumentations make the spans and carry the W3C
`traceparent` in and out: peer calls (shared.client) and PSA calls (the integrations adapters)
go through requests sessions, so both are covered without code of their own. Nothing here is
imported while OTEL_EXPORTER_OTLP_ENDPOINT is unset.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from flask import Flask, Response, request

from shared import tracing
from shared.config import ConfigError
from shared.redaction import redact_query, redact_url
from shared.web.forking import on_worker_fork

# Probes and scrapes would be most spans and say nothing; the operator's own list wins.
_UNTRACED_PATHS = r"//[^/]+/(healthz|readyz|metrics)(\?|$)"

# Where deploy/gunicorn.conf.py's worker_exit finds what to flush, after the app's own
# shutdown hooks (a backup job recording its end still makes spans).
WORKER_EXIT_FLUSHES = "worker_exit_flushes"

# Peer services by base URL (their *_URL settings): a client span names the service it calls.
_PEERS: dict[str, str] = {}
_PEER_SETTINGS = {"INSIGHTS_URL": "insights", "INTEGRATIONS_URL": "integrations",
                  "BACKUPS_URL": "backups"}  # fmt: skip

# Span attributes that may hold a URL's query: webhooks carry their secret as ?token=...
_SERVER_QUERY_ATTRIBUTES = ("http.target", "url.query", "http.url")
_CLIENT_URL_ATTRIBUTES = ("http.url", "url.full")


def trace_requests(app: Flask, service: str) -> None:
    """Trace `app`'s requests and this process's outbound HTTP, if an OTLP endpoint is set.

    Called in gunicorn's master (the app is preloaded): it only instruments. Each worker makes
    its own exporter after the fork (post_fork), or at its first request when not preloaded.
    """
    if not tracing.tracing_wanted():
        return
    _exit_on_a_bad_endpoint()
    tracing.import_exporter()
    _remember_peers(app)
    _export_from_each_worker(app, service)
    _instrument(app)


def _exit_on_a_bad_endpoint() -> None:
    try:
        tracing.check_endpoints()
    except ConfigError as exc:  # one line naming the variable, as for every other setting
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _remember_peers(app: Flask) -> None:
    for setting, peer in _PEER_SETTINGS.items():
        if app.config.get(setting):
            _PEERS[str(app.config[setting]).rstrip("/") + "/"] = peer


def _export_from_each_worker(app: Flask, service: str) -> None:
    def start_exporting() -> None:
        tracing.start_exporting(service)

    # Registered before the instrumentation's own hook, which opens the request's span.
    app.before_request(start_exporting)
    on_worker_fork(app, start_exporting)  # gunicorn's post_fork: before any request
    app.extensions.setdefault(WORKER_EXIT_FLUSHES, []).append(tracing.flush_traces)


def _instrument(app: Flask) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    FlaskInstrumentor().instrument_app(  # type: ignore[no-untyped-call]
        app,
        response_hook=_scrub_server_span,
        excluded_urls=os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or _UNTRACED_PATHS,
        enable_commenter=False,
    )
    app.after_request(_leave_trace_id_for_access_log)
    requests_instrumentor = RequestsInstrumentor()
    if not requests_instrumentor.is_instrumented_by_opentelemetry:
        requests_instrumentor.instrument(request_hook=_scrub_client_span)


# gunicorn's access line is written once the span has ended: the id waits for it in the environ.
ACCESS_LOG_TRACE_ID = "msp.trace_id"


def _leave_trace_id_for_access_log(response: Response) -> Response:
    ids = tracing.current_trace_ids()
    if ids:
        request.environ[ACCESS_LOG_TRACE_ID] = ids[0]
    return response


def _scrub_server_span(span: Any, _status: str, _headers: list[Any]) -> None:
    """Mask secret query parameters in what the server span recorded of the request line."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for key in _SERVER_QUERY_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            masked = redact_query(value) if key == "url.query" else redact_url(value)
            span.set_attribute(key, masked)


def _scrub_client_span(span: Any, request: Any) -> None:
    """Mask secret query parameters and URL passwords in what a client span records, and name
    the peer service it calls (`peer.service`, what trace views draw service graphs from)."""
    if not (span.is_recording() and request.url):
        return
    url = str(request.url)
    attributes = getattr(span, "attributes", None) or {}
    for key in _CLIENT_URL_ATTRIBUTES:
        if key in attributes:
            span.set_attribute(key, redact_url(url))
    peer = next((name for base, name in _PEERS.items() if url.startswith(base)), None)
    if peer:
        span.set_attribute("peer.service", peer)
