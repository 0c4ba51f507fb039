"""Insights metrics: insights by confidence counted in the database at scrape time, briefings
served counted once each, and labels that stay in their closed lists whatever a caller sends."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from services.insights import telemetry
from shared.models.insights import CHECK_VERDICTS
from tests.hostile import HOSTILE_STRINGS
from tests.integration.insights.factories import WRITE, make_client, make_host, unique

Auth = Callable[..., dict[str, str]]


def _scraped(client: FlaskClient, series: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_new_insight_is_counted_by_confidence_from_the_database(
    client: FlaskClient, auth: Auth
) -> None:
    hdr = auth(*WRITE)
    owner = make_client(client, hdr)
    series = 'insights_environmental{confidence="suspected",status="active"}'
    before = _scraped(client, series)

    answer = client.post(
        "/v1/insights",
        json={
            "insight_category": "command_constraints",
            "title": unique("insight"),
            "description": "counted at the next scrape",
            "client_id": owner["id"],
            "confidence_level": "suspected",
        },
        headers=hdr,
    )

    assert answer.status_code == 201, answer.json
    assert _scraped(client, series) == before + 1


def test_a_briefing_served_is_counted_and_a_look_into_the_past_is_not(
    client: FlaskClient, auth: Auth
) -> None:
    hdr = auth(*WRITE)
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Debian")
    url = f"/v1/clients/{owner['id']}/hosts/{host['id']}/briefing"
    before = _scraped(client, "insights_briefings_served_total")

    assert client.get(url, headers=hdr).status_code == 200
    past = client.get(url, query_string={"as_of": "2026-01-01T00:00:00Z"}, headers=hdr)

    assert past.status_code == 200
    assert _scraped(client, "insights_briefings_served_total") == before + 1


@given(
    verdict=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(), st.sampled_from(CHECK_VERDICTS))
)
def test_a_check_verdict_label_stays_in_its_closed_list(verdict: str) -> None:
    telemetry.count_check(verdict)
    telemetry.count_failure(new_pattern=bool(verdict), repeat=not verdict)
    for family in REGISTRY.collect():
        for sample in family.samples:
            if family.name.startswith("insights_checks"):
                assert sample.labels["verdict"] in {*CHECK_VERDICTS, "other"}
            if family.name.startswith("insights_failures_ingested"):
                assert sample.labels["repeat"] in {"true", "false"}
