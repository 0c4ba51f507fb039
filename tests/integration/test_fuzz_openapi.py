"""Schemathesis over each service's own OpenAPI document, as CI runs it: every check, positive and
negative data, the stateful links, at least 100 examples per operation.

The three services run side by side on loopback ports (each one's peers are the other two), so a
call to a peer is a real call. No answer may be a 5xx, and every answer must match its
documented status, content type, headers and schema.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.engine import events, from_schema
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.integration.fuzzed_services import SERVICES, build_service, is_peer_outage
from tests.mariadb import free_port

EXAMPLES_PER_OPERATION = 100
# schemathesis 4's own list of answers that reject invalid data (413 is added below); a 5xx is
# judged by not_a_server_error, not here.
REJECTION_STATUSES = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]
# Fixed, so a failure in CI replays locally with the same inputs.
SEED = 20261204
# Opaque keyset cursors: no schema can describe which strings the service sealed itself.
OPAQUE_FIELDS = {"cursor"}
# Rules across fields or rows that a JSON schema cannot state; the service refuses them with a
# 422 naming the field: a window whose start is after its end, and a reference to an object
# of another client or to one that does not exist (issue #10, item 3).
RELATIONAL_FIELDS = {"until", "started_before", "ended_at", "since"}
# Rules of one operation that depend on another field or on the stored object, each named:
STATEFUL_RULES: dict[str, set[str]] = {
    # a pre-migration backup is always restore-verified, whatever `verify` asks for
    "POST /v1/backups": {"verify"},
    # a ticket needs a title or a subject: either may be left out, not both
    "POST /v1/tickets": {"title"},
    # only a stored OAuth credential with token_url, client_id and a refresh token can refresh
    "POST /v1/credentials/{credential_id}/access-token": {"refresh_token"},
}
# Grammars and settings a JSON schema does not carry, each refused under its own name with its
# own reason: a URL (`format: url` is not a JSON Schema format, so any string is generated), a
# cron expression (five fields that must fire some day), and s3 storage where this deployment
# has no bucket configured (the fuzzed services have none).
GRAMMAR_RULES: dict[str, str] = {
    "api_url": "Not a valid URL",
    "token_url": "Not a valid URL",
    # a Zapier hook target: https, the vendor's hosts, a public address, no backslash or control
    # character (the vault's outbound rules), which a URL format in JSON Schema cannot state
    "target_url": "refused",
    "cron_expression": "cron",
    "storage": "s3 storage needs BACKUP_S3_BUCKET",
    # a database name: the document gives its characters; that it is no system schema (in any
    # capitalisation) is a rule JSON Schema has no words for
    "database": "a database name is",
    "database_name": "a database name is",
    "target_database": "a database name is",
}
# Which fields a credential has is decided by its credential_type (oauth: client id, secret and
# token URL; basic_auth: username and password; ...): a rule across fields, named per field.
CREDENTIAL_TYPE_RULES = ("is not a field of", "is required for")
# ... and reveal refuses, under the field's own name, a secret field the stored credential's type
# does not have (which secret fields exist is decided per type, not by the request schema).
REVEAL = "POST /v1/credentials/{credential_id}/reveal"
# Instants are accepted within a documented window (x-minimum/x-maximum), which JSON Schema's
# date-time format cannot carry, so the generator sends years outside it.
DOCUMENTED_YEARS = range(1970, 2201)
# ... and an instant inside those years can still fall outside once its offset is applied.
DOCUMENTED_WINDOW = "Must be from 1970-01-01T00:00:00Z up to (not at) 2200-01-01T00:00:00Z"
# The service-wide request guard (README, "Input limits") refuses what JSON Schema cannot bound in
# free-form objects: lone surrogates, NaN/Infinity, integers beyond 64 bits, deep or wide nesting.
GUARD_REFUSALS = re.compile(
    r"lone UTF-16 surrogate|not a finite number|signed 64-bit integer range"
    r"|nesting deeper than|more than \d+ (keys|items)"
)


class QuietHandler(WSGIRequestHandler):
    """No access line per request: a run sends tens of thousands."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextmanager
def served(app: Flask, port: int) -> Iterator[BaseWSGIServer]:
    """The app on a loopback port in a thread of this process.

    Not schemathesis' in-process WSGI transport: in 4.32 its ignored_auth probe hands socket
    options (max_redirects, verify) to werkzeug's test client, which fails with a TypeError, so
    that check would never run."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def running_services(fuzz_database: tuple[str, dict[str, str]]) -> Iterator[dict[str, str]]:
    """All three services, each calling the other two with the admin token; service -> base URL."""
    database_url, headers = fuzz_database
    ports = {service: free_port() for service in SERVICES}
    peers = {
        f"{service.upper()}_URL": f"http://127.0.0.1:{port}" for service, port in ports.items()
    }
    settings = {
        **peers,
        "SERVICE_TOKEN": headers["Authorization"].removeprefix("Bearer "),
        # PSA base URLs are fuzzed too: an unreachable one must fail fast, not stall the run.
        "HTTP_CONNECT_TIMEOUT": "0.5",
        "HTTP_READ_TIMEOUT": "2",
    }
    with ExitStack() as stack:
        for service, port in ports.items():
            stack.enter_context(served(build_service(service, database_url, **settings), port))
        yield {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}


def fuzz_config(headers: dict[str, str]) -> schemathesis.Config:
    """Every check and phase at their defaults, but for the choices written down here."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": headers,
            "continue-on-failure": True,
            "suppress-health-check": ["all"],
            "cache": {"enabled": False},
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "database": "none",
            },
            "checks": {
                # 413 is a documented refusal too: a body over MAX_CONTENT_LENGTH, or a failed
                # command line longer than the 8,192 characters a failure may hold.
                "negative_data_rejection": {"expected-statuses": [*REJECTION_STATUSES, "413"]},
            },
        }
    )


