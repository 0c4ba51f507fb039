"""Learning metrics on MariaDB: a check counts as having prevented a failure only when no
failure of its own command followed on its own host, whatever other hosts and clients did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.insights.factories import WRITE, make_client, make_host

Auth = Callable[..., dict[str, str]]
# A missing program keys its pattern on the program alone; any other error on the whole shape.
NOT_RECOGNIZED = "'{}' is not recognized as an internal or external command,\noperable program"
DENIED = "{}: Access is denied."
WMIC = "wmic bios get serialnumber"
ROBOCOPY = "robocopy \\\\nas01\\share d:\\copy /mir"


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


def fail(client: FlaskClient, hdr: dict, host: dict, command: str, error: str) -> None:
    program = command.split()[0]
    response = client.post(
        "/v1/failures",
        headers=hdr,
        json={
            "client_id": host["client_id"],
            "infrastructure_id": host["id"],
            "command": command,
            "error_output": error.format(program),
            "exit_code": 9009 if error == NOT_RECOGNIZED else 5,
        },
    )
    assert response.status_code in (200, 201), response.json


def check(client: FlaskClient, hdr: dict, host: dict, command: str) -> str:
    body = {"client_id": host["client_id"], "infrastructure_id": host["id"], "command": command}
    response = client.post("/v1/check", headers=hdr, json=body)
    assert response.status_code == 200, response.json
    return str(response.json["verdict"])


def client_totals(client: FlaskClient, hdr: dict, client_id: str) -> dict[str, Any]:
    assert client.post("/v1/metrics/rollup", json={}, headers=hdr).status_code == 200
    report = client.get("/v1/metrics", query_string={"client_id": client_id}, headers=hdr)
    return dict(report.json["totals"])


@pytest.mark.parametrize("error", [NOT_RECOGNIZED, DENIED], ids=["missing-program", "denied"])
def test_failures_prevented_counts_each_check_against_its_own_host_and_command(
    client: FlaskClient, hdr: dict, error: str
) -> None:
    first, second = make_client(client, hdr), make_client(client, hdr)
    a0, a1 = (make_host(client, hdr, first["id"]) for _ in range(2))
    b0 = make_host(client, hdr, second["id"])
    # Known on both hosts (a missing program warns only where it is missing).
    fail(client, hdr, a0, WMIC, error)
    fail(client, hdr, a1, WMIC, error)
    assert check(client, hdr, a0, WMIC) != "ok"  # heeded: no wmic failure on a0 after it
    assert check(client, hdr, a1, WMIC) != "ok"  # ignored: wmic then fails on a1 again
    fail(client, hdr, a1, WMIC, error)
    # Another command failing on a0 is not wmic failing there, even when another client
    # checked that command.
    fail(client, hdr, a0, ROBOCOPY, error)
    check(client, hdr, b0, ROBOCOPY)
    totals = client_totals(client, hdr, first["id"])
    assert (totals["checks_flagged"], totals["failures_prevented"]) == (2, 1)
    assert client_totals(client, hdr, second["id"])["failures_prevented"] == 0
