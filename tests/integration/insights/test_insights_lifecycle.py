"""Insights over HTTP: scopes, duplicates, lifecycle actions, staleness and history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.integration.insights.factories import WRITE, make_client, make_host, unique

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def owner(client: FlaskClient, hdr: dict) -> dict[str, Any]:
    return make_client(client, hdr)


def create(client: FlaskClient, hdr: dict, **body: Any) -> Any:
    payload = {
        "insight_category": "command_constraints",
        "title": unique("WinRM is off"),
        "description": "WinRM is disabled by GPO on these hosts; use PsExec.",
        **body,
    }
    return client.post("/v1/insights", json=payload, headers=hdr)


def test_an_exact_duplicate_is_409_naming_the_existing_insight(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    first = create(client, hdr, client_id=owner["id"], title="Use PsExec").json
    again = create(client, hdr, client_id=owner["id"], title="  use   psexec ")
    assert again.status_code == 409
    assert again.json["existing_id"] == first["id"]


def test_a_near_duplicate_is_reported_not_merged(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    first = create(
        client,
        hdr,
        client_id=owner["id"],
        title="WinRM disabled on file servers",
        description="WinRM is disabled by GPO on the file servers; use PsExec.",
    ).json
    second = create(
        client,
        hdr,
        client_id=owner["id"],
        title="WinRM disabled on fileservers",
        description="WinRM is disabled by GPO on the file servers, use PsExec",
    )
    assert second.status_code == 201
    assert [d["id"] for d in second.json["possible_duplicates"]] == [first["id"]]
    listed = client.get(f"/v1/insights/{first['id']}/duplicates", headers=hdr).json["items"]
    assert [d["id"] for d in listed] == [second.json["id"]]
    assert client.get(f"/v1/insights/{first['id']}", headers=hdr).json["status"] == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": 0}, "priority"),
        ({"priority": 11}, "priority"),
        ({"insight_category": "vibes"}, "insight_category"),
        ({"confidence_level": "certain"}, "confidence_level"),
        ({"host_selector": {"colour": "blue"}}, "host_selector"),
        ({"host_selector": {"os": 7}}, "host_selector"),
        ({"examples": [{"kind": "maybe", "command": "x"}]}, "examples.0.kind"),
    ],
)
def test_bad_insights_are_422_naming_the_field(
    client: FlaskClient, hdr: dict, owner: dict, body: dict, field: str
) -> None:
    response = create(client, hdr, client_id=owner["id"], **body)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_an_insight_for_an_unknown_client_or_host_is_404(client: FlaskClient, hdr: dict) -> None:
    assert create(client, hdr, client_id="0" * 36).status_code == 404
    assert create(client, hdr, infrastructure_id="0" * 36).status_code == 404


def test_a_host_level_insight_takes_its_hosts_client(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    host = make_host(client, hdr, owner["id"])
    insight = create(client, hdr, infrastructure_id=host["id"]).json
    assert insight["client_id"] == owner["id"] and insight["scope"] == "host"


def test_confirm_and_contradict_move_confidence_and_record_why(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    insight = create(client, hdr, client_id=owner["id"]).json
    confirmed = client.post(
        f"/v1/insights/{insight['id']}/confirm", json={"reason": "checked GPO"}, headers=hdr
    ).json
    assert confirmed["confidence_level"] == "confirmed"
    assert confirmed["verification_count"] == 1 and confirmed["last_verified_at"]
    contradicted = client.post(
        f"/v1/insights/{insight['id']}/contradict",
        json={"reason": "WinRM answered today"},
        headers=hdr,
    ).json
    assert contradicted["confidence_level"] == "likely"
    no_reason = client.post(f"/v1/insights/{insight['id']}/contradict", json={}, headers=hdr)
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    events = client.get(f"/v1/insights/{insight['id']}/history", headers=hdr).json["events"]
    assert [(e["event_type"], e["reason"]) for e in events][1:] == [
        ("confirmed", "checked GPO"),
        ("contradicted", "WinRM answered today"),
    ]
    assert events[2]["before"]["confidence_level"] == "confirmed"


def test_supersede_ends_the_old_insight_and_keeps_it(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    old = create(client, hdr, client_id=owner["id"], priority=7).json
    response = client.post(
        f"/v1/insights/{old['id']}/supersede",
        headers=hdr,
        json={
            "reason": "GPO changed in March",
            "replacement": {"title": "WinRM is on over HTTPS only", "description": "Use -UseSSL."},
        },
    )
    assert response.status_code == 201
    new = response.json
    assert new["priority"] == 7 and new["client_id"] == owner["id"]
    kept = client.get(f"/v1/insights/{old['id']}", headers=hdr).json
    assert kept["valid_to"] and kept["superseded_by_id"] == new["id"]
    again = client.post(f"/v1/insights/{old['id']}/confirm", json={}, headers=hdr)
    assert again.status_code == 409
    current = client.get("/v1/insights", query_string={"client_id": owner["id"]}, headers=hdr).json[
        "items"
    ]
    assert [i["id"] for i in current] == [new["id"]]
    with_history = client.get(
        "/v1/insights",
        headers=hdr,
        query_string={"client_id": owner["id"], "include_history": "true"},
    ).json["items"]
    assert {i["id"] for i in with_history} == {old["id"], new["id"]}
    history = client.get(f"/v1/insights/{new['id']}/history", headers=hdr).json
    assert history["supersedes"] == [old["id"]]


def test_merge_keeps_the_union_of_evidence_and_the_loser_stays_retrievable(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    keep = create(
        client,
        hdr,
        client_id=owner["id"],
        examples=[{"kind": "do", "command": "psexec \\\\fs01 cmd"}],
    ).json
    fold = create(
        client,
        hdr,
        client_id=owner["id"],
        examples=[{"kind": "dont", "command": "Enter-PSSession fs01"}],
    ).json
    client.post(f"/v1/insights/{fold['id']}/confirm", json={"reason": "seen"}, headers=hdr)
    merged = client.post(
        f"/v1/insights/{fold['id']}/merge",
        headers=hdr,
        json={"into_id": keep["id"], "reason": "same GPO"},
    ).json
    assert merged["id"] == keep["id"]
    assert sorted(e["kind"] for e in merged["examples"]) == ["do", "dont"]
    assert merged["support_count"] >= 1 and merged["verification_count"] == 1
    loser = client.get(f"/v1/insights/{fold['id']}", headers=hdr).json
    assert loser["status"] == "merged" and loser["merged_into_id"] == keep["id"]
    history = client.get(f"/v1/insights/{keep['id']}/history", headers=hdr).json
    assert history["merged_from"] == [fold["id"]]
    assert "confirmed" in [e["event_type"] for e in history["events"]]


def test_merging_into_itself_is_422_and_into_a_merged_one_is_409(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    a = create(client, hdr, client_id=owner["id"]).json
    b = create(client, hdr, client_id=owner["id"]).json
    assert (
        client.post(
            f"/v1/insights/{a['id']}/merge", headers=hdr, json={"into_id": a["id"], "reason": "x"}
        ).status_code
        == 422
    )
    client.post(
        f"/v1/insights/{b['id']}/merge", headers=hdr, json={"into_id": a["id"], "reason": "x"}
    )
    c = create(client, hdr, client_id=owner["id"]).json
    assert (
        client.post(
            f"/v1/insights/{c['id']}/merge", headers=hdr, json={"into_id": b["id"], "reason": "x"}
        ).status_code
        == 409
    )


def test_resolve_then_the_same_failure_reopens_it_as_regressed(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    host = make_host(client, hdr, owner["id"])
    body = {
        "client_id": owner["id"],
        "infrastructure_id": host["id"],
        "command": "wmic bios get x",
        "error_output": "'wmic' is not recognized as an internal or external command",
        "exit_code": 9009,
    }
    client.post("/v1/failures", json=body, headers=hdr)
    insight_id = client.post("/v1/failures", json=body, headers=hdr).json["insight"]["id"]
    resolved = client.post(
        f"/v1/insights/{insight_id}/resolve", headers=hdr, json={"reason": "WMIC feature installed"}
    ).json
    assert resolved["status"] == "resolved"
    again = client.post("/v1/failures", json=body, headers=hdr).json
    assert again["insight"] == {
        "id": insight_id,
        "action": "regressed",
        "confidence_level": "suspected",
    }
    events = client.get(f"/v1/insights/{insight_id}/history", headers=hdr).json["events"]
    assert [e["event_type"] for e in events][-2:] == ["resolved", "regressed"]


def test_an_insight_past_its_verification_window_is_flagged_stale_not_hidden(
    client: FlaskClient, hdr: dict, owner: dict, engine: Engine
) -> None:
    insight = create(client, hdr, client_id=owner["id"], insight_category="network_constraints")
    insight_id = insight.json["id"]
    assert insight.json["is_stale"] is False
    long_ago = datetime.now(UTC) - timedelta(days=31)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE environmental_insights SET valid_from = :t, "
                "last_evidence_at = NULL WHERE id = :id"
            ),
            {"t": long_ago.replace(tzinfo=None), "id": insight_id},
        )
    fetched = client.get(f"/v1/insights/{insight_id}", headers=hdr).json
    assert fetched["is_stale"] is True
    listed = client.get("/v1/insights", query_string={"client_id": owner["id"]}, headers=hdr).json[
        "items"
    ]
    assert [i["id"] for i in listed] == [insight_id]
    confirmed = client.post(f"/v1/insights/{insight_id}/confirm", json={}, headers=hdr).json
    assert confirmed["is_stale"] is False


def test_edits_are_recorded_with_before_and_after(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    insight = create(client, hdr, client_id=owner["id"], priority=3).json
    client.patch(
        f"/v1/insights/{insight['id']}", json={"priority": 9, "reason": "outage"}, headers=hdr
    )
    event = client.get(f"/v1/insights/{insight['id']}/history", headers=hdr).json["events"][-1]
    assert (event["event_type"], event["before"], event["after"], event["reason"]) == (
        "edited",
        {"priority": 3},
        {"priority": 9},
        "outage",
    )
    assert event["actor"].startswith("test-")


def test_secrets_in_examples_are_redacted(client: FlaskClient, hdr: dict, owner: dict) -> None:
    insight = create(
        client,
        hdr,
        client_id=owner["id"],
        examples=[{"kind": "do", "command": "net use \\\\fs01\\x Sup3rS3cret /user:CORP\\svc"}],
    ).json
    assert "Sup3rS3cret" not in insight["examples"][0]["command"]


def test_an_insight_keeps_at_most_twenty_examples_by_api_and_by_merge(
    client: FlaskClient, hdr: dict, owner: dict
) -> None:
    # The document caps an insight's examples at 20; a 21st used to be stored, and every read
    # of that insight then answered outside its own documented schema.
    examples = [{"kind": "do", "command": f"Get-Service svc{n}"} for n in range(20)]
    full = create(client, hdr, client_id=owner["id"], examples=examples).json
    refused = client.post(
        f"/v1/insights/{full['id']}/examples",
        json={"kind": "dont", "command": "Restart-Computer"},
        headers=hdr,
    )
    assert refused.status_code == 409 and "20 examples" in refused.json["detail"]
    other = [{"kind": "dont", "command": f"sc stop svc{n}"} for n in range(5)]
    fold = create(client, hdr, client_id=owner["id"], examples=other).json
    merged = client.post(
        f"/v1/insights/{fold['id']}/merge",
        json={"into_id": full["id"], "reason": "same service"},
        headers=hdr,
    )
    assert merged.status_code == 200
    assert {e["command"] for e in merged.json["examples"]} == {e["command"] for e in examples}
    assert len(client.get(f"/v1/insights/{full['id']}", headers=hdr).json["examples"]) == 20
