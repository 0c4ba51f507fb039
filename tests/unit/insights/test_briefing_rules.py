"""Pure rules behind briefings: selector matching, ranking factors, inert markdown, confidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.insights.briefing.ranking import rank
from services.insights.briefing.render import as_data, estimate_tokens
from services.insights.hosts.facts import HostFacts
from services.insights.knowledge.evidence import add_counter_evidence, add_support, beta_score
from services.insights.knowledge.scope import host_matches, selector_errors
from services.insights.knowledge.staleness import is_stale
from shared.models import EnvironmentalInsight

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def host(**attrs: Any) -> HostFacts:
    base = {
        "id": "h",
        "client_id": "c",
        "client_name": "Contoso",
        "hostname": "fs01",
        "asset_type": "server",
        "os": "Windows Server 2012 R2",
        "os_version": "2012 R2",
        "shell_type": "powershell",
        "powershell_version": "4.0",
        "has_gui": True,
        "role_description": None,
        "package_manager": None,
        "limitations": None,
    }
    return HostFacts(**{**base, **attrs}, load_tag_names=lambda: ["Hyper-V"])


def insight(**attrs: Any) -> EnvironmentalInsight:
    base = {
        "id": "i",
        "title": "t",
        "description": "d",
        "insight_category": "other",
        "confidence_level": "suspected",
        "priority": 5,
        "client_id": "c",
        "valid_from": NOW - timedelta(days=1),
        "support_count": 0,
        "counter_count": 0,
    }
    return EnvironmentalInsight(**{**base, **attrs})


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({"os": "windows"}, True),
        ({"os": "linux"}, False),
        ({"os_version": ["2008 R2", "2012 r2"]}, True),
        ({"powershell_version": "5.1"}, False),
        ({"os": "windows", "shell_type": "bash"}, False),
        ({"has_gui": False}, False),
        ({"tag": "Hyper-V"}, True),
        (None, True),
    ],
)
def test_a_selector_matches_a_host_on_every_attribute(selector: Any, matches: bool) -> None:
    assert host_matches(selector, host()) is matches


@pytest.mark.parametrize(
    "selector",
    [{}, {"colour": "red"}, {"os": 3}, {"os": []}, {"has_gui": "yes"}, {"tag": [1]}],
)
def test_malformed_selectors_are_reported(selector: Any) -> None:
    assert selector_errors(selector)


def test_ranking_orders_sections_then_score_then_priority_then_id() -> None:
    must = insight(id="m", confidence_level="confirmed", priority=9)
    high = insight(id="h", priority=9)
    low_b = insight(id="b", priority=3)
    low_a = insight(id="a", priority=3)
    stale = insight(
        id="s",
        priority=10,
        insight_category="network_constraints",
        valid_from=NOW - timedelta(days=90),
    )
    ranked = rank([low_b, stale, high, low_a, must], None, NOW)
    assert [r.insight.id for r in ranked] == ["m", "h", "a", "b", "s"]
    assert [r.section for r in ranked] == ["must_know", "relevant", "relevant", "relevant", "stale"]


def test_host_level_outranks_client_level_all_else_equal() -> None:
    on_host = insight(id="z", infrastructure_id="h1")
    on_client = insight(id="a")
    assert [r.insight.id for r in rank([on_client, on_host], None, NOW)] == ["z", "a"]


def test_task_words_raise_relevance_and_old_evidence_lowers_recency() -> None:
    relevant = insight(id="r", title="robocopy to the NAS fails")
    old = insight(
        id="o", last_evidence_at=NOW - timedelta(days=365), valid_from=NOW - timedelta(days=400)
    )
    ranked = {r.insight.id: r for r in rank([relevant, old], "robocopy the NAS", NOW, explain=True)}
    assert ranked["r"].factors["relevance"] > 1.0
    assert ranked["o"].factors["relevance"] == 1.0
    assert ranked["o"].factors["recency"] < ranked["r"].factors["recency"]


@pytest.mark.parametrize(
    "text", ["# Heading", "```rm -rf /```", "<script>x</script>", "line one\nline two", "> quote"]
)
def test_insight_text_is_rendered_as_one_inert_line(text: str) -> None:
    rendered = as_data(text)
    assert "\n" not in rendered and "`" not in rendered and "<" not in rendered
    assert not rendered.startswith(("#", ">"))


def test_token_estimate_is_about_four_characters() -> None:
    assert estimate_tokens("x" * 400) == 100


def test_support_moves_confidence_up_and_counter_evidence_down(monkeypatch: Any) -> None:
    recorded: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        "services.insights.knowledge.evidence.record_event",
        lambda _s, _i, kind, **kw: recorded.append((kind, kw["after"])),
    )
    subject = insight()
    moves = [
        add_support(None, subject, actor="t", reason="r", at=NOW)  # type: ignore[arg-type]
        for _ in range(4)
    ]
    assert moves == [None, "likely", None, "confirmed"]
    assert add_counter_evidence(None, subject, actor="t", reason="r") == "likely"  # type: ignore[arg-type]
    assert [kind for kind, _ in recorded] == ["promoted", "confirmed", "contradicted"]
    assert beta_score(subject) == pytest.approx(5 / 7)


def test_staleness_depends_on_the_category_window() -> None:
    month_old = {"valid_from": NOW - timedelta(days=31)}
    assert is_stale(insight(insight_category="network_constraints", **month_old), NOW)
    assert not is_stale(insight(insight_category="command_constraints", **month_old), NOW)
    verified = insight(insight_category="network_constraints", last_verified_at=NOW, **month_old)
    assert not is_stale(verified, NOW)
