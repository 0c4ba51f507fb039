"""Inventory and work log over HTTP: CRUD, filters, sorting, keyset pages, tags, cascades."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.integration.insights.factories import (
    WRITE,
    make_client,
    make_host,
    make_session,
    post,
    unique,
)

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


def test_a_host_is_created_read_updated_and_deleted(client: FlaskClient, hdr: dict) -> None:
    owner = make_client(client, hdr)
    host = make_host(
        client,
        hdr,
        owner["id"],
        os="Windows Server",
        os_version="2012 R2",
        shell_type="powershell",
        powershell_version="4.0",
        asset_type="virtual_machine",
    )
    assert client.get(f"/v1/hosts/{host['id']}", headers=hdr).json["os_version"] == "2012 R2"
    patched = client.patch(f"/v1/hosts/{host['id']}", json={"role_description": "DC"}, headers=hdr)
    assert patched.json["role_description"] == "DC"
    assert client.delete(f"/v1/hosts/{host['id']}", headers=hdr).status_code == 204
    assert client.get(f"/v1/hosts/{host['id']}", headers=hdr).status_code == 404


def test_a_host_of_an_unknown_client_is_404(client: FlaskClient, hdr: dict) -> None:
    response = client.post("/v1/hosts", json={"client_id": "0" * 36, "hostname": "x"}, headers=hdr)
    assert response.status_code == 404


def test_a_duplicate_hostname_in_one_client_is_409(client: FlaskClient, hdr: dict) -> None:
    owner = make_client(client, hdr)
    make_host(client, hdr, owner["id"], hostname="dc01")
    again = client.post(
        "/v1/hosts", json={"client_id": owner["id"], "hostname": "dc01"}, headers=hdr
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"asset_type": "toaster"}, "asset_type"),
        ({"status": "gone"}, "status"),
        ({"hostname": ""}, "hostname"),
        ({"parent_host_id": "x" * 36}, "parent_host_id"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_host_fields_are_422_naming_the_field(
    client: FlaskClient, hdr: dict, body: dict, field: str
) -> None:
    owner = make_client(client, hdr)
    response = client.post(
        "/v1/hosts", json={"client_id": owner["id"], "hostname": unique("h"), **body}, headers=hdr
    )
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_hosts_filter_sort_and_page_without_gaps_or_repeats(client: FlaskClient, hdr: dict) -> None:
    owner = make_client(client, hdr)
    names = [f"srv{i:02d}" for i in range(7)]
    for name in names:
        make_host(client, hdr, owner["id"], hostname=name, os="Linux" if name < "srv04" else "BSD")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"client_id": owner["id"], "limit": 3, "sort": "-hostname"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/hosts", query_string=params, headers=hdr).json
        seen += [h["hostname"] for h in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(names, reverse=True)
    linux = client.get(
        "/v1/hosts", query_string={"client_id": owner["id"], "os": "Linux"}, headers=hdr
    ).json["items"]
    assert {h["hostname"] for h in linux} == {"srv00", "srv01", "srv02", "srv03"}


def test_a_foreign_cursor_is_422(client: FlaskClient, hdr: dict) -> None:
    response = client.get("/v1/hosts", query_string={"cursor": "garbage"}, headers=hdr)
    assert response.status_code == 422
    assert "cursor" in response.json["errors"]


def test_hosts_and_work_items_are_tagged_untagged_and_filtered_by_tag(
    client: FlaskClient, hdr: dict
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    tag = post(client, hdr, "/v1/tags", {"name": unique("hyperv"), "category": "technology"})
    tagged = client.put(f"/v1/hosts/{host['id']}/tags/{tag['id']}", headers=hdr).json
    assert [t["name"] for t in tagged["tags"]] == [tag["name"]]
    found = client.get("/v1/hosts", query_string={"tag": tag["name"]}, headers=hdr).json
    assert [h["id"] for h in found["items"]] == [host["id"]]
    work = make_session(client, hdr, owner["id"])
    item = post(
        client,
        hdr,
        "/v1/work-items",
        {"session_id": work["id"], "title": "patch", "category": "maintenance"},
    )
    client.put(f"/v1/work-items/{item['id']}/tags/{tag['id']}", headers=hdr)
    items = client.get("/v1/work-items", query_string={"tag": tag["name"]}, headers=hdr).json
    assert [i["id"] for i in items["items"]] == [item["id"]]
    client.delete(f"/v1/hosts/{host['id']}/tags/{tag['id']}", headers=hdr)
    assert client.get(f"/v1/hosts/{host['id']}", headers=hdr).json["tags"] == []


def test_deleting_a_client_cascades_to_its_hosts_and_nulls_its_sessions(
    client: FlaskClient, hdr: dict
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    work = make_session(client, hdr, owner["id"])
    assert client.delete(f"/v1/clients/{owner['id']}", headers=hdr).status_code == 204
    assert client.get(f"/v1/hosts/{host['id']}", headers=hdr).status_code == 404
    assert client.get(f"/v1/sessions/{work['id']}", headers=hdr).json["client_id"] is None


def test_deleting_a_session_deletes_its_work_items(client: FlaskClient, hdr: dict) -> None:
    work = make_session(client, hdr, None)
    item = post(
        client,
        hdr,
        "/v1/work-items",
        {"session_id": work["id"], "title": "x", "category": "documentation"},
    )
    client.delete(f"/v1/sessions/{work['id']}", headers=hdr)
    assert client.get(f"/v1/work-items/{item['id']}", headers=hdr).status_code == 404


def test_a_session_that_ends_before_it_starts_is_422(client: FlaskClient, hdr: dict) -> None:
    response = client.post(
        "/v1/sessions",
        json={
            "title": "x",
            "started_at": "2026-01-02T10:00:00Z",
            "ended_at": "2026-01-02T09:00:00Z",
        },
        headers=hdr,
    )
    assert response.status_code == 422
    assert "ended_at" in response.json["errors"]


def test_work_items_filter_by_status_and_reject_bad_priority(
    client: FlaskClient, hdr: dict
) -> None:
    work = make_session(client, hdr, None)
    for status in ("completed", "blocked", "completed"):
        post(
            client,
            hdr,
            "/v1/work-items",
            {
                "session_id": work["id"],
                "title": status,
                "category": "maintenance",
                "status": status,
            },
        )
    done = client.get(
        "/v1/work-items",
        query_string={"session_id": work["id"], "status": "completed"},
        headers=hdr,
    ).json
    assert len(done["items"]) == 2
    bad = client.post(
        "/v1/work-items",
        json={
            "session_id": work["id"],
            "title": "x",
            "category": "maintenance",
            "priority": "urgent",
        },
        headers=hdr,
    )
    assert bad.status_code == 422 and "priority" in bad.json["errors"]


def test_reading_needs_insights_read_and_writing_needs_insights_write(
    client: FlaskClient, auth: Auth
) -> None:
    assert client.get("/v1/hosts", headers=auth("insights:write")).status_code == 403
    assert (
        client.post(
            "/v1/tags",
            json={"name": unique("t"), "category": "action"},
            headers=auth("insights:read"),
        ).status_code
        == 403
    )
    assert client.get("/v1/tags").status_code == 401


def test_pages_sorted_by_a_timestamp_follow_their_cursor(client: FlaskClient, hdr: dict) -> None:
    owner = make_client(client, hdr)
    made = [
        make_session(client, hdr, owner["id"], started_at=f"2026-01-0{d}T10:00:00Z")["id"]
        for d in (3, 1, 2)
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"client_id": owner["id"], "limit": 1, "sort": "-started_at"}
        page = client.get(
            "/v1/sessions",
            query_string={**params, **({"cursor": cursor} if cursor else {})},
            headers=hdr,
        )
        assert page.status_code == 200, page.json
        seen += [s["id"] for s in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == [made[0], made[2], made[1]]
