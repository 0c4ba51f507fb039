"""A new fingerprint algorithm never regroups history: old patterns keep their occurrences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from services.insights.failures import fingerprint
from tests.integration.insights.factories import WRITE, make_client, make_host

Auth = Callable[..., dict[str, str]]


def version_2(command: str, error_output: str | None, exit_code: int | None):  # type: ignore[no-untyped-def]
    """A stricter algorithm: keeps the raw exit code and the full command in the key."""
    return replace(
        fingerprint.fingerprint_v1(command, error_output, exit_code),
        version=2,
        command_key=command.lower(),
    )


def test_a_failure_known_under_version_1_still_joins_its_pattern_after_version_2_ships(
    client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    hdr = auth(*WRITE)
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    body = {
        "client_id": owner["id"],
        "infrastructure_id": host["id"],
        "exit_code": 1,
        "command": "apt-get install -y nginx",
        "error_output": "E: Unable to locate package",
    }
    # History made while version 1 was the newest algorithm.
    monkeypatch.setattr(fingerprint, "FINGERPRINTERS", {1: fingerprint.fingerprint_v1})
    before = client.post("/v1/failures", json=body, headers=hdr).json
    assert before["pattern"]["fingerprint_version"] == 1

    monkeypatch.setattr(
        fingerprint, "FINGERPRINTERS", {1: fingerprint.fingerprint_v1, 2: version_2}
    )
    again = client.post(
        "/v1/failures", json={**body, "command": "apt-get install -y nginx"}, headers=hdr
    ).json
    assert again["pattern"]["id"] == before["pattern"]["id"]
    assert again["pattern"]["fingerprint_version"] == 1
    assert again["pattern"]["occurrence_count"] == 2

    new = client.post(
        "/v1/failures", json={**body, "command": "apt-get purge -y nginx"}, headers=hdr
    ).json
    assert new["pattern_is_new"] and new["pattern"]["fingerprint_version"] == 2
