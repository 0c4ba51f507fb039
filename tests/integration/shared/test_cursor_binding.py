"""A keyset cursor works only on the list, filters and sort it was issued for."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.insights.app import create_app
from tests.integration.insights.factories import make_client, make_host, make_session

Headers = Callable[..., dict[str, str]]
WRITE = ("insights:write", "insights:read")
_QUICK = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def estate(app: Flask, bearer: Headers) -> dict[str, Any]:
    """Two clients with three hosts and three sessions each."""
    client, headers = app.test_client(), bearer(*WRITE)
    owners = [make_client(client, headers) for _ in range(2)]
    for owner in owners:
        for number in range(3):
            make_host(client, headers, owner["id"], os="Linux" if number else "Windows")
            make_session(client, headers, owner["id"], started_at=f"2025-0{number + 1}-01T00:00Z")
    return {"owners": [owner["id"] for owner in owners]}


def _page(client: FlaskClient, headers: dict[str, str], path: str, **query: Any) -> Any:
    return client.get(path, query_string=query, headers=headers)


def _first_cursor(client: FlaskClient, headers: dict[str, str], path: str, **query: Any) -> str:
    cursor = _page(client, headers, path, limit=1, **query).json["next_cursor"]
    assert cursor
    return str(cursor)


def _refused(answer: Any) -> bool:
    return (
        answer.status_code == 422
        and answer.mimetype == "application/problem+json"
        and {"cursor", "query.cursor"} & set(answer.json["errors"])
    )


def test_a_cursor_walks_its_own_list_to_the_end_whatever_the_page_size(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any]
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    cursor = _first_cursor(client, headers, "/v1/hosts", client_id=owner)
    rest = _page(client, headers, "/v1/hosts", client_id=owner, limit=5, cursor=cursor)
    assert rest.status_code == 200 and len(rest.json["items"]) == 2


def test_a_cursor_of_one_client_is_refused_on_another_clients_list(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any]
) -> None:
    headers, (first, second) = bearer("insights:read"), estate["owners"]
    cursor = _first_cursor(client, headers, "/v1/hosts", client_id=first)
    assert _refused(_page(client, headers, "/v1/hosts", client_id=second, cursor=cursor))


@pytest.mark.parametrize(
    "changed",
    [{"sort": "-hostname"}, {"os": "Linux"}, {"client_id": None}, {"hostname": "host"}],
)
def test_a_cursor_replayed_with_other_filters_or_sort_is_422(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any], changed: dict[str, Any]
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    cursor = _first_cursor(client, headers, "/v1/hosts", client_id=owner)
    query = {key: value for key, value in ({"client_id": owner} | changed).items() if value}
    assert _refused(_page(client, headers, "/v1/hosts", cursor=cursor, **query))


@pytest.mark.parametrize("other", ["/v1/clients", "/v1/tags", "/v1/work-items", "/v1/insights"])
def test_a_cursor_of_one_list_is_refused_by_another_list(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any], other: str
) -> None:
    headers = bearer("insights:read")
    cursor = _first_cursor(client, headers, "/v1/sessions", client_id=estate["owners"][0])
    assert _refused(_page(client, headers, other, cursor=cursor))


def test_the_same_instant_written_with_another_offset_keeps_the_cursor(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any]
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    after = {"client_id": owner, "started_after": "2024-12-31T22:00:00Z"}
    cursor = _first_cursor(client, headers, "/v1/sessions", **after)
    same = after | {"started_after": "2025-01-01T00:00:00+02:00"}
    assert _page(client, headers, "/v1/sessions", cursor=cursor, **same).status_code == 200
    later = after | {"started_after": "2024-12-31T22:00:01Z"}
    assert _refused(_page(client, headers, "/v1/sessions", cursor=cursor, **later))


@_QUICK
@given(data=st.data())
def test_any_change_to_a_cursor_is_422(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any], data: st.DataObject
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    cursor = _first_cursor(client, headers, "/v1/hosts", client_id=owner)
    at = data.draw(st.integers(0, len(cursor) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    character = data.draw(st.sampled_from(alphabet).filter(lambda c: c != cursor[at]))
    tampered = cursor[:at] + character + cursor[at + 1 :]
    assert _refused(_page(client, headers, "/v1/hosts", client_id=owner, cursor=tampered))


@_QUICK
@given(position=st.lists(st.one_of(st.text(max_size=40), st.integers(), st.none()), max_size=3))
def test_a_forged_position_without_the_key_is_422(
    client: FlaskClient, bearer: Headers, position: list[Any]
) -> None:
    payload = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    for forged in (payload, f"{payload}.", f"{payload}.AAAAAAAAAAAAAAAAAAAAAA"):
        answer = _page(client, bearer("insights:read"), "/v1/clients", cursor=forged)
        assert _refused(answer)


def test_replicas_with_the_same_database_and_no_secret_accept_each_others_cursors(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any], database_url: str
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    cursor = _first_cursor(client, headers, "/v1/hosts", client_id=owner)
    replica = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    answer = _page(replica.test_client(), headers, "/v1/hosts", client_id=owner, cursor=cursor)
    assert answer.status_code == 200 and answer.json["items"]


def test_a_replica_with_another_cursor_secret_refuses_the_cursor(
    bearer: Headers, estate: dict[str, Any], database_url: str
) -> None:
    headers, owner = bearer("insights:read"), estate["owners"][0]
    replicas = [
        create_app(
            {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "CURSOR_SECRET": secret * 32}
        ).test_client()
        for secret in "ab"
    ]
    cursor = _first_cursor(replicas[0], headers, "/v1/hosts", client_id=owner)
    assert (
        _page(replicas[0], headers, "/v1/hosts", client_id=owner, cursor=cursor).status_code == 200
    )
    assert _refused(_page(replicas[1], headers, "/v1/hosts", client_id=owner, cursor=cursor))


def test_a_cursor_of_one_patterns_occurrences_is_refused_on_another_pattern(
    client: FlaskClient, bearer: Headers, estate: dict[str, Any]
) -> None:
    headers, owner = bearer(*WRITE), estate["owners"][0]
    host = make_host(client, headers, owner)
    patterns = []
    for command in ("Get-Foo -Bar", "apt-get install nothing-here"):
        for _ in range(2):
            body = {"client_id": owner, "infrastructure_id": host["id"], "command": command}
            answer = client.post("/v1/failures", json=body | {"exit_code": 1}, headers=headers)
            assert answer.status_code in (200, 201), answer.json
        patterns.append(answer.json["pattern"]["id"])
    first, second = (f"/v1/failure-patterns/{pattern}/occurrences" for pattern in patterns)
    cursor = _first_cursor(client, headers, first)
    assert _page(client, headers, first, cursor=cursor).status_code == 200
    assert _refused(_page(client, headers, second, cursor=cursor))


def test_a_cursor_after_the_longest_name_fits_and_an_oversized_one_is_422(
    client: FlaskClient, bearer: Headers
) -> None:
    headers, stem = bearer(*WRITE), "\U0001f5a5" * 190  # 4 bytes a character in UTF-8
    for suffix in "ab":
        assert client.post("/v1/clients", json={"name": stem + suffix}, headers=headers).is_json
    query = {"name": stem, "sort": "-name"}
    cursor = _first_cursor(client, headers, "/v1/clients", **query)
    assert _page(client, headers, "/v1/clients", cursor=cursor, **query).status_code == 200
    assert _refused(_page(client, headers, "/v1/clients", cursor="A" * 5000, **query))
