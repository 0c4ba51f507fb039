"""One trace across the three real gunicorn services: a failed backup, its notice to
integrations, the ticket opened in a (fake) PSA, and integrations asking insights, exported by
OTLP/HTTP to a receiver the test runs; and log lines carrying the trace's id."""

from __future__ import annotations

import gzip
import http.server
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from pytest_httpserver import HTTPServer

from tests.deploy.processes import RunningService, start, wait_for_status
from tests.e2e.private_stack import private_stack
from tests.e2e.psa_stand_in import add_syncro_credential, psa_stand_in
from tests.e2e.stack import REPO, Stack, gunicorn_command
from tests.mariadb import MariaDBServer, free_port
from tests.polling import eventually
from tests.tokens import TokenMaker as Tokens

pytestmark = pytest.mark.e2e

SYNCRO_TOKEN = f"syncro-trace-{secrets.token_hex(8)}"
TIMEOUT = 30


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]


class OtlpReceiver(http.server.ThreadingHTTPServer):
    """A collector's OTLP/HTTP traces endpoint (POST /v1/traces, protobuf), keeping each span."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OtlpHandler)
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def keep(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = [
            ReceivedSpan(
                service=_attributes(resource_spans.resource.attributes)["service.name"],
                name=span.name,
                kind=span.kind,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_id=span.parent_span_id.hex(),
                attributes=_attributes(span.attributes),
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self.lock:
            self.spans.extend(received)


class _OtlpHandler(http.server.BaseHTTPRequestHandler):
    server: OtlpReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        self.server.keep(body)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _attributes(pairs: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind) if kind else None
    return values


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def psa() -> Iterator[HTTPServer]:
    """A local stand-in for Syncro's ticket API."""
    with psa_stand_in() as server:
        yield server


@pytest.fixture(scope="module")
def system(
    mariadb_server: MariaDBServer,
    tmp_path_factory: pytest.TempPathFactory,
    psa: HTTPServer,
    receiver: OtlpReceiver,
) -> Iterator[tuple[Stack, Tokens]]:
    database_url = mariadb_server.migrated_database("e2e_tracing")
    with private_stack(
        database_url,
        tmp_path_factory.mktemp("tracing"),
        BACKUP_TICKET_INTEGRATION="syncro",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",
    ) as (stack, tokens):
        add_syncro_credential(stack, tokens, psa, name="trace-syncro", api_key=SYNCRO_TOKEN)
        yield stack, tokens


class Caller:
    """A client that traces its own work (an assistant, a script): every call it makes carries
    its trace in a W3C `traceparent`, each from a span of its own."""

    def __init__(self, stack: Stack, tokens: Tokens) -> None:
        self.stack, self.tokens = stack, tokens
        self.trace_id = secrets.token_hex(16)
        self.span_ids: list[str] = []

    def call(
        self, method: str, service: str, path: str, *scopes: str, **kwargs: Any
    ) -> dict[str, Any]:
        span_id = secrets.token_hex(8)
        self.span_ids.append(span_id)
        headers = self.tokens.headers(*scopes, request_id=kwargs.pop("request_id", None))
        headers["traceparent"] = f"00-{self.trace_id}-{span_id}-01"
        answer = requests.request(
            method, self.stack.url(service) + path, headers=headers, timeout=TIMEOUT, **kwargs
        )
        assert answer.status_code in (200, 201, 202), answer.text
        body: dict[str, Any] = answer.json()
        return body


