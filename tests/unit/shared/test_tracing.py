"""Tracing costs nothing while it is off; on, a request's trace reaches its background work,
its outbound calls and its log lines, and secrets in a URL never reach a span."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from shared.redaction import is_secret_key
from shared.span_redaction import RedactingSpanExporter
from shared.tracing import service_name, tracing_wanted
from shared.web.tracing import (
    ACCESS_LOG_TRACE_ID,
    WORKER_EXIT_FLUSHES,
    _scrub_client_span,
    _scrub_server_span,
)
from tests.deploy.conftest import DEPLOY

NOWHERE = "mysql+pymysql://nobody@127.0.0.1:1/none"

OFF_SCRIPT = f"""
import logging, sys, threading
from services.insights.app import create_app as insights
from services.integrations.app import create_app as integrations
from services.backups.app import create_app as backups
from shared.observability import RequestIdExecutor, carrying_request_id
for create in (insights, integrations, backups):
    app = create({{"DATABASE_URL": "{NOWHERE}"}})
    assert app.test_client().get("/healthz").status_code == 200
    app.test_client().get("/readyz", headers={{"traceparent": "00-{"1" * 32}-{"2" * 16}-01"}})
RequestIdExecutor(max_workers=1).submit(logging.getLogger("t").warning, "pooled").result()
thread = threading.Thread(target=carrying_request_id(lambda: logging.getLogger("t").warning("x")))
thread.start(); thread.join()
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
"""

# A bare Flask app with the shared tracing glue, an in-memory exporter standing in for OTLP,
# and a loopback server standing in for a peer: it records the traceparent each call brings.
ON_SCRIPT = """
import http.server, json, logging, threading
import requests
from flask import Flask
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from shared import tracing
from shared.observability import configure_logging, carrying_request_id
from shared.web.background import after_response
from shared.web.tracing import trace_requests

exporter = InMemorySpanExporter()
provider = tracing.start_exporting("unit", exporter=exporter)
seen_traceparents = []

class Peer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        seen_traceparents.append(self.headers.get("traceparent"))
        self.send_response(204); self.end_headers()
    def log_message(self, *args):
        pass

peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Peer)
threading.Thread(target=peer.serve_forever, daemon=True).start()
configure_logging("unit")
app = Flask("unit")
trace_requests(app, "unit")

def background():
    logging.getLogger("job").warning("in the background")
    requests.get(f"http://127.0.0.1:{peer.server_port}/peer?api_key=hunter2", timeout=5)
    try:  # a peer that is down: the exception's message names the URL, query and all
        requests.post("http://127.0.0.1:1/down?api_key=hunter2", timeout=5)
    except requests.ConnectionError:
        pass

@app.post("/hooks/<vendor>")
def hook(vendor):
    logging.getLogger("view").warning("in the view")
    worker = threading.Thread(target=carrying_request_id(background))
    worker.start(); worker.join()
    return "", 202

def process_later():
    logging.getLogger("webhook").warning("after the answer")

@app.post("/later")
def later():
    after_response(process_later)  # as integrations processes a webhook
    return "", 202

@app.get("/boom")
def boom():
    raise RuntimeError("the vendor refused client_secret=hunter2")