def is_deliberate(failure: Any, case: Any, response: Any) -> bool:
    """A failure that is the documented behaviour, each kind named and narrowed to its cause."""
    checks = type(failure).checks
    body = _json(response)
    if "not_a_server_error" in checks:
        # A PSA at a fuzzed URL is unreachable: the honest answer is 502/503 peer-unavailable.
        # schemathesis keeps each header as a list of its values
        headers = {name: values[0] for name, values in response.headers.items() if values}
        return is_peer_outage(response.status_code, headers, body)
    if "positive_data_acceptance" in checks and response.status_code == 422:
        errors = body.get("errors") if isinstance(body, dict) else None
        return isinstance(errors, dict) and all(
            _refusal_is_documented(case, field, reasons) for field, reasons in errors.items()
        )
    return False


def _refusal_is_documented(case: Any, field: str, reasons: list[str]) -> bool:
    name = field.rsplit(".", 1)[-1]
    if name in OPAQUE_FIELDS or name in RELATIONAL_FIELDS or name.endswith("_id"):
        return True
    label = case.operation.label
    if name in STATEFUL_RULES.get(label, set()):
        return True
    if label == REVEAL and all("is not a secret field of" in str(reason) for reason in reasons):
        return True
    if all(GUARD_REFUSALS.search(str(reason)) for reason in reasons):
        return True
    if name in GRAMMAR_RULES and all(GRAMMAR_RULES[name] in str(r) for r in reasons):
        return True
    if "/v1/credentials" in label and all(
        any(rule in str(r) for rule in CREDENTIAL_TYPE_RULES) for r in reasons
    ):
        return True
    if all(str(r).startswith(DOCUMENTED_WINDOW) for r in reasons):
        return True
    sent = [part.get(name) for part in (case.body, case.query) if isinstance(part, dict)]
    return any(_outside_documented_years(value) for value in sent)


def _outside_documented_years(value: Any) -> bool:
    year = value[:4] if isinstance(value, str) else ""
    # isdecimal() alone admits other scripts' digits, which int() may not read as a year.
    return year.isascii() and year.isdecimal() and int(year) not in DOCUMENTED_YEARS


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def failures_of(stream: Iterator[events.EngineEvent]) -> tuple[list[str], int]:
    """One line (with a curl to replay it) per distinct failure; and how many requests were sent."""
    found: dict[tuple[str, str, str], str] = {}
    sent = 0
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            sent += len(event.recorder.interactions)
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    if node.failure_info is not None:
                        _record(found, event.recorder, case_id, node)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            error = getattr(event, "value", None) or getattr(event, "exception", None)
            found[("error", str(getattr(event, "label", "")), repr(error))] = (
                f"engine error: {error!r}"
            )
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                found[("run", failure.title, failure.message)] = (
                    f"{failure.title}: {failure.message}"
                )
    return list(found.values()), sent


def _record(found: dict[tuple[str, str, str], str], recorder: Any, case_id: str, node: Any) -> None:
    case = recorder.cases[case_id].value
    failure = node.failure_info.failure
    interaction = recorder.interactions.get(case_id)
    answer = interaction.response if interaction is not None else None
    answered = (
        f"{answer.status_code} {answer.text_lossy()[:300]}" if answer is not None else "no answer"
    )
    found.setdefault(
        (case.operation.label, node.name, failure.title),
        f"{case.operation.label} [{node.name}] {failure.title}: {(failure.message or '')[:200]}\n"
        f"    {node.failure_info.code_sample[:500]}\n    -> {answered}",
    )


@pytest.mark.parametrize("service", SERVICES)
def test_no_endpoint_answers_5xx_or_off_its_documented_contract(
    service: str, running_services: dict[str, str], fuzz_database: tuple[str, dict[str, str]]
) -> None:
    _, headers = fuzz_database
    schema = schemathesis.openapi.from_url(
        f"{running_services[service]}/openapi.json", config=fuzz_config(headers)
    )
    schema.hook("filter_failure")(
        lambda context, failure, case, response: not is_deliberate(failure, case, response)
    )
    failures, sent = failures_of(iter(from_schema(schema).execute()))
    operations = len(list(schema.get_all_operations()))
    assert sent >= operations * EXAMPLES_PER_OPERATION // 2, (
        f"only {sent} requests reached {service}"
    )
    assert not failures, f"{len(failures)} distinct failures in {service}:\n" + "\n".join(failures)
