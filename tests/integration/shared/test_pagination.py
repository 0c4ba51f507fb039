"""Keyset pagination walks every row exactly once, whatever the sort column's type."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from shared.models import utcnow
from shared.pagination import encode_cursor
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


@pytest.mark.parametrize("stamp", ["2024-01-01T00:00:00", 1700000000, None])
def test_a_cursor_with_a_timestamp_we_never_give_out_is_422(
    client: FlaskClient, engine: Engine, stamp: object
) -> None:
    _, reader = _issue(engine, "insights:read")
    cursor = encode_cursor([stamp, "some-id"])
    answer = client.get(
        f"/v1/clients?sort=-created_at&cursor={cursor}",
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert answer.status_code == 422
    assert "cursor" in answer.json["errors"]
