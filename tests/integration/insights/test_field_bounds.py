"""Hostile dates, numbers and strings sent to the insights endpoints: 422 naming the field,
nothing written; the far edge of the date window stays readable everywhere it is read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from services.insights.cli import cli
from services.insights.knowledge.staleness import mark_stale_insights
from shared.web.fields import EARLIEST, TEXT_CHARS
from tests.field_bounds import (
    HOSTILE,
    PROBLEM,
    assert_refused,
    days_outside_the_window,
    instants_outside_the_window,
    not_an_int32_count,
)
from tests.integration.insights.factories import (
    WRITE,
    make_client,
    make_host,
    make_session,
    unique,
)

Auth = Callable[..., dict[str, str]]
LAST_INSTANT = "2199-12-31T23:59:59.999999Z"


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def estate(client: FlaskClient, hdr: dict[str, str]) -> dict[str, Any]:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Windows Server")
    return {"client": owner, "host": host, "session": make_session(client, hdr, owner["id"])}


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def _failure(estate: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "client_id": estate["client"]["id"],
        "infrastructure_id": estate["host"]["id"],
        "command": "Restart-Service -Name Spooler",
        "exit_code": 1,
        "error_output": "Restart-Service : Cannot open Spooler service on computer '.'",
        **extra,
    }


@HOSTILE
@given(when=instants_outside_the_window())
def test_a_session_dated_outside_the_window_is_422_and_not_stored(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], engine: Engine, when: str
) -> None:
    owner = estate["client"]["id"]
    before = _count(engine, "SELECT COUNT(*) FROM sessions WHERE client_id = :c", c=owner)
    for field in ("started_at", "ended_at"):
        body = {"client_id": owner, "title": "patching", field: when}
        assert_refused(client.post("/v1/sessions", json=body, headers=hdr), field)
    assert _count(engine, "SELECT COUNT(*) FROM sessions WHERE client_id = :c", c=owner) == before


@HOSTILE
@given(when=instants_outside_the_window())
def test_a_failure_observed_outside_the_window_is_422_and_not_stored(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], engine: Engine, when: str
) -> None:
    host = estate["host"]["id"]
    sql = "SELECT COUNT(*) FROM failure_occurrences WHERE infrastructure_id = :h"
    response = client.post("/v1/failures", json=_failure(estate, observed_at=when), headers=hdr)
    assert_refused(response, "observed_at")
    assert _count(engine, sql, h=host) == 0


@HOSTILE
@given(when=instants_outside_the_window())
def test_query_dates_outside_the_window_are_422(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], when: str
) -> None:
    owner, host = estate["client"]["id"], estate["host"]["id"]
    lists = {
        "started_after": "/v1/sessions",
        "started_before": "/v1/sessions",
        "as_of": f"/v1/clients/{owner}/hosts/{host}/briefing",
    }
    for name, path in lists.items():
        assert_refused(client.get(path, query_string={name: when}, headers=hdr), name)


@HOSTILE
@given(day=days_outside_the_window())
def test_metric_days_outside_the_window_are_422(
    client: FlaskClient, auth: Auth, hdr: dict[str, str], day: str
) -> None:
    reader = auth("insights:read")
    assert_refused(client.get("/v1/metrics", query_string={"since": day}, headers=reader), "since")
    assert_refused(client.post("/v1/metrics/rollup", json={"day": day}, headers=hdr), "day")


def test_a_naive_datetime_is_422_asking_for_an_offset(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any]
) -> None:
    body = {"title": "patching", "started_at": "2026-03-01T10:00:00"}
    response = client.post("/v1/sessions", json=body, headers=hdr)
    assert_refused(response, "started_at")
    assert "offset" in response.get_json()["errors"]["started_at"][0]


def test_an_offset_is_converted_to_utc_at_both_edges_of_the_window(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any]
) -> None:
    owner = estate["client"]["id"]
    body = {
        "client_id": owner,
        "title": "edges",
        "started_at": "1970-01-01T14:00:00+14:00",
        "ended_at": "2199-12-31T12:59:59-11:00",
    }
    made = client.post("/v1/sessions", json=body, headers=hdr)
    assert made.status_code == 201, made.get_json()
    shown = client.get(f"/v1/sessions/{made.get_json()['id']}", headers=hdr).get_json()
    assert datetime.fromisoformat(shown["started_at"]) == EARLIEST
    assert datetime.fromisoformat(shown["ended_at"]) == datetime(
        2199, 12, 31, 23, 59, 59, tzinfo=UTC
    )


@HOSTILE
@given(value=not_an_int32_count())
def test_minutes_and_counts_refuse_floats_text_booleans_and_out_of_range(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], engine: Engine, value: Any
) -> None:
    session_id = estate["session"]["id"]
    sql = "SELECT COUNT(*) FROM work_items WHERE session_id = :s"
    for field in ("estimated_minutes", "actual_minutes"):
        body = {"session_id": session_id, "category": "maintenance", "title": "t", field: value}
        assert_refused(client.post("/v1/work-items", json=body, headers=hdr), field)
    assert _count(engine, sql, s=session_id) == 0
    body = {"client_id": estate["client"]["id"], "title": "t", "billable_minutes": value}
    assert_refused(client.post("/v1/sessions", json=body, headers=hdr), "billable_minutes")


@HOSTILE
@given(value=st.one_of(st.integers(min_value=2**32), st.integers(max_value=-(2**31) - 1)))
def test_an_exit_code_beyond_32_bits_is_422(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], value: int
) -> None:
    response = client.post("/v1/failures", json=_failure(estate, exit_code=value), headers=hdr)
    assert response.status_code in (400, 422), response.get_json()
    assert response.mimetype == PROBLEM
    assert "exit_code" in str(response.get_json())


@pytest.mark.parametrize("blank", ["", " ", "\t\n "])
def test_a_required_name_refuses_blank_text(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], blank: str
) -> None:
    assert_refused(client.post("/v1/clients", json={"name": blank}, headers=hdr), "name")
    body = {"client_id": estate["client"]["id"], "hostname": blank}
    assert_refused(client.post("/v1/hosts", json=body, headers=hdr), "hostname")
    assert_refused(
        client.post("/v1/failures", json=_failure(estate, command=blank), headers=hdr), "command"
    )


def test_an_insight_description_of_four_byte_characters_at_the_bound_is_stored_whole(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any]
) -> None:
    """TEXT holds 65,535 bytes; the bound is in characters of up to 4 bytes each."""
    body = {
        "client_id": estate["client"]["id"],
        "insight_category": "other",
        "title": unique("emoji"),
        "description": "\U0001f600" * TEXT_CHARS,
    }
    made = client.post("/v1/insights", json=body, headers=hdr)
    assert made.status_code == 201, made.get_json()
    shown = client.get(f"/v1/insights/{made.get_json()['id']}", headers=hdr).get_json()
    assert shown["description"] == body["description"]
    body["description"] += "\U0001f600"
    assert_refused(client.post("/v1/insights", json=body, headers=hdr), "description")


def test_a_failure_at_the_last_instant_leaves_every_reader_working(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], db_session: Session
) -> None:
    """The latest instant the window allows, promoted to an insight, then read every way."""
    owner, host = estate["client"]["id"], estate["host"]["id"]
    results = [
        client.post("/v1/failures", json=_failure(estate, observed_at=LAST_INSTANT), headers=hdr)
        for _ in range(3)
    ]
    assert all(r.status_code == 201 for r in results), [r.get_json() for r in results]
    pattern_id = results[-1].get_json()["pattern"]["id"]
    reads = [
        "/v1/failure-patterns?sort=-last_seen_at",
        f"/v1/failure-patterns/{pattern_id}",
        f"/v1/failure-patterns/{pattern_id}/occurrences",
        f"/v1/insights?client_id={owner}&sort=-priority",
        f"/v1/clients/{owner}/hosts/{host}/briefing",
        f"/v1/clients/{owner}/hosts/{host}/briefing?format=markdown",
        f"/v1/metrics?client_id={owner}&since=2199-12-31&until=2199-12-31",
    ]
    for path in reads:
        answer = client.get(path, headers=hdr)
        assert answer.status_code == 200, (path, answer.get_json())
    insight = results[-1].get_json()["insight"]
    if insight is not None:
        for suffix in ("", "/history"):
            answer = client.get(f"/v1/insights/{insight['id']}{suffix}", headers=hdr)
            assert answer.status_code == 200, (suffix, answer.get_json())
    rollup = client.post("/v1/metrics/rollup", json={"day": "2199-12-31"}, headers=hdr)
    assert rollup.status_code == 200, rollup.get_json()
    mark_stale_insights(session=db_session, now=datetime.now(UTC))


@pytest.mark.parametrize("length", [TEXT_CHARS, TEXT_CHARS + 1, 40_000])
def test_an_error_output_of_four_byte_characters_is_stored_within_its_text_column(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], length: int
) -> None:
    """Truncation counts characters; the TEXT column counts bytes (4 per emoji)."""
    body = _failure(estate, error_output="\U0001f600" * length)
    made = client.post("/v1/failures", json=body, headers=hdr)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["truncated"] is (length > TEXT_CHARS)
    pattern = made.get_json()["pattern"]["id"]
    stored = client.get(f"/v1/failure-patterns/{pattern}/occurrences", headers=hdr).get_json()
    assert len(stored["items"][0]["error_output"].encode()) <= 65_535


@pytest.mark.parametrize("day", ["9999-12-31", "1969-12-31", "2200-01-01"])
def test_the_rollup_cli_refuses_a_day_outside_the_window(database_url: str, day: str) -> None:
    result = CliRunner().invoke(
        cli, ["rollup-metrics", "--day", day], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 2, result.output
    assert "--day" in result.output and "1970-01-01" in result.output


LEGACY_INSTANT = "9999-12-31 23:59:59.999999"


def test_rows_written_before_the_window_at_year_9999_stay_readable(
    client: FlaskClient, hdr: dict[str, str], estate: dict[str, Any], engine: Engine
) -> None:
    """An older release stored what the API now refuses; reading such rows must not overflow."""
    owner, host = estate["client"]["id"], estate["host"]["id"]
    made = [client.post("/v1/failures", json=_failure(estate), headers=hdr) for _ in range(3)]
    pattern = made[-1].get_json()["pattern"]["id"]
    insight = {
        "client_id": owner,
        "insight_category": "security",
        "title": unique("legacy"),
        "description": "written by an older release",
        "priority": 9,
    }
    insight_id = client.post("/v1/insights", json=insight, headers=hdr).get_json()["id"]
    with engine.begin() as connection:
        for sql in (
            "UPDATE failure_occurrences SET observed_at = :t WHERE failure_pattern_id = :p",
            "UPDATE failure_patterns SET last_seen_at = :t WHERE id = :p",
            "UPDATE environmental_insights SET last_evidence_at = :t, last_verified_at = :t"
            " WHERE id = :i",
        ):
            connection.execute(text(sql), {"t": LEGACY_INSTANT, "p": pattern, "i": insight_id})
    reads = [
        f"/v1/failure-patterns/{pattern}/occurrences",
        "/v1/failure-patterns?sort=-last_seen_at",
        f"/v1/insights?client_id={owner}",
        f"/v1/insights/{insight_id}",
        f"/v1/insights/{insight_id}/history",
        f"/v1/clients/{owner}/hosts/{host}/briefing",
        f"/v1/clients/{owner}/hosts/{host}/briefing?format=markdown",
    ]
    for path in reads:
        answer = client.get(path, headers=hdr)
        assert answer.status_code == 200, (path, answer.get_json())
    assert client.get(f"/v1/insights/{insight_id}", headers=hdr).get_json()["is_stale"] is False
