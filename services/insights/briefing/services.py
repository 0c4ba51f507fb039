"""The briefing: everything that applies to a host, ranked and packed into a token budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.insights import telemetry
from services.insights.briefing.memo import Memo
from services.insights.briefing.packing import FOOTER_MIN, cost, omitted_entry, pack
from services.insights.briefing.ranking import RankedInsight, rank
from services.insights.briefing.render import (
    CHARS_PER_TOKEN,
    DATA_NOTICE,
    estimate_tokens,
    render_facts,
    render_item,
    render_title,
)
from services.insights.hosts.facts import host_facts
from services.insights.knowledge.scope import applicable, candidates_query
from services.insights.metrics.counters import count_briefing, mark_surfaced
from shared.models import EnvironmentalExample, EnvironmentalInsight


class BriefedInsight(NamedTuple):
    """Only what ranking and rendering read: hydrating whole rows was most of a briefing's cost,
    and ranking reads each field several times, faster from a named tuple than from a Row."""

    id: str
    updated_at: datetime
    client_id: str | None
    infrastructure_id: str | None
    host_selector: dict[str, Any] | None
    insight_category: str
    title: str
    description: str
    confidence_level: str
    priority: int
    command_key: str | None
    last_checked_at: datetime
    last_surfaced_at: datetime | None


BRIEFED_COLUMNS = tuple(
    getattr(EnvironmentalInsight, name).label(name) for name in BriefedInsight._fields
)
# Built once, run with parameters: building these per request cost as much as running them.
_CANDIDATES = candidates_query().with_only_columns(*BRIEFED_COLUMNS)
_EXAMPLES = (
    select(EnvironmentalExample.insight_id, EnvironmentalExample.kind, EnvironmentalExample.command)
    .where(EnvironmentalExample.insight_id.in_(bindparam("ids", expanding=True)))
    .order_by(EnvironmentalExample.created_at, EnvironmentalExample.id)
)
MIN_ITEM_TOKENS = 24
MAX_FACTS = 300
HOST_FACTS = (
    "hostname",
    "os",
    "os_version",
    "shell_type",
    "powershell_version",
    "package_manager",
    "role_description",
    "limitations",
)


@dataclass
class Briefing:
    """A ranked, budgeted briefing for one host."""

    client_id: str
    host: dict[str, Any]
    generated_at: datetime
    budget_tokens: int
    used_tokens: int = 0
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    omitted: list[RankedInsight] = field(default_factory=list)
    markdown: str = ""

    def omitted_document(self) -> dict[str, Any]:
        """What was left out, in rank order: each with id, title, confidence and priority."""
        items = [omitted_entry(entry) for entry in self.omitted]
        return {
            "count": len(items),
            "must_know": sum(item["section"] == "must_know" for item in items),
            "ids": [item["id"] for item in items],
            "items": items,
        }

    def as_document(self) -> dict[str, Any]:
        """The JSON body, built directly: BriefingSchema documents it, and a test holds the two
        equal. Dumping through marshmallow cost more than ranking the candidates."""
        return {
            "client_id": self.client_id,
            "host": self.host,
            "generated_at": self.generated_at.isoformat(),
            "budget_tokens": self.budget_tokens,
            "used_tokens": self.used_tokens,
            "sections": {
                name: [{k: v for k, v in item.items() if k != "markdown"} for item in items]
                for name, items in self.sections.items()
            },
            "omitted": self.omitted_document(),
            "markdown": self.markdown,
        }


def build_briefing(
    *,
    session: Session,
    client_id: str,
    host_id: str,
    task: str | None = None,
    budget_tokens: int = 800,
    explain: bool = False,
    as_of: datetime | None = None,
) -> Briefing:
    """Rank what applies to the host and pack it: must-know, relevant, stale, then "N more"."""
    host = host_facts(session, client_id, host_id)
    now = as_of or datetime.now(UTC)
    # Plain rows, not ORM objects: hydrating ~100 insights was most of a briefing's cost.
    rows = session.connection().execute(
        _CANDIDATES, {"client_id": host.client_id, "host_id": host.id, "as_of": now}
    )
    candidates = [BriefedInsight._make(row) for row in rows]
    ranked = rank(applicable(candidates, host), task, now, explain)
    # Examples only for the head of the ranking: no more than that can fit the budget.
    examples = _examples(
        session, [r.insight.id for r in ranked[: budget_tokens // MIN_ITEM_TOKENS]]
    )
    facts = {"id": host.id, **{name: getattr(host, name) for name in HOST_FACTS}}
    briefing = Briefing(client_id, facts, now, budget_tokens)
    budget_chars = budget_tokens * CHARS_PER_TOKEN
    header = _header(facts, host.client_name, budget_chars)
    packed = pack(
        ranked, header, budget_chars, lambda e: _item(e, explain, examples.get(e.insight.id, {}))
    )
    briefing.sections, briefing.omitted = packed.sections, packed.omitted
    briefing.markdown = packed.markdown
    briefing.used_tokens = estimate_tokens(packed.markdown)  # the JSON counts what markdown shows
    if as_of is None:  # a look into the past is not a briefing served
        _record_served(session, briefing, ranked, now)
    return briefing


def _examples(session: Session, insight_ids: list[str]) -> dict[str, dict[str, str]]:
    """The first do and don't example of each of these insights."""
    if not insight_ids:
        return {}
    found: dict[str, dict[str, str]] = {}
    for insight_id, kind, command in session.connection().execute(_EXAMPLES, {"ids": insight_ids}):
        found.setdefault(insight_id, {}).setdefault(kind, command)
    return found


