"""Keyset pagination walks every row exactly once, whatever the sort column's type."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from shared.models import utcnow
from shared.pagination import encode_cursor

Headers = Callable[..., dict[str, str]]


def test_clients_sorted_by_creation_time_page_through_every_row_once(
    client: FlaskClient, bearer: Headers
) -> None:
    headers = bearer("insights:write", "insights:read")
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
    client: FlaskClient, bearer: Headers, stamp: object
) -> None:
    cursor = encode_cursor([stamp, "some-id"])
    answer = client.get(
        f"/v1/clients?sort=-created_at&cursor={cursor}", headers=bearer("insights:read")
    )
    assert answer.status_code == 422
    assert "cursor" in answer.json["errors"]
