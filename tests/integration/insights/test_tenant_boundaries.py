"""No object of one client is tied to another client's: every reference kind, both ways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.insights.factories import make_client, make_host, make_session, post, unique

Headers = Callable[..., dict[str, str]]
Owner = str | None  # a client id, or None for a global insight / an unassigned session
ADMIN = ("admin",)
_PAIRS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def tenants(app: Flask, bearer: Headers) -> list[str]:
    """Three clients the hypotheses pick pairs from."""
    client, headers = app.test_client(), bearer(*ADMIN)
    return [make_client(client, headers)["id"] for _ in range(3)]


@pytest.fixture
def admin(bearer: Headers) -> dict[str, str]:
    return bearer(*ADMIN)


def pairs(tenants: list[str], *, global_side: bool = False) -> st.SearchStrategy[Any]:
    """(referring owner, referenced owner): same or different clients, global when allowed."""
    owners: list[Owner] = [*tenants, None] if global_side else list(tenants)
    return st.tuples(st.sampled_from(owners), st.sampled_from(tenants))


def insight(client: FlaskClient, headers: dict[str, str], owner: Owner, **extra: Any) -> Any:
    body = {
        "client_id": owner,
        "insight_category": "command_constraints",
        "title": unique("lesson"),
        "description": unique("why"),
        **extra,
    }
    return post(client, headers, "/v1/insights", body)


def fail(client: FlaskClient, headers: dict[str, str], owner: str, host: str, **extra: Any) -> Any:
    body = {"client_id": owner, "infrastructure_id": host, "command": unique("cmd"), **extra}
    return client.post("/v1/failures", json=body | {"exit_code": 1}, headers=headers)


def assert_boundary(answer: Any, same: bool, field: str, *ids: str) -> None:
    """Accepted within one client; across clients a 422 problem naming the field and both ids."""
    if same:
        assert answer.status_code in (200, 201), answer.json
        return
    assert answer.status_code == 422, answer.json
    assert answer.mimetype == "application/problem+json"
    problem = answer.json
    assert problem["type"].endswith("/cross-client-reference")
    assert field in problem["errors"]
    for identifier in ids:
        assert identifier in problem["detail"]


@_PAIRS
@given(data=st.data())
def test_a_failure_names_only_a_host_of_its_own_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    host = make_host(client, admin, theirs)["id"]
    answer = fail(client, admin, mine, host)
    assert_boundary(answer, mine == theirs, "infrastructure_id", host)


@_PAIRS
@given(data=st.data())
def test_a_failure_names_only_a_session_of_its_own_client_or_an_unassigned_one(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    unassigned = data.draw(st.booleans())
    work = make_session(client, admin, None if unassigned else theirs)["id"]
    host = make_host(client, admin, mine)["id"]
    answer = fail(client, admin, mine, host, session_id=work)
    assert_boundary(answer, unassigned or mine == theirs, "session_id", work)


@_PAIRS
@given(data=st.data())
def test_a_check_names_only_a_host_of_its_own_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    host = make_host(client, admin, theirs)["id"]
    body = {"client_id": mine, "infrastructure_id": host, "command": "whoami"}
    answer = client.post("/v1/check", json=body, headers=admin)
    assert_boundary(answer, mine == theirs, "infrastructure_id", host)


@_PAIRS
@given(data=st.data())
def test_an_insight_names_only_a_host_of_its_own_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    host = make_host(client, admin, theirs)["id"]
    body = {"client_id": mine, "infrastructure_id": host, "insight_category": "command_constraints"}
    body |= {"title": unique("t"), "description": unique("d")}
    answer = client.post("/v1/insights", json=body, headers=admin)
    assert_boundary(answer, mine == theirs, "infrastructure_id", host)


@_PAIRS
@given(data=st.data())
def test_an_insight_learns_only_from_a_pattern_of_its_own_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants, global_side=True))
    failed = fail(client, admin, theirs, make_host(client, admin, theirs)["id"])
    pattern = failed.json["pattern"]["id"]
    body = {"client_id": mine, "source_pattern_id": pattern, "title": unique("t")}
    body |= {"insight_category": "command_constraints", "description": unique("d")}
    answer = client.post("/v1/insights", json=body, headers=admin)
    assert_boundary(answer, mine == theirs, "source_pattern_id", pattern)


@_PAIRS
@given(data=st.data(), at_creation=st.booleans())
def test_an_example_names_only_a_host_of_its_insights_client(
    client: FlaskClient,
    admin: dict[str, str],
    tenants: list[str],
    data: st.DataObject,
    at_creation: bool,
) -> None:
    mine, theirs = data.draw(pairs(tenants, global_side=True))
    host = make_host(client, admin, theirs)["id"]
    example = {"kind": "dont", "command": unique("rm"), "infrastructure_id": host}
    if at_creation:
        body = {"client_id": mine, "insight_category": "command_constraints", "examples": [example]}
        body |= {"title": unique("t"), "description": unique("d")}
        answer = client.post("/v1/insights", json=body, headers=admin)
        field = "examples.0.infrastructure_id"
    else:
        lesson = insight(client, admin, mine)["id"]
        answer = client.post(f"/v1/insights/{lesson}/examples", json=example, headers=admin)
        field = "infrastructure_id"
    assert_boundary(answer, mine == theirs, field, host)


@_PAIRS
@given(data=st.data())
def test_a_supersede_replacement_keeps_its_examples_within_the_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants, global_side=True))
    old = insight(client, admin, mine)["id"]
    host = make_host(client, admin, theirs)["id"]
    example = {"kind": "do", "command": unique("ls"), "infrastructure_id": host}
    replacement = {"title": unique("t"), "description": unique("d"), "examples": [example]}
    answer = client.post(
        f"/v1/insights/{old}/supersede",
        json={"reason": "newer firmware", "replacement": replacement},
        headers=admin,
    )
    assert_boundary(answer, mine == theirs, "examples.0.infrastructure_id", host)
    if mine != theirs:  # the refused supersession left the old insight current
        assert client.get(f"/v1/insights/{old}", headers=admin).json["valid_to"] is None


@_PAIRS
@given(data=st.data())
def test_an_insight_merges_only_into_one_of_the_same_client_or_globals_into_globals(
    client: FlaskClient,
    admin: dict[str, str],
    bearer: Headers,
    tenants: list[str],
    data: st.DataObject,
) -> None:
    owners: list[Owner] = [*tenants, None]
    mine, theirs = data.draw(st.sampled_from(owners)), data.draw(st.sampled_from(owners))
    loser = insight(client, admin, mine)["id"]
    winner = insight(client, admin, theirs)["id"]
    writer = bearer("insights:write", "insights:read")  # an admin may also absorb into globals
    answer = client.post(
        f"/v1/insights/{loser}/merge", json={"into_id": winner, "reason": "dup"}, headers=writer
    )
    assert_boundary(answer, mine == theirs, "into_id", loser, winner)
    status = client.get(f"/v1/insights/{loser}", headers=admin).json["status"]
    assert status == ("merged" if mine == theirs else "active")


def test_a_merged_example_never_reaches_another_clients_briefing(
    client: FlaskClient, admin: dict[str, str], tenants: list[str]
) -> None:
    mine, theirs = tenants[:2]
    secret_command = unique("Restart-Service -Name acme-erp")
    loser = insight(client, admin, mine, examples=[{"kind": "dont", "command": secret_command}])
    winner = insight(client, admin, theirs)
    client.post(
        f"/v1/insights/{loser['id']}/merge",
        json={"into_id": winner["id"], "reason": "looks the same"},
        headers=admin,
    )
    host = make_host(client, admin, theirs)["id"]
    briefing = client.get(f"/v1/clients/{theirs}/hosts/{host}/briefing", headers=admin)
    assert briefing.status_code == 200
    assert secret_command not in briefing.get_data(as_text=True)


@_PAIRS
@given(data=st.data())
def test_a_host_has_a_parent_only_among_its_own_clients_hosts(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    parent = make_host(client, admin, theirs)["id"]
    body = {"client_id": mine, "hostname": unique("vm"), "parent_host_id": parent}
    answer = client.post("/v1/hosts", json=body, headers=admin)
    assert_boundary(answer, mine == theirs, "parent_host_id", parent)


@_PAIRS
@given(data=st.data())
def test_a_session_with_failures_is_not_handed_to_another_client(
    client: FlaskClient, admin: dict[str, str], tenants: list[str], data: st.DataObject
) -> None:
    mine, theirs = data.draw(pairs(tenants))
    work = make_session(client, admin, None)["id"]
    host = make_host(client, admin, mine)["id"]
    assert fail(client, admin, mine, host, session_id=work).status_code in (200, 201)
    answer = client.patch(f"/v1/sessions/{work}", json={"client_id": theirs}, headers=admin)
    assert_boundary(answer, mine == theirs, "client_id", work, host)
