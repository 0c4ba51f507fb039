"""Keyset pagination walks every row exactly once, whatever the sort column's type."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine

from shared.models import utcnow
from tests.integration.shared.test_tokens import _issue


def test_clients_sorted_by_creation_time_page_through_every_row_once(
    client: FlaskClient, engine: Engine
) -> None:
    _, writer = _issue(engine, "insights:write", "insights:read")
    headers = {"Authorization": f"Bearer {writer}"}
    made = {
        client.post(
            "/v1/clients", json={"name": f"paged-{i}-{utcnow().timestamp()}"}, headers=headers
        ).json["id"]
        for i in range(5)
    }
    seen: list[str] = []
    cursor = None
    while True:
        query = "sort=-created_at&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/clients?{query}", headers=headers).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