client = app.test_client()
client.post("/hooks/syncro?token=hunter2", headers={"traceparent": TRACEPARENT})
client.post("/later").close()
client.get("/boom?token=hunter2", headers={"traceparent": TRACEPARENT})
client.get("/healthz")
provider.force_flush()
spans = [
    {
        "name": s.name,
        "trace_id": format(s.context.trace_id, "032x"),
        "span_id": format(s.context.span_id, "016x"),
        "parent": format(s.parent.span_id, "016x") if s.parent else None,
        "kind": s.kind.name,
        "attributes": dict(s.attributes),
        "service": s.resource.attributes.get("service.name"),
        "status": s.status.description,
        "events": [{"name": e.name, **dict(e.attributes)} for e in s.events],
    }
    for s in exporter.get_finished_spans()
]
print("SPANS", json.dumps(spans))
print("TRACEPARENTS", json.dumps(seen_traceparents))
"""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def _python(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter with only these variables (tracing is read at start)."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ".", **env},
    )


def _run(script: str, **env: str) -> str:
    result = _python(script, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _tagged(output: str, tag: str) -> Any:
    line = next(line for line in output.splitlines() if line.startswith(tag + " "))
    return json.loads(line.removeprefix(tag + " ")) if tag != "LOADED" else line


def test_with_no_endpoint_no_part_of_opentelemetry_is_ever_imported() -> None:
    loaded = _tagged(_run(OFF_SCRIPT), "LOADED")
    assert loaded == "LOADED []"


def test_with_no_endpoint_log_lines_carry_no_trace_fields() -> None:
    output = _run(OFF_SCRIPT)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines
    assert not [line for line in lines if "trace_id" in line or "span_id" in line]


@pytest.fixture(scope="module")
def traced() -> tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]]:
    traceparent = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
    output = _run(
        f"TRACEPARENT = {traceparent!r}\n" + ON_SCRIPT,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1",
    )
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return _tagged(output, "SPANS"), _tagged(output, "TRACEPARENTS"), logs


def test_a_request_continues_its_callers_trace_into_background_work_and_its_calls(
    traced: tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]],
) -> None:
    spans, traceparents, _ = traced
    by_name = {span["name"]: span for span in spans}
    server = by_name["POST /hooks/<vendor>"]
    background = by_name["background background"]
    client = by_name["GET"]
    assert {span["trace_id"] for span in spans if "later" not in span["name"]} == {TRACE_ID}
    assert (server["kind"], server["parent"]) == ("SERVER", CALLER_SPAN)
    assert background["parent"] == server["span_id"]
    assert (client["kind"], client["parent"]) == ("CLIENT", background["span_id"])
    assert traceparents == [f"00-{TRACE_ID}-{client['span_id']}-01"]
    assert {span["service"] for span in spans} == {"unit"}


def test_probes_make_no_spans(
    traced: tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]],
) -> None:
    spans, _, _ = traced
    assert not [span for span in spans if "healthz" in json.dumps(span)]


def test_a_secret_in_a_query_never_reaches_a_span(
    traced: tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]],
) -> None:
    spans, _, _ = traced
    recorded = json.dumps(spans)
    assert "hunter2" not in recorded
    # nor in what a failed call or a failing view recorded of its exception
    failed = [span for span in spans if span["events"]]
    assert {span["name"] for span in failed} == {"POST", "GET /boom"}, failed
    assert "token=" in recorded and "api_key=" in recorded  # masked, not dropped


def test_log_lines_under_a_span_carry_its_trace_and_span_ids(
    traced: tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]],
) -> None:
    spans, _, logs = traced
    span_ids = {span["name"]: span["span_id"] for span in spans}
    by_message = {line["message"]: line for line in logs}
    view, job = by_message["in the view"], by_message["in the background"]
    assert (view["trace_id"], view["span_id"]) == (TRACE_ID, span_ids["POST /hooks/<vendor>"])
    assert (job["trace_id"], job["span_id"]) == (TRACE_ID, span_ids["background background"])


def test_work_run_after_the_answer_is_a_span_of_the_request_that_left_it(
    traced: tuple[list[dict[str, Any]], list[str | None], list[dict[str, Any]]],
) -> None:
    spans, _, logs = traced
    by_name = {span["name"]: span for span in spans}
    request, later = by_name["POST /later"], by_name["background process_later"]
    assert (later["trace_id"], later["parent"]) == (request["trace_id"], request["span_id"])
    assert request["parent"] is None  # no traceparent came in: the request began a trace
    logged = next(line for line in logs if line["message"] == "after the answer")
    assert (logged["trace_id"], logged["span_id"]) == (later["trace_id"], later["span_id"])


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
@pytest.mark.parametrize(
    "endpoint", ["collector:4318", "grpc://collector:4317", "http://", "s3cr3t"]
)
def test_an_endpoint_that_is_no_http_url_stops_the_service_naming_the_variable(
    variable: str, endpoint: str
) -> None:
    script = (
        f'from services.insights.app import create_app\ncreate_app({{"DATABASE_URL": "{NOWHERE}"}})'
    )
    result = _python(script, **{variable: endpoint})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"configuration error: {variable} is malformed: expected an http(s) URL"
    )
    assert endpoint not in result.stderr


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ],
)
def test_tracing_is_on_only_with_an_otlp_endpoint(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(environ) is wanted


def test_the_service_name_is_the_operators_when_given() -> None:
    assert service_name("backups", {}) == "backups"
    assert service_name("backups", {"OTEL_SERVICE_NAME": "backups-eu"}) == "backups-eu"


# A provider of this test's own, never made global: the spans are real SDK spans.
SPANS = TracerProvider().get_tracer("test")
SECRET_KEYS = st.sampled_from(
    ["token", "api_key", "apikey", "access_token", "secret", "password", "client_secret", "sig"]
)
SECRET_VALUES = st.text(string.ascii_letters + string.digits, min_size=12, max_size=40)


@given(key=SECRET_KEYS, value=SECRET_VALUES)
def test_a_secret_query_parameter_is_masked_in_a_server_span(key: str, value: str) -> None:
    assume(is_secret_key(key))
    query = urlencode({"vendor": "syncro", key: value})
    span = SPANS.start_span(
        "POST /v1/webhooks/<vendor>",
        attributes={"http.target": f"/v1/webhooks/syncro?{query}", "url.query": query},
    )
    _scrub_server_span(span, "202 ACCEPTED", [])
    span.end()
    assert isinstance(span, ReadableSpan)
    recorded = json.dumps(dict(span.attributes or {}))
    assert value not in recorded
    assert "vendor=syncro" in recorded  # the rest of the query is kept


@given(key=SECRET_KEYS, value=SECRET_VALUES, password=SECRET_VALUES)
def test_a_secret_query_parameter_or_password_is_masked_in_a_client_span(
    key: str, value: str, password: str
) -> None:
    assume(is_secret_key(key))
    url = f"https://user:{password}@psa.example/api/v1/tickets?{urlencode({key: value})}"
    span = SPANS.start_span("POST", attributes={"http.url": url, "url.full": url})
    _scrub_client_span(span, SimpleNamespace(url=url))
    span.end()
    assert isinstance(span, ReadableSpan)
    recorded = json.dumps(dict(span.attributes or {}))
    assert value not in recorded and password not in recorded
    assert "psa.example/api/v1/tickets" in recorded


EXPORTED = InMemorySpanExporter()
_EXPORTING = TracerProvider()
_EXPORTING.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(EXPORTED)))


@given(key=SECRET_KEYS, value=SECRET_VALUES, quoted=st.booleans())
def test_a_secret_in_an_exceptions_message_is_masked_in_what_is_exported(
    key: str, value: str, quoted: bool
) -> None:
    assume(is_secret_key(key))
    message = f"refused https://psa.example/api?{key}={value}" + (
        f' {{"{key}": "{value}"}}' * quoted
    )
    EXPORTED.clear()
    with _EXPORTING.get_tracer("test").start_as_current_span("GET") as span:
        span.record_exception(ConnectionError(message))
        span.set_status(Status(StatusCode.ERROR, f"ConnectionError: {message}"))
    (exported,) = EXPORTED.get_finished_spans()
    assert value not in exported.to_json()
    assert "psa.example/api" in exported.to_json()  # the rest of the message is kept


def test_gunicorns_config_reads_the_names_the_app_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The config imports nothing of shared (it is read before the app's path exists), so it
    # keeps its own copy of the two names; this holds the copies equal to the originals.
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    config["on_exit"](None)
    assert config["WORKER_EXIT_FLUSHES"] == WORKER_EXIT_FLUSHES
    assert config["_TRACE_ID"] == ACCESS_LOG_TRACE_ID