def _ancestry(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """The span and its parents up to the first whose parent is not in `spans`."""
    by_id = {candidate.span_id: candidate for candidate in spans}
    chain = [span]
    while chain[-1].parent_id in by_id:
        chain.append(by_id[chain[-1].parent_id])
    return chain


def _only(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [span for span in spans if span.service == service and span.name == name]
    assert len(found) == 1, [(span.service, span.name) for span in spans]
    return found[0]


SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


@pytest.fixture(scope="module")
def failed_backup_trace(
    system: tuple[Stack, Tokens], psa: HTTPServer, receiver: OtlpReceiver
) -> tuple[Caller, str, list[ReceivedSpan]]:
    """A technician's work under one trace: a backup that fails (so backups notifies
    integrations, which opens a Syncro ticket), then the event recorded for its work item
    (so integrations asks insights which session that item belongs to)."""
    stack, tokens = system
    psa.expect_request("/api/v1/tickets", method="POST").respond_with_json(
        {"ticket": {"id": 4343, "number": 5343, "subject": "Backup failed", "status": "New"}}
    )
    caller = Caller(stack, tokens)
    client = caller.call(
        "POST",
        "insights",
        "/v1/clients",
        "insights:write",
        json={"name": f"trace-{secrets.token_hex(4)}"},
    )
    session = caller.call(
        "POST",
        "insights",
        "/v1/sessions",
        "insights:write",
        json={"client_id": client["id"], "title": "restore the nightly backups"},
    )
    item = caller.call(
        "POST",
        "insights",
        "/v1/work-items",
        "insights:write",
        json={"session_id": session["id"], "category": "infrastructure", "title": "backups"},
    )
    request_id = f"trace-backup-{secrets.token_hex(4)}"
    backup = caller.call(
        "POST",
        "backups",
        "/v1/backups",
        "backups:run",
        request_id=request_id,
        json={"database": f"no_such_db_{secrets.token_hex(4)}"},
    )

    def ticket_opened() -> bool:
        return any(r.path == "/api/v1/tickets" and r.method == "POST" for r, _ in psa.log)

    eventually(ticket_opened, within=120)
    caller.call(
        "POST",
        "integrations",
        "/v1/integration-events",
        "integrations:write",
        json={
            "work_item_id": item["id"],
            "integration_type": "msp_backups",
            "direction": "inbound",
            "action": "fetched",
            "external_id": backup["id"],
        },
    )

    def whole_trace() -> list[ReceivedSpan] | None:
        spans = receiver.trace(caller.trace_id)
        names = {(span.service, span.name) for span in spans}
        wanted = {
            ("backups", "POST /v1/backups"),
            ("integrations", "POST /v1/tickets"),
            ("integrations", "POST /v1/integration-events"),
            ("insights", "GET /v1/work-items/<string:item_id>"),
        }
        psa_calls = [span for span in spans if "/api/v1/tickets" in str(span.attributes)]
        # Each process exports on its own schedule: complete once no span misses its parent.
        known = {span.span_id for span in spans} | set(caller.span_ids)
        complete = all(span.parent_id in known for span in spans)
        return spans if wanted <= names and psa_calls and complete else None

    return caller, request_id, eventually(whole_trace, within=60)


def test_a_failed_backup_its_notice_ticket_and_insights_lookup_are_one_trace(
    failed_backup_trace: tuple[Caller, str, list[ReceivedSpan]],
) -> None:
    caller, _, spans = failed_backup_trace
    assert {span.service for span in spans} == {"backups", "integrations", "insights"}
    assert {span.trace_id for span in spans} == {caller.trace_id}


def test_the_ticket_descends_from_the_backup_request_through_its_background_job(
    failed_backup_trace: tuple[Caller, str, list[ReceivedSpan]],
) -> None:
    caller, _, spans = failed_backup_trace
    ticket = _only(spans, "integrations", "POST /v1/tickets")
    chain = _ancestry(ticket, spans)
    path = [(span.service, span.kind, span.name) for span in chain]
    # integrations' server span <- backups' client call <- the job's span <- the request
    assert path[0] == ("integrations", SERVER, "POST /v1/tickets")
    assert path[1][:2] == ("backups", CLIENT)
    assert chain[1].attributes["peer.service"] == "integrations"
    assert path[2][0] == "backups" and path[2][2].startswith("background ")
    assert path[-1] == ("backups", SERVER, "POST /v1/backups")
    assert chain[-1].parent_id in caller.span_ids  # the caller's own span


def test_the_psa_call_is_a_client_span_of_the_ticket_and_carries_the_trace_to_the_psa(
    failed_backup_trace: tuple[Caller, str, list[ReceivedSpan]], psa: HTTPServer
) -> None:
    caller, _, spans = failed_backup_trace
    ticket = _only(spans, "integrations", "POST /v1/tickets")
    psa_calls = [span for span in spans if "/api/v1/tickets" in str(span.attributes)]
    assert [span.kind for span in psa_calls] == [CLIENT]
    assert "peer.service" not in psa_calls[0].attributes  # a vendor, not one of ours
    assert ticket in _ancestry(psa_calls[0], spans)
    sent = [r for r, _ in psa.log if r.path == "/api/v1/tickets" and r.method == "POST"]
    assert sent[-1].headers["traceparent"] == f"00-{caller.trace_id}-{psa_calls[0].span_id}-01"
    assert SYNCRO_TOKEN not in json.dumps([span.attributes for span in spans])


def test_insights_answers_integrations_within_the_same_trace(
    failed_backup_trace: tuple[Caller, str, list[ReceivedSpan]],
) -> None:
    _, _, spans = failed_backup_trace
    lookup = _only(spans, "insights", "GET /v1/work-items/<string:item_id>")
    path = [(span.service, span.kind) for span in _ancestry(lookup, spans)]
    assert path[:2] == [("insights", SERVER), ("integrations", CLIENT)]
    assert _ancestry(lookup, spans)[1].attributes["peer.service"] == "insights"
    assert path[-1] == ("integrations", SERVER)


def test_the_backups_log_lines_of_that_request_carry_its_trace_id(
    system: tuple[Stack, Tokens], failed_backup_trace: tuple[Caller, str, list[ReceivedSpan]]
) -> None:
    stack, _ = system
    caller, request_id, spans = failed_backup_trace
    lines = [
        json.loads(line)
        for line in stack.services["backups"].log().splitlines()
        if line.startswith("{")
    ]
    of_request = [line for line in lines if line.get("request_id") == request_id]
    access = [line for line in of_request if line["name"] == "gunicorn.access"]
    app_lines = [line for line in of_request if line["name"] != "gunicorn.access"]
    assert access and app_lines, of_request
    assert {line.get("trace_id") for line in of_request} == {caller.trace_id}
    backups_spans = {span.span_id for span in spans if span.service == "backups"}
    assert {line["span_id"] for line in app_lines} <= backups_spans


@pytest.mark.parametrize("preload", ["true", "false"])  # forked from the master, or loaded anew
def test_spans_still_batched_when_a_worker_stops_are_sent_before_it_exits(
    system: tuple[Stack, Tokens], receiver: OtlpReceiver, tmp_path: Path, preload: str
) -> None:
    stack, tokens = system
    patient = {  # a batch that would wait ten minutes
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_PRELOAD": preload,
    }
    env = {**stack.envs["insights"], "PORT": str(free_port()), **patient}
    service = start(gunicorn_command("insights"), env, cwd=REPO, log_path=tmp_path / "log")
    trace_id = secrets.token_hex(16)
    try:
        wait_for_status(service, "/readyz")
        headers = tokens.headers("insights:read")
        headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        answer = requests.get(service.base_url + "/v1/clients", headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        time.sleep(1)
        assert receiver.trace(trace_id) == []  # still in the worker's batch
    finally:
        assert service.stop() == 0
    assert [span.name for span in receiver.trace(trace_id)] == ["GET /v1/clients"]


# A caller's traceparent is trusted when well formed (README "Traces"); anything else must
# start a trace of our own, never fail the request, and never reach an answer or a log line.
W3C_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?")
LATIN_1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
WRONG_FIELDS = st.sampled_from(["0" * 32, "0" * 16, "f" * 32, "A" * 32, "abc", "0" * 33, "g" * 16])


def _well_formed(traceparent: str) -> bool:
    """W3C Trace Context: version ff and zero ids are invalid; only later versions may go on."""
    match = W3C_TRACEPARENT.fullmatch(traceparent)
    if not match or match[1] == "ff" or (match[1] == "00" and match[4] is not None):
        return False
    return match[2] != "0" * 32 and match[3] != "0" * 16


def _hex(size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=size, max_size=size)


def _shaped_traceparents() -> st.SearchStrategy[str]:
    """W3C-shaped values with parts wrong (zero ids, version ff, upper case, lengths, tails)."""
    return st.builds(
        lambda *parts: "-".join(part for part in parts if part is not None),
        st.one_of(_hex(2), st.sampled_from(["ff", "0g", ""])),
        st.one_of(_hex(32), WRONG_FIELDS),
        st.one_of(_hex(16), WRONG_FIELDS),
        st.one_of(_hex(2), st.sampled_from(["", "zz"])),
        st.one_of(st.none(), st.text(LATIN_1, max_size=40)),
    )


def _access_line(service: RunningService, request_id: str) -> dict[str, Any]:
    def logged() -> dict[str, Any] | None:
        for line in service.log().splitlines():
            if request_id in line and '"gunicorn.access"' in line:
                return dict(json.loads(line))
        return None

    return eventually(logged, within=10)


@settings(max_examples=60, deadline=None)
@given(traceparent=st.one_of(_shaped_traceparents(), st.text(LATIN_1, max_size=300)))
def test_a_malformed_traceparent_starts_a_trace_of_our_own_and_the_request_succeeds(
    system: tuple[Stack, Tokens], read_headers: dict[str, str], traceparent: str
) -> None:
    stack, _ = system
    traceparent = traceparent.strip(" \t")
    request_id = f"hostile-{secrets.token_hex(6)}"
    headers = {**read_headers, "X-Request-ID": request_id, "traceparent": traceparent}
    answer = requests.get(stack.url("insights") + "/v1/clients", headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    trace_id = _access_line(stack.services["insights"], request_id)["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id) and trace_id != "0" * 32
    if not _well_formed(traceparent):
        assert trace_id not in traceparent.lower()


NOT_HEX = "zq" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


@pytest.mark.parametrize(
    ("traceparent", "tracestate"),
    [
        (f"00-{'a' * 32}-{'b' * 16}-01-{NOT_HEX * 400}"[:8000], NOT_HEX),  # within the header limit
        (f"00-{NOT_HEX}-{'b' * 16}-01", f"{NOT_HEX}=={NOT_HEX},,={'x' * 600}"),
        (f'00-"{NOT_HEX}"\\u0000<script>', f'k={NOT_HEX}\t;\\"{"y" * 7000}'),
    ],
    ids=["8000-characters", "non-hex-trace-id", "quotes-and-escapes"],
)
def test_a_hostile_trace_header_never_reaches_the_answer_or_the_logs(
    system: tuple[Stack, Tokens], read_headers: dict[str, str], traceparent: str, tracestate: str
) -> None:
    stack, _ = system
    request_id = f"hostile-{secrets.token_hex(6)}"
    headers = {**read_headers, "X-Request-ID": request_id}
    headers |= {"traceparent": traceparent, "tracestate": tracestate}
    for service in ("insights", "integrations", "backups"):
        answer = requests.get(stack.url(service) + "/healthz", headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert NOT_HEX not in answer.text + json.dumps(dict(answer.headers))
        _access_line(stack.services[service], request_id)
        assert NOT_HEX not in stack.services[service].log()


@pytest.fixture(scope="module")
def read_headers(system: tuple[Stack, Tokens]) -> dict[str, str]:
    _, tokens = system
    return tokens.headers("insights:read")
