"""A superseded insight's status says so, over HTTP and after migration 0011, on MariaDB; a
briefing as of a moment before the supersession still shows it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import text

from shared.db import make_engine
from shared.migrate import alembic_config
from tests.integration.insights.factories import WRITE, make_client, make_host, unique
from tests.mariadb import MariaDBServer

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


def test_a_superseded_insight_reads_superseded_and_is_history(
    client: FlaskClient, hdr: dict
) -> None:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"])
    body = {"client_id": owner["id"], "insight_category": "other", "title": unique("old")}
    old = client.post("/v1/insights", headers=hdr, json={**body, "description": "x"}).json
    before = datetime.now(UTC).isoformat()
    new = client.post(
        f"/v1/insights/{old['id']}/supersede",
        headers=hdr,
        json={"reason": "moved", "replacement": {"title": unique("new"), "description": "y"}},
    ).json
    read = client.get(f"/v1/insights/{old['id']}", headers=hdr).json
    assert (read["status"], read["superseded_by_id"]) == ("superseded", new["id"])
    assert client.get(f"/v1/insights/{new['id']}", headers=hdr).json["status"] == "active"
    listed = client.get("/v1/insights", query_string={"client_id": owner["id"]}, headers=hdr)
    assert [i["id"] for i in listed.json["items"]] == [new["id"]]
    retired = client.get(
        "/v1/insights", query_string={"client_id": owner["id"], "status": "superseded"}, headers=hdr
    )
    assert [i["id"] for i in retired.json["items"]] == [old["id"]]
    events = client.get(f"/v1/insights/{old['id']}/history", headers=hdr).json["events"]
    superseded = next(e for e in events if e["event_type"] == "superseded")
    assert (superseded["before"]["status"], superseded["after"]["status"]) == (
        "active",
        "superseded",
    )
    url = f"/v1/clients/{owner['id']}/hosts/{host['id']}/briefing"
    then = client.get(url, query_string={"as_of": before, "budget_tokens": 20000}, headers=hdr).json
    briefed = {i["id"] for i in then["sections"]["relevant"]}  # global insights may join
    assert old["id"] in briefed and new["id"] not in briefed


def test_migration_0011_marks_insights_superseded_before_it(
    mariadb_server: MariaDBServer,
) -> None:
    url = mariadb_server.url(mariadb_server.create_database("msp_superseded"))
    config = alembic_config(url)
    command.upgrade(config, "0010")
    engine = make_engine(url)
    columns = (
        "id, insight_category, title, description, confidence_level, priority, status,"
        " superseded_by_id, valid_to, verification_count, support_count, counter_count,"
        " surfaced_count, valid_from, created_at, updated_at"
    )
    with engine.begin() as conn:  # what 0010 wrote on supersede: still 'active', with a successor
        conn.execute(
            text(
                f"INSERT INTO environmental_insights ({columns}) VALUES"
                " ('new', 'other', 't', 'd', 'suspected', 5, 'active', NULL, NULL,"
                "  0, 1, 0, 0, NOW(), NOW(), NOW()),"
                " ('old', 'other', 't', 'd', 'suspected', 5, 'active', 'new', NOW(),"
                "  0, 1, 0, 0, NOW(), NOW(), NOW())"
            )
        )
    command.upgrade(config, "0011")
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM environmental_insights")).all())
    assert statuses == {"new": "active", "old": "superseded"}
    command.downgrade(config, "0010")
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM environmental_insights")).all())
    assert statuses == {"new": "active", "old": "active"}
    engine.dispose()
