"""Nothing is half written on an error, and every insights endpoint checks its scope."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.integration.insights.factories import WRITE, make_client, unique

Auth = Callable[..., dict[str, str]]


def test_a_refused_supersession_leaves_the_old_insight_current(
    client: FlaskClient, auth: Auth
) -> None:
    hdr = auth(*WRITE)
    owner = make_client(client, hdr)
    body = {
        "client_id": owner["id"],
        "insight_category": "permissions",
        "title": unique("taken"),
        "description": "same text",
    }
    taken = client.post("/v1/insights", json=body, headers=hdr).json
    old = client.post("/v1/insights", headers=hdr, json={**body, "title": unique("old")}).json
    refused = client.post(
        f"/v1/insights/{old['id']}/supersede",
        headers=hdr,
        json={"reason": "x", "replacement": {"title": taken["title"], "description": "same text"}},
    )
    assert refused.status_code == 409 and refused.json["existing_id"] == taken["id"]
    kept = client.get(f"/v1/insights/{old['id']}", headers=hdr).json
    assert kept["valid_to"] is None and kept["superseded_by_id"] is None
    events = client.get(f"/v1/insights/{old['id']}/history", headers=hdr).json["events"]
    assert [e["event_type"] for e in events] == ["created"]


@pytest.mark.parametrize(
    ("method", "path", "scope_needed"),
    [
        ("post", "/v1/failures", "insights:write"),
        ("post", "/v1/insights", "insights:write"),
        ("post", "/v1/insights/x/confirm", "insights:write"),
        ("post", "/v1/insights/x/merge", "insights:write"),
        ("post", "/v1/metrics/rollup", "insights:write"),
        ("post", "/v1/checks/x/outcome", "insights:check"),
        ("get", "/v1/insights", "insights:read"),
        ("get", "/v1/insights/x/history", "insights:read"),
        ("get", "/v1/failure-patterns", "insights:read"),
        ("get", "/v1/metrics", "insights:read"),
        ("get", "/v1/clients/x/hosts/y/briefing", "insights:read"),
        ("post", "/v1/check", "insights:check"),
    ],
)
def test_each_endpoint_refuses_a_token_without_its_scope(
    client: FlaskClient, auth: Auth, method: str, path: str, scope_needed: str
) -> None:
    other = "insights:read" if scope_needed != "insights:read" else "backups:read"
    response = getattr(client, method)(path, json={}, headers=auth(other))
    assert response.status_code == 403
    assert getattr(client, method)(path, json={}).status_code == 401
