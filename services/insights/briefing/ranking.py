"""Deterministic ranking of the insights that apply to a host, with a per-factor breakdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.insights.briefing.memo import Memo
from services.insights.briefing.word_forms import word_stems
from services.insights.knowledge.facts import InsightFacts
from services.insights.knowledge.scope import SPECIFICITY, scope_of
from services.insights.knowledge.staleness import stale_after

CONFIDENCE_WEIGHT = {"confirmed": 1.0, "likely": 0.7, "suspected": 0.4}
RECENCY_HALF_LIFE_DAYS = 90.0
MUST_KNOW_PRIORITY = 8


@dataclass(slots=True)  # not frozen: a briefing makes a hundred, and frozen ones build slowly
class RankedInsight:
    """An applicable insight, its section and its score (and why)."""

    insight: InsightFacts
    scope: str
    stale: bool
    section: str
    score: float
    factors: dict[str, float] = field(default_factory=dict)


def rank(
    insights: Sequence[InsightFacts], task: str | None, now: datetime, explain: bool = False
) -> list[RankedInsight]:
    """Score every insight and order them: section, then score, priority and id.

    The per-factor breakdown is kept only when `explain` asks for it: a briefing scores a
    hundred candidates or more and shows a dozen.
    """
    task_words = word_stems(task or "")
    ranked = [_score(insight, task_words, now, explain) for insight in insights]
    order = {"must_know": 0, "relevant": 1, "stale": 2}
    return sorted(
        ranked, key=lambda r: (order[r.section], -r.score, -r.insight.priority, r.insight.id)
    )


def _score(
    insight: InsightFacts, task_words: frozenset[str], now: datetime, explain: bool
) -> RankedInsight:
    scope = scope_of(insight)
    checked = insight.last_checked_at
    stale = stale_after(checked, insight.insight_category, now)
    priority = insight.priority / 10
    confidence = CONFIDENCE_WEIGHT[insight.confidence_level]
    specificity = SPECIFICITY[scope]
    recency = _recency(checked, now)
    relevance = _relevance(insight, task_words)
    score = round(priority * confidence * specificity * recency * relevance, 6)
    breakdown = (
        {
            "priority": round(priority, 4),
            "confidence": round(confidence, 4),
            "specificity": round(specificity, 4),
            "recency": round(recency, 4),
            "relevance": round(relevance, 4),
        }
        if explain
        else {}
    )
    return RankedInsight(insight, scope, stale, _section(insight, stale), score, breakdown)


def _section(insight: InsightFacts, stale: bool) -> str:
    if stale:
        return "stale"
    if insight.confidence_level == "confirmed" and insight.priority >= MUST_KNOW_PRIORITY:
        return "must_know"
    return "relevant"


def _recency(checked: datetime, now: datetime) -> float:
    """0.3 .. 1.0, halving the fresh part every 90 days since the last evidence."""
    age_days = max(0.0, (now - checked).total_seconds() / 86_400)
    return 0.3 + 0.7 * float(0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS))


def _relevance(insight: InsightFacts, task_words: frozenset[str]) -> float:
    """1 .. 3: how many words of the task the insight (text, command shape) mentions, in any
    of their forms ("reboot" meets "reboots" and "rebooting")."""
    if not task_words:
        return 1.0
    overlap = len(task_words & _words_of(insight)) / len(task_words)
    return 1.0 + 2.0 * overlap


_WORDS: Memo[tuple[str, datetime], frozenset[str]] = Memo(100_000)


def _words_of(insight: InsightFacts) -> frozenset[str]:
    """The insight's word stems, remembered per (id, updated_at): texts rarely change."""
    return _WORDS.get(
        (insight.id, insight.updated_at),
        lambda: word_stems(
            " ".join([insight.title, insight.description, insight.command_key or ""])
        ),
    )
