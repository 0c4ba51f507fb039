"""Promotion on MariaDB: a client-level insight starts with the support of the hosts behind it,
in the category its failure names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.insights.factories import WRITE, make_client, make_host

Auth = Callable[..., dict[str, str]]
TLS_ERROR = "curl: (60) SSL certificate problem: unable to get local issuer certificate"


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


def fail_on_hosts(client: FlaskClient, hdr: dict, count: int, command: str, error: str) -> Any:
    owner = make_client(client, hdr)
    answers = []
    for _ in range(count):
        host = make_host(client, hdr, owner["id"])
        body = {
            "client_id": owner["id"],
            "infrastructure_id": host["id"],
            "command": command,
            "error_output": error,
            "exit_code": 60,
        }
        response = client.post("/v1/failures", headers=hdr, json=body)
        assert response.status_code in (200, 201), response.json
        answers.append(response.json)
    return answers[-1]


def promoted(client: FlaskClient, hdr: dict, answer: Any) -> dict[str, Any]:
    assert answer["insight"]["action"] == "created"
    return dict(client.get(f"/v1/insights/{answer['insight']['id']}", headers=hdr).json)


def test_a_client_insight_from_three_hosts_starts_likely_with_their_support(
    client: FlaskClient, hdr: dict
) -> None:
    answer = fail_on_hosts(
        client, hdr, 3, "curl -fsS https://repo.example/x.tgz -o x.tgz", TLS_ERROR
    )
    made = promoted(client, hdr, answer)
    assert made["infrastructure_id"] is None
    assert (made["support_count"], made["confidence_level"]) == (3, "likely")
    assert made["insight_category"] == "security"
    history = client.get(f"/v1/insights/{made['id']}/history", headers=hdr).json
    created = next(e for e in history["events"] if e["event_type"] == "created")
    assert created["after"]["support_count"] == 3
    assert created["after"]["confidence_level"] == "likely"


def test_an_error_that_names_no_reason_is_left_other(client: FlaskClient, hdr: dict) -> None:
    answer = fail_on_hosts(client, hdr, 3, "/opt/tools/sync-now --all", "exit status 1")
    assert promoted(client, hdr, answer)["insight_category"] == "other"
