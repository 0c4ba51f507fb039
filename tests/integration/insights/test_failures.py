"""Failure ingest over HTTP: redaction before storage, grouping, counters, promotion rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from services.insights.failures.fingerprint import current_version
from tests.integration.insights.factories import WRITE, make_client, make_host, make_session

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def estate(client: FlaskClient, hdr: dict) -> dict[str, Any]:
    owner = make_client(client, hdr)
    hosts = [
        make_host(client, hdr, owner["id"], os="Windows Server", os_version="2012 R2")
        for _ in range(3)
    ]
    return {"client": owner, "hosts": hosts}


def fail(client: FlaskClient, hdr: dict, estate: dict, host: int = 0, **extra: Any) -> Any:
    body = {
        "client_id": estate["client"]["id"],
        "infrastructure_id": estate["hosts"][host]["id"],
        "command": "Get-Service -Name Spooler2",
        "exit_code": 1,
        "error_output": "Get-Service : Cannot find any service with service name 'Spooler2'."
        "\n    + FullyQualifiedErrorId : NoServiceFoundForGivenName,"
        "Microsoft.PowerShell.Commands.GetServiceCommand",
        **extra,
    }
    response = client.post("/v1/failures", json=body, headers=hdr)
    assert response.status_code == 201, response.json
    return response.json


def test_no_secret_from_a_failure_reaches_the_database(
    client: FlaskClient, hdr: dict, estate: dict, engine: Engine
) -> None:
    secrets = ["Hunter2!xyz", "tok_9f8e7d6c5b4a", "P@ssw0rd77"]
    result = fail(
        client,
        hdr,
        estate,
        command=f"Invoke-Sqlcmd -Username sa -Password '{secrets[0]}' -Query x",
        error_output=f"Login failed. Authorization: Bearer {secrets[1]}\n"
        f"Server=db;User Id=sa;Password={secrets[2]};",
    )
    with engine.connect() as connection:
        rows = [
            *connection.execute(
                text("SELECT command, error_output FROM failure_occurrences WHERE id = :id"),
                {"id": result["occurrence_id"]},
            ),
            *connection.execute(
                text("SELECT sample_command, sample_error FROM failure_patterns WHERE id = :id"),
                {"id": result["pattern"]["id"]},
            ),
        ]
    stored = " ".join(str(value) for row in rows for value in row)
    assert "[REDACTED]" in stored
    for secret in secrets:
        assert secret not in stored
        assert secret not in str(result)


def test_the_same_failure_with_other_values_joins_one_pattern(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    first = fail(client, hdr, estate)
    second = fail(
        client,
        hdr,
        estate,
        command="Get-Service -Name W3SVCX",
        error_output=first["pattern"]["sample_error"].replace("Spooler2", "W3SVCX"),
    )
    assert first["pattern_is_new"] and not second["pattern_is_new"]
    assert second["pattern"]["id"] == first["pattern"]["id"]
    assert second["pattern"]["occurrence_count"] == 2
    assert second["pattern"]["fingerprint_version"] == current_version()
    assert second["pattern"]["command_key"] == "get-service -name"


def test_two_commands_through_one_wrapper_make_two_patterns(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    a = fail(client, hdr, estate, command="sudo systemctl restart nginx", error_output="failed")
    b = fail(client, hdr, estate, command="sudo apt-get update", error_output="failed")
    assert a["pattern"]["id"] != b["pattern"]["id"]


def test_a_pattern_repeated_on_one_host_becomes_a_host_level_suspected_insight(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    assert fail(client, hdr, estate)["insight"] is None
    second = fail(client, hdr, estate)
    assert second["insight"]["action"] == "created"
    assert second["insight"]["confidence_level"] == "suspected"
    insight = client.get(f"/v1/insights/{second['insight']['id']}", headers=hdr).json
    assert insight["infrastructure_id"] == estate["hosts"][0]["id"]
    assert insight["scope"] == "host"
    assert [e["kind"] for e in insight["examples"]] == ["dont"]


def test_a_pattern_on_three_hosts_becomes_a_client_level_insight_that_gains_confidence(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    work = [make_session(client, hdr, estate["client"]["id"]) for _ in range(4)]
    results = [fail(client, hdr, estate, host=i, session_id=work[i]["id"]) for i in range(3)]
    created = results[2]["insight"]
    assert created["action"] == "created"
    insight = client.get(f"/v1/insights/{created['id']}", headers=hdr).json
    assert insight["scope"] == "client" and insight["infrastructure_id"] is None
    more = [fail(client, hdr, estate, host=0, session_id=work[3]["id"])]
    more.append(
        fail(
            client,
            hdr,
            estate,
            host=1,
            session_id=make_session(client, hdr, estate["client"]["id"])["id"],
        )
    )
    # Born likely with the support of its three hosts; a fourth independent one confirms it.
    assert created["confidence_level"] == "likely"
    assert more[0]["insight"]["action"] == "confirmed"
    assert more[0]["insight"]["confidence_level"] == "confirmed"
    history = client.get(f"/v1/insights/{created['id']}/history", headers=hdr).json
    kinds = [e["event_type"] for e in history["events"]]
    assert kinds[:2] == ["created", "confirmed"]
    assert all(e["reason"] for e in history["events"])
    assert len(history["occurrences"]) == 5


def test_the_same_session_on_the_same_host_is_not_independent_evidence(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    work = make_session(client, hdr, estate["client"]["id"])
    results = [fail(client, hdr, estate, session_id=work["id"]) for _ in range(5)]
    assert results[-1]["insight"]["confidence_level"] == "suspected"
    assert results[-1]["insight"]["action"] == "unchanged"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"client_id": "0" * 36}, 404, None),
        ({"infrastructure_id": "0" * 36}, 404, None),
        ({"session_id": "0" * 36}, 404, None),
        ({"exit_code": "boom"}, 422, "exit_code"),
        ({"exit_code": 2**40}, 422, "exit_code"),
        ({"command": ""}, 422, "command"),
        ({"observed_at": "yesterday"}, 422, "observed_at"),
        ({"command": "x" * 9000}, 422, "command"),
    ],
)
def test_bad_failures_are_refused_and_nothing_is_written(
    client: FlaskClient,
    hdr: dict,
    estate: dict,
    engine: Engine,
    change: dict,
    status: int,
    field: str | None,
) -> None:
    body = {
        "client_id": estate["client"]["id"],
        "infrastructure_id": estate["hosts"][0]["id"],
        "command": "whoami",
        "error_output": "x",
        "exit_code": 1,
        **change,
    }
    response = client.post("/v1/failures", json=body, headers=hdr)
    assert response.status_code == status
    if field:
        assert field in response.json["errors"]
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT COUNT(*) FROM failure_patterns WHERE client_id = :c"),
            {"c": estate["client"]["id"]},
        ).scalar()
    assert count == 0


def test_a_host_of_another_client_is_422_naming_it(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    other = make_client(client, hdr)
    foreign = make_host(client, hdr, other["id"])
    response = client.post(
        "/v1/failures",
        json={
            "client_id": estate["client"]["id"],
            "infrastructure_id": foreign["id"],
            "command": "whoami",
            "exit_code": 1,
        },
        headers=hdr,
    )
    assert response.status_code == 422
    assert foreign["id"] in response.json["errors"]["infrastructure_id"][0]


def test_oversized_error_output_is_stored_truncated_with_a_marker(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    result = fail(client, hdr, estate, error_output="E" * 40_000)
    assert result["truncated"] is True
    sample = result["pattern"]["sample_error"]
    assert "truncated" in sample and len(sample) < 17_000


def test_patterns_are_listed_per_host_and_their_occurrences_paged(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    first = fail(client, hdr, estate)
    fail(client, hdr, estate, host=1)
    page = client.get(
        "/v1/failure-patterns",
        headers=hdr,
        query_string={"infrastructure_id": estate["hosts"][1]["id"]},
    ).json
    assert [p["id"] for p in page["items"]] == [first["pattern"]["id"]]
    occurrences = client.get(
        f"/v1/failure-patterns/{first['pattern']['id']}/occurrences",
        query_string={"limit": 1},
        headers=hdr,
    ).json
    assert len(occurrences["items"]) == 1 and occurrences["next_cursor"]


def test_windows_unsigned_and_winget_negative_exit_codes_are_kept(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    assert fail(client, hdr, estate, exit_code=4294967295)["pattern"]["exit_code"] == 4294967295
    assert fail(client, hdr, estate, exit_code=-1978335212)["pattern"]["exit_code"] == -1978335212
