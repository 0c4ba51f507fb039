"""Use cases of environmental insights: create (with duplicate checks), read, edit, list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.insights.commands.shape import constraint_key
from services.insights.knowledge.dedup import content_hash, exact_duplicate, near_duplicates
from services.insights.knowledge.events import record_event
from services.insights.knowledge.scope import selector_errors
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import (
    Client,
    EnvironmentalExample,
    EnvironmentalInsight,
    FailurePattern,
    Infrastructure,
)
from shared.models.insights import MAX_EXAMPLES
from shared.pagination import Page, filtered, sorted_page
from shared.records import apply_changes, get_or_404, require_reference
from shared.redaction import redact_text
from shared.tenancy import Owned, require_same_client

SORTABLE = {
    "priority": EnvironmentalInsight.priority,
    "created_at": EnvironmentalInsight.created_at,
    "updated_at": EnvironmentalInsight.updated_at,
}
INSIGHT_FILTERS = (
    "client_id",
    "infrastructure_id",
    "insight_category",
    "confidence_level",
    "status",
    "source_pattern_id",
)
EDITABLE = ("title", "description", "priority", "insight_category", "host_selector")
RETIRED = ("merged", "superseded")  # statuses of insights kept only as history


def get_insight(*, session: Session, insight_id: str) -> EnvironmentalInsight:
    """The insight (merged and superseded ones too), or NotFound."""
    return get_or_404(session, EnvironmentalInsight, insight_id, "insight")


def list_insights(
    *,
    session: Session,
    sort: str = "-priority",
    cursor: str | None = None,
    limit: int = 50,
    include_history: bool = False,
    **filters: Any,
) -> Page[EnvironmentalInsight]:
    """Insights by scope, category, confidence and status; current ones unless asked."""
    query = filtered(
        select(EnvironmentalInsight).options(selectinload(EnvironmentalInsight.examples)),
        {getattr(EnvironmentalInsight, name): filters.get(name) for name in INSIGHT_FILTERS},
    )
    # Asking for merged or superseded ones by status is asking for history.
    if not include_history and filters.get("status") not in RETIRED:
        query = query.where(
            EnvironmentalInsight.status.not_in(RETIRED), EnvironmentalInsight.valid_to.is_(None)
        )
    return sorted_page(
        session=session,
        query=query,
        sortable=SORTABLE,
        sort=sort,
        tiebreak=EnvironmentalInsight.id,
        cursor=cursor,
        limit=limit,
    )


def create_insight(*, session: Session, data: dict[str, Any], actor: str) -> EnvironmentalInsight:
    """A new insight in a valid scope; an exact duplicate is a 409 naming the existing one."""
    insight = add_insight(session=session, data=data, actor=actor)
    session.commit()
    return insight


def add_insight(*, session: Session, data: dict[str, Any], actor: str) -> EnvironmentalInsight:
    """create_insight without the commit, for use cases that write more in the same unit."""
    data = dict(data)
    examples = data.pop("examples", [])
    reason = data.pop("reason", None)
    constrains = data.pop("constrains_command", None)
    _resolve_scope(session, data)
    owner = Owned("insight", None, data.get("client_id"))
    for number, example in enumerate(examples):
        _check_example_host(session, owner, example, f"examples.{number}.infrastructure_id")
    insight = EnvironmentalInsight(**data)
    insight.content_hash = _hash_of(insight)
    _refuse_exact_duplicate(session, insight.content_hash, None)
    insight.command_key = _command_key(session, insight, constrains, examples)
    insight.support_count = 1 if insight.confidence_level != "suspected" else 0
    for example in examples:
        insight.examples.append(_example(example))
    session.add(insight)
    session.flush()
    record_event(
        session,
        insight,
        "created",
        actor=actor,
        reason=reason,
        after={"confidence_level": insight.confidence_level, "priority": insight.priority},
    )
    insight.possible_duplicates = near_duplicates(session, insight)  # type: ignore[attr-defined]
    return insight


def update_insight(
    *, session: Session, insight_id: str, data: dict[str, Any], actor: str
) -> EnvironmentalInsight:
    """Edit text, priority, category or selector; the change is recorded with before/after."""
    insight = current_insight(session, insight_id)
    reason = data.pop("reason", None)
    if "host_selector" in data:
        _check_selector(data["host_selector"], insight.infrastructure_id)
    before = apply_changes(insight, {k: v for k, v in data.items() if k in EDITABLE})
    if before:
        insight.content_hash = _hash_of(insight)
        _refuse_exact_duplicate(session, insight.content_hash, insight.id)
        record_event(
            session,
            insight,
            "edited",
            actor=actor,
            reason=reason,
            before=before,
            after={k: getattr(insight, k) for k in before},
        )
    session.commit()
    return insight


def add_example(
    *, session: Session, insight_id: str, data: dict[str, Any], actor: str
) -> EnvironmentalInsight:
    """Attach a do / don't command example (redacted) to a current insight."""
    insight = current_insight(session, insight_id)
    if len(insight.examples) >= MAX_EXAMPLES:
        raise Conflict(
            f"insight {insight.id} already keeps {MAX_EXAMPLES} examples, the most one holds; "
            "supersede it with a replacement that keeps the ones that matter"
        )
    owner = Owned("insight", insight.id, insight.client_id)
    _check_example_host(session, owner, data, "infrastructure_id")
    example = _example(data)
    insight.examples.append(example)
    if example.kind == "dont" and not insight.command_key:
        insight.command_key = constraint_key(example.command)
    record_event(
        session,
        insight,
        "example_added",
        actor=actor,
        after={"kind": example.kind, "command": example.command},
    )
    session.commit()
    return insight


