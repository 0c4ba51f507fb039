"""No secret from a command line reaches any insights table, through ingest, promotion and check."""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Engine, String, Table, Text, text

from shared.models import insights as insights_models
from shared.models.base import Base
from shared.models.idempotency import RequestIdempotency
from shared.redaction import REDACTION_VERSION
from tests.integration.insights.factories import WRITE, make_client, make_host
from tests.unit.insights.secret_commands import SECRET_COMMANDS

Auth = Callable[..., dict[str, str]]
SLOT = "\x00"
TEMPLATES = [command.replace(secret, SLOT) for _, command, secret in SECRET_COMMANDS]
secrets = st.builds(
    lambda head, body: head + body,
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=string.ascii_letters + string.digits + "!%^*_+~-", min_size=8, max_size=24),
)


def _insights_tables() -> list[Table]:
    """Every table the insights models define."""
    names = {
        value.__tablename__
        for value in vars(insights_models).values()
        if isinstance(value, type) and issubclass(value, Base) and hasattr(value, "__tablename__")
    }
    names |= {t.name for t in vars(insights_models).values() if isinstance(t, Table)}
    names.add(RequestIdempotency.__tablename__)  # the answers kept for Idempotency-Key retries
    return [table for table in Base.metadata.sorted_tables if table.name in names]


def _text_columns() -> list[tuple[str, str]]:
    return [
        (table.name, column.name)
        for table in _insights_tables()
        for column in table.columns
        if isinstance(column.type, String | Text | JSON)
    ]


def columns_holding(engine: Engine, secret: str) -> list[str]:
    """`table.column` of every text or JSON column of every insights table holding `secret`."""
    selects = [
        f"SELECT '{table}.{column}' FROM `{table}` WHERE INSTR(`{column}`, :secret) > 0"
        for table, column in _text_columns()
    ]
    with engine.connect() as connection:
        return list(connection.execute(text(" UNION ".join(selects)), {"secret": secret}).scalars())


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def estate(client: FlaskClient, hdr: dict) -> dict[str, Any]:
    owner = make_client(client, hdr)
    return {"client": owner, "host": make_host(client, hdr, owner["id"], os="Windows Server")}


def ingest_and_check(client: FlaskClient, hdr: dict, estate: dict, command: str) -> None:
    """Two failures on one host (a host-level insight with its example) and a check, each
    with an Idempotency-Key, so their answers are kept too."""
    body = {
        "client_id": estate["client"]["id"],
        "infrastructure_id": estate["host"]["id"],
        "command": command,
        "exit_code": 1,
        "error_output": f"error: the command failed\n+ {command}\nexit status 1",
    }
    for _ in range(2):
        response = client.post("/v1/failures", json=body, headers=_keyed(hdr))
        assert response.status_code == 201, response.json
    check = {key: body[key] for key in ("client_id", "infrastructure_id", "command")}
    response = client.post("/v1/check", json=check, headers=_keyed(hdr))
    assert response.status_code == 200, response.json


def _keyed(hdr: dict[str, str]) -> dict[str, str]:
    return {**hdr, "Idempotency-Key": str(uuid.uuid4())}


def test_the_scan_sees_every_text_column_of_every_insights_table() -> None:
    scanned = {table for table, _ in _text_columns()}
    assert {"failure_occurrences", "failure_patterns", "environmental_insights"} <= scanned
    assert {"environmental_examples", "insight_events", "command_checks"} <= scanned
    assert "request_idempotency" in scanned


@pytest.mark.parametrize(("syntax", "command", "secret"), SECRET_COMMANDS)
def test_no_labelled_secret_is_in_any_table_after_ingest_and_check(
    client: FlaskClient, hdr: dict, estate: dict, engine: Engine, syntax: str, command: str,
    secret: str,
) -> None:  # fmt: skip
    ingest_and_check(client, hdr, estate, command)
    assert columns_holding(engine, secret) == []


@pytest.mark.parametrize("template", TEMPLATES)
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(secret=secrets)
def test_a_random_secret_in_each_form_is_in_no_table(
    client: FlaskClient, hdr: dict, estate: dict, engine: Engine, template: str, secret: str
) -> None:
    ingest_and_check(client, hdr, estate, template.replace(SLOT, secret))
    assert columns_holding(engine, secret) == []


def test_each_stored_row_records_the_redaction_rules_it_went_through(
    client: FlaskClient, hdr: dict, estate: dict, engine: Engine
) -> None:
    ingest_and_check(client, hdr, estate, r"net use Z: \\nas\x Versioned9 /user:a")
    with engine.connect() as connection:
        versions = connection.execute(
            text(
                "SELECT o.redaction_version, p.redaction_version FROM failure_occurrences o"
                " JOIN failure_patterns p ON p.id = o.failure_pattern_id"
                " WHERE o.infrastructure_id = :host"
            ),
            {"host": estate["host"]["id"]},
        ).all()
        checks = connection.execute(
            text("SELECT redaction_version FROM command_checks WHERE infrastructure_id = :host"),
            {"host": estate["host"]["id"]},
        ).scalars()
        assert set(versions) == {(REDACTION_VERSION, REDACTION_VERSION)}
        assert set(checks) == {REDACTION_VERSION}
