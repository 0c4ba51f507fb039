"""Each running service answers like a user expects: 200 with a token, 401, 403, 422."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.stack import Stack
from tests.polling import eventually

Headers = Callable[..., dict[str, str]]


@dataclass(frozen=True)
class Surface:
    """One service's list endpoint and a write endpoint with a body it must refuse."""

    service: str
    path: str
    read_scope: str
    write_scope: str
    bad_body: dict[str, Any]
    other_scope: str  # a real scope that does not open this service


SURFACES = [
    Surface(
        "insights", "/v1/clients", "insights:read", "insights:write", {"name": 7}, "backups:read"
    ),
    Surface(
        "integrations",
        "/v1/integration-events",
        "integrations:read",
        "integrations:write",
        {"integration_type": "fax", "direction": "sideways"},
        "insights:read",
    ),
    Surface(
        "backups",
        "/v1/backups",
        "backups:read",
        "backups:run",
        {"backup_type": "hourly", "compression": "rar"},
        "insights:read",
    ),
]


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.service)
def test_a_running_service_checks_tokens_scopes_and_bodies(
    stack: Stack, bearer: Headers, surface: Surface
) -> None:
    url = stack.url(surface.service) + surface.path
    assert requests.get(url, headers=bearer(surface.read_scope), timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers=bearer(surface.other_scope), timeout=10).status_code == 403
    rejected = requests.post(
        url, json=surface.bad_body, headers=bearer(surface.write_scope), timeout=10
    )
    assert rejected.status_code == 422
    assert rejected.headers["Content-Type"] == "application/problem+json"
    assert set(surface.bad_body) <= set(rejected.json()["errors"])


def test_a_webhook_token_in_the_query_string_never_reaches_the_access_log(stack: Stack) -> None:
    secret = "whsec-" + "q" * 24
    requests.post(
        stack.url("integrations") + f"/v1/webhooks/syncro?token={secret}&page=2",
        json={"id": 1},
        timeout=10,
    )
    # gunicorn writes the access line after the answer has gone out
    log = eventually(
        lambda: (text := stack.services["integrations"].log()) and "page=2" in text and text,
        within=10,
    )
    assert secret not in log