def delete_insight(*, session: Session, insight_id: str) -> None:
    """Remove an insight entered by mistake (supersede or resolve keep history instead)."""
    session.delete(get_insight(session=session, insight_id=insight_id))
    session.commit()


def duplicates_of(*, session: Session, insight_id: str) -> list[Any]:
    """Near duplicates of an insight, most similar first (reported, never merged)."""
    return near_duplicates(session, get_insight(session=session, insight_id=insight_id))


def current_insight(session: Session, insight_id: str) -> EnvironmentalInsight:
    insight = get_insight(session=session, insight_id=insight_id)
    if insight.status == "merged":
        raise Conflict(
            f"insight {insight.id} was merged into {insight.merged_into_id}",
            merged_into_id=insight.merged_into_id,
        )
    if insight.valid_to is not None:
        raise Conflict(
            f"insight {insight.id} was superseded by {insight.superseded_by_id}",
            superseded_by_id=insight.superseded_by_id,
        )
    return insight


def _resolve_scope(session: Session, data: dict[str, Any]) -> None:
    """Host-level insights take the host's client; a selector needs no host; the host and the
    source pattern must belong to the insight's client (a global insight names neither)."""
    host_id = data.get("infrastructure_id")
    if data.get("client_id"):
        get_or_404(session, Client, data["client_id"], "client")
    if host_id:
        host = get_or_404(session, Infrastructure, host_id, "host")
        data["client_id"] = data.get("client_id") or host.client_id
        owner = Owned("insight", None, data["client_id"])
        require_same_client("infrastructure_id", owner, Owned("host", host_id, host.client_id))
    _check_selector(data.get("host_selector"), host_id)
    if data.get("source_pattern_id"):
        owner = Owned("insight", None, data.get("client_id"))
        pattern = (FailurePattern, data["source_pattern_id"], "failure pattern")
        require_reference(session, "source_pattern_id", owner, pattern)


def _check_example_host(
    session: Session, owner: Owned, example: dict[str, Any], field: str
) -> None:
    # An example's host is shown in the briefings of the insight's client, and only there.
    if example.get("infrastructure_id"):
        host = (Infrastructure, example["infrastructure_id"], "host")
        require_reference(session, field, owner, host)


def _check_selector(selector: Any, host_id: str | None) -> None:
    errors = selector_errors(selector)
    if selector and host_id:
        errors.append("a host-level insight cannot also have a selector")
    if errors:
        raise ValidationFailed({"host_selector": errors})


def _hash_of(insight: EnvironmentalInsight) -> str:
    return content_hash(
        client_id=insight.client_id,
        infrastructure_id=insight.infrastructure_id,
        host_selector=insight.host_selector,
        category=insight.insight_category,
        title=insight.title,
        description=insight.description,
    )


def _refuse_exact_duplicate(session: Session, digest: str, exclude_id: str | None) -> None:
    existing = exact_duplicate(session, digest, exclude_id)
    if existing:
        raise Conflict(f"an identical insight already exists: {existing}", existing_id=existing)


def _command_key(
    session: Session,
    insight: EnvironmentalInsight,
    constrains: str | None,
    examples: list[dict[str, Any]],
) -> str | None:
    """The command shape the insight constrains: given, from its pattern, or its don't example."""
    if constrains:
        return constraint_key(redact_text(constrains))
    if insight.source_pattern_id:
        pattern = session.get(FailurePattern, insight.source_pattern_id)
        if pattern is None:
            raise NotFound("failure pattern", insight.source_pattern_id)
        return pattern.command_key
    dont = next((e["command"] for e in examples if e["kind"] == "dont"), None)
    return constraint_key(redact_text(dont)) if dont else None


def _example(data: dict[str, Any]) -> EnvironmentalExample:
    return EnvironmentalExample(
        kind=data["kind"],
        command=redact_text(data["command"]),
        explanation=data.get("explanation"),
        shell=data.get("shell"),
        infrastructure_id=data.get("infrastructure_id"),
        created_at=datetime.now(UTC),
    )
