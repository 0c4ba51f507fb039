"""Pre-command checks, outcome reports and the learning metrics they feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.insights.checks.schemas import CheckResultSchema
from services.insights.checks.services import check_command
from shared.web import db_session
from tests.integration.insights.factories import WRITE, make_client, make_host, unique

Auth = Callable[..., dict[str, str]]
WMIC_ERROR = "'wmic' is not recognized as an internal or external command,\noperable program"


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def estate(client: FlaskClient, hdr: dict) -> dict[str, Any]:
    owner = make_client(client, hdr)
    hosts = [
        make_host(client, hdr, owner["id"], os="Windows Server", os_version="2022")
        for _ in range(2)
    ]
    return {"client": owner, "hosts": hosts}


def check(client: FlaskClient, hdr: dict, estate: dict, command: str, host: int = 0) -> Any:
    response = client.post(
        "/v1/check",
        headers=hdr,
        json={
            "client_id": estate["client"]["id"],
            "infrastructure_id": estate["hosts"][host]["id"],
            "command": command,
        },
    )
    assert response.status_code == 200, response.json
    return response.json


def fail(
    client: FlaskClient,
    hdr: dict,
    estate: dict,
    command: str,
    host: int = 0,
    error: str = WMIC_ERROR,
) -> Any:
    return client.post(
        "/v1/failures",
        headers=hdr,
        json={
            "client_id": estate["client"]["id"],
            "infrastructure_id": estate["hosts"][host]["id"],
            "command": command,
            "error_output": error,
            "exit_code": 9009,
        },
    ).json


def constraint(client: FlaskClient, hdr: dict, estate: dict, **fields: Any) -> Any:
    """A command-constraint insight of the estate's client."""
    body = {
        "client_id": estate["client"]["id"],
        "insight_category": "command_constraints",
        "description": "x",
        **fields,
    }
    response = client.post("/v1/insights", headers=hdr, json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_an_unknown_command_is_ok(client: FlaskClient, hdr: dict, estate: dict) -> None:
    result = check(client, hdr, estate, "Get-CimInstance Win32_BIOS")
    assert (result["verdict"], result["reasons"], result["alternatives"]) == ("ok", [], [])


def test_a_command_that_failed_in_the_client_is_a_warning_with_the_pattern(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    # Not a missing program: that warns only on the hosts it is missing from.
    denied = "ERROR:\nDescription = Access denied"
    failure = fail(client, hdr, estate, "wmic bios get serialnumber", host=1, error=denied)
    result = check(client, hdr, estate, "wmic bios get serialnumber")
    assert result["verdict"] == "warn"
    assert result["reasons"][0]["id"] == failure["pattern"]["id"]
    assert result["reasons"][0]["occurrences_on_host"] == 0


def test_a_blocking_failure_repeated_on_the_host_is_blocked(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    for _ in range(2):
        fail(client, hdr, estate, "wmic bios get serialnumber")
    result = check(client, hdr, estate, "WMIC.exe bios get SerialNumber")
    assert result["verdict"] == "block"
    assert {r["kind"] for r in result["reasons"]} == {"pattern", "insight"}


def test_a_confirmed_constraint_blocks_and_offers_the_known_good_alternative(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    created = constraint(
        client,
        hdr,
        estate,
        title=unique("No WinRM"),
        description="WinRM is blocked by GPO",
        confidence_level="confirmed",
        priority=8,
        examples=[
            {"kind": "dont", "command": "Enter-PSSession -ComputerName fs01"},
            {"kind": "do", "command": "psexec \\\\fs01 powershell"},
        ],
    )
    assert created["command_key"] == "enter-pssession -computername"
    result = check(client, hdr, estate, "Enter-PSSession -ComputerName dc02")
    assert result["verdict"] == "block"
    assert result["reasons"][0]["id"] == created["id"]
    assert result["alternatives"] == ["psexec \\\\fs01 powershell"]


def test_the_check_body_is_what_the_documented_schema_says(
    app: Flask, client: FlaskClient, hdr: dict, estate: dict
) -> None:
    command = "wmic qfe list brief"
    fail(client, hdr, estate, command)
    constraint(
        client,
        hdr,
        estate,
        title=unique("No wmic"),
        confidence_level="likely",
        examples=[{"kind": "dont", "command": command}, {"kind": "do", "command": "Get-HotFix"}],
    )
    body = check(client, hdr, estate, command)
    with app.app_context():
        result = check_command(
            session=db_session(),
            data={
                "client_id": estate["client"]["id"],
                "infrastructure_id": estate["hosts"][0]["id"],
                "command": command,
            },
        )
    documented = CheckResultSchema().dump(result)
    assert result.as_document() == documented
    assert {r["kind"] for r in documented["reasons"]} == {"insight", "pattern"}
    assert {**body, "id": documented["id"]} == documented


def test_a_suspected_constraint_only_warns(client: FlaskClient, hdr: dict, estate: dict) -> None:
    constraint(
        client, hdr, estate, title=unique("maybe"), constrains_command="choco upgrade all -y"
    )
    assert check(client, hdr, estate, "choco upgrade all -y")["verdict"] == "warn"


def test_secrets_in_a_checked_command_are_not_stored(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    result = check(client, hdr, estate, "mysql -u root -pT0pS3cret -e 'select 1'")
    reported = client.post(
        f"/v1/checks/{result['id']}/outcome", json={"outcome": "failed"}, headers=hdr
    ).json
    assert "T0pS3cret" not in reported["command"]


def test_a_flagged_command_that_succeeds_counts_against_the_insight(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    created = constraint(
        client,
        hdr,
        estate,
        title=unique("rsync breaks"),
        confidence_level="confirmed",
        constrains_command="rsync -az /a b:/c",
    )
    result = check(client, hdr, estate, "rsync -az /srv x:/y")
    assert result["verdict"] == "block"
    client.post(f"/v1/checks/{result['id']}/outcome", json={"outcome": "succeeded"}, headers=hdr)
    after = client.get(f"/v1/insights/{created['id']}", headers=hdr).json
    assert after["confidence_level"] == "likely" and after["counter_count"] == 1
    again = client.post(
        f"/v1/checks/{result['id']}/outcome", json={"outcome": "failed"}, headers=hdr
    )
    assert again.status_code == 409


def test_check_of_an_unknown_host_is_404_and_a_bad_outcome_422(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    response = client.post(
        "/v1/check",
        headers=hdr,
        json={"client_id": estate["client"]["id"], "infrastructure_id": "0" * 36, "command": "x"},
    )
    assert response.status_code == 404
    result = check(client, hdr, estate, "whoami")
    bad = client.post(f"/v1/checks/{result['id']}/outcome", json={"outcome": "meh"}, headers=hdr)
    assert bad.status_code == 422 and "outcome" in bad.json["errors"]


def test_daily_metrics_count_failures_patterns_insights_briefings_checks_and_repeats(
    client: FlaskClient, hdr: dict, estate: dict
) -> None:
    c = estate["client"]["id"]
    fail(client, hdr, estate, "wmic bios get serialnumber")
    promoted = fail(client, hdr, estate, "wmic bios get serialnumber")
    client.post(f"/v1/insights/{promoted['insight']['id']}/confirm", json={}, headers=hdr)
    client.get(f"/v1/clients/{c}/hosts/{estate['hosts'][0]['id']}/briefing", headers=hdr)
    repeat = fail(client, hdr, estate, "wmic bios get serialnumber")
    assert repeat["is_repeat"] is True
    flagged = check(client, hdr, estate, "wmic bios get serialnumber")
    client.post(f"/v1/checks/{flagged['id']}/outcome", json={"outcome": "succeeded"}, headers=hdr)
    check(client, hdr, estate, "whoami")
    rolled = client.post("/v1/metrics/rollup", json={}, headers=hdr)
    assert rolled.status_code == 200
    report = client.get("/v1/metrics", query_string={"client_id": c}, headers=hdr).json
    assert report["totals"] == {
        "failures_observed": 3,
        "patterns_new": 1,
        "insights_created": 1,
        "insights_confirmed": 1,
        "repeat_failures": 1,
        "checks_served": 2,
        "checks_flagged": 1,
        "checks_wrong": 1,
        "failures_prevented": 0,
        "briefings_served": 1,
    }
    assert report["rates"]["repeat_failure_rate"] == round(1 / 3, 4)
    assert report["rates"]["check_precision"] == 0.0
    everyone = client.get("/v1/metrics", headers=hdr).json
    assert everyone["client_id"] is None
    assert everyone["totals"]["failures_observed"] >= 3
    again = client.post("/v1/metrics/rollup", json={}, headers=hdr)
    assert again.status_code == 200
    same = client.get("/v1/metrics", query_string={"client_id": c}, headers=hdr).json
    assert same["totals"] == report["totals"]


def test_a_global_insight_counts_in_the_all_clients_metrics(client: FlaskClient, hdr: dict) -> None:
    def created_today() -> int:
        client.post("/v1/metrics/rollup", json={}, headers=hdr)
        return int(client.get("/v1/metrics", headers=hdr).json["totals"]["insights_created"])

    before = created_today()
    made = client.post(
        "/v1/insights",
        headers=hdr,
        json={"insight_category": "other", "title": unique("global"), "description": "x"},
    )
    assert made.status_code == 201 and made.json["client_id"] is None
    assert created_today() == before + 1


def test_metrics_of_an_unknown_client_are_404(client: FlaskClient, hdr: dict) -> None:
    assert (
        client.get("/v1/metrics", query_string={"client_id": "0" * 36}, headers=hdr).status_code
        == 404
    )