def _header(facts: dict[str, Any], client_name: str, budget_chars: int) -> list[str]:
    """Title, inventory facts (shortened to leave room for the omitted list) and the notice."""
    title = render_title(str(facts["hostname"]), client_name)
    room = budget_chars - cost(title, DATA_NOTICE) - FOOTER_MIN - 1
    line = render_facts(facts, min(MAX_FACTS, room))
    return [title, line, DATA_NOTICE] if line else [title, DATA_NOTICE]


def _item(entry: RankedInsight, explain: bool, found: dict[str, str]) -> dict[str, Any]:
    insight = entry.insight
    examples = {kind: found.get(kind) for kind in ("do", "dont")}
    item: dict[str, Any] = {
        "id": insight.id,
        "title": insight.title,
        "text": insight.description,
        "category": insight.insight_category,
        "confidence": insight.confidence_level,
        "priority": insight.priority,
        "scope": entry.scope,
        "stale": entry.stale,
        "examples": examples,
    }
    if explain:
        item["score"] = entry.score
        item["score_breakdown"] = entry.factors
    item["markdown"], item["tokens"] = _rendered(item, insight.updated_at)
    return item


# Rendered items by insight version: packing renders every candidate until the budget is full
# (a later, smaller one may still fit), and the same insights come back briefing after briefing.
_RENDERED: Memo[tuple[Any, ...], tuple[str, int]] = Memo(20_000)


def _rendered(item: dict[str, Any], updated_at: datetime) -> tuple[str, int]:
    """The item's markdown and token count; the key holds everything render_item reads, with
    updated_at standing for the title and text (every write of an insight moves it)."""
    examples = item["examples"]
    key = (
        item["id"],
        updated_at,
        item["confidence"],
        item["priority"],
        item["scope"],
        examples["do"],
        examples["dont"],
    )
    return _RENDERED.get(key, lambda: _render(item))


def _render(item: dict[str, Any]) -> tuple[str, int]:
    markdown = render_item(item)
    return markdown, estimate_tokens(markdown + "\n")


def _record_served(
    session: Session, briefing: Briefing, ranked: list[RankedInsight], now: datetime
) -> None:
    served = {item["id"] for items in briefing.sections.values() for item in items}
    mark_surfaced(session, [r.insight for r in ranked if r.insight.id in served])
    count_briefing(session, briefing.client_id, now.date())
    session.commit()
    telemetry.count_briefing()
