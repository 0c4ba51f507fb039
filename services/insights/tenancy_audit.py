"""Rows written before the tenant rule that tie one client's object to another client's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from shared.models import (
    EnvironmentalExample,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    Infrastructure,
    InsightEvent,
    WorkSession,
)
from shared.tenancy import Owned

_Insight, _Other = aliased(EnvironmentalInsight), aliased(EnvironmentalInsight)
# A merge an admin made into a global insight is the one sanctioned crossing (see
# knowledge.lifecycle): its merge event carries the mark, which no older release wrote.
_ABSORBED_BY_ADMIN = exists().where(
    InsightEvent.insight_id == _Insight.id,
    InsightEvent.event_type == "merged",
    InsightEvent.after["absorbed_by_admin"].as_boolean().is_(True),
)
_Host, _Parent = aliased(Infrastructure), aliased(Infrastructure)


@dataclass(frozen=True)
class Crossing:
    """One stored reference across clients: which field of which row names which row."""

    field: str
    referring: Owned
    referenced: Owned

    def __str__(self) -> str:
        return (
            f"{self.referring.kind} {self.referring.id} (client {self.referring.client_id}) "
            f"{self.field} -> {self.referenced.kind} {self.referenced.id} "
            f"(client {self.referenced.client_id})"
        )


@dataclass(frozen=True)
class _Edge:
    field: str
    referring: tuple[str, Any, Any]  # kind, id column, client column
    referenced: tuple[str, Any, Any]
    joined: Any  # the join condition, across the referring and referenced rows

    def query(self) -> Any:
        (_, own_id, own_client), (_, their_id, their_client) = self.referring, self.referenced
        # NULL-safe (<=> on MariaDB): a global insight next to a client's is a crossing too.
        query = select(own_id, own_client, their_id, their_client).distinct()
        return query.where(self.joined, own_client.is_distinct_from(their_client))


_EDGES = (
    _Edge(
        "merged_into_id",
        ("insight", _Insight.id, _Insight.client_id),
        ("insight", _Other.id, _Other.client_id),
        and_(
            _Insight.merged_into_id == _Other.id,
            ~and_(_Other.client_id.is_(None), _ABSORBED_BY_ADMIN),
        ),
    ),
    _Edge(
        "superseded_by_id",
        ("insight", _Insight.id, _Insight.client_id),
        ("insight", _Other.id, _Other.client_id),
        _Insight.superseded_by_id == _Other.id,
    ),
    _Edge(
        "infrastructure_id",
        ("insight", _Insight.id, _Insight.client_id),
        ("host", _Host.id, _Host.client_id),
        _Insight.infrastructure_id == _Host.id,
    ),
    _Edge(
        "source_pattern_id",
        ("insight", _Insight.id, _Insight.client_id),
        ("failure pattern", FailurePattern.id, FailurePattern.client_id),
        _Insight.source_pattern_id == FailurePattern.id,
    ),
    _Edge(
        "examples.infrastructure_id",
        ("insight", _Insight.id, _Insight.client_id),
        ("host", _Host.id, _Host.client_id),
        and_(
            EnvironmentalExample.insight_id == _Insight.id,
            EnvironmentalExample.infrastructure_id == _Host.id,
        ),
    ),
    _Edge(
        "session_id",
        ("host", _Host.id, _Host.client_id),
        ("session", WorkSession.id, WorkSession.client_id),
        and_(
            FailureOccurrence.infrastructure_id == _Host.id,
            FailureOccurrence.session_id == WorkSession.id,
            WorkSession.client_id.is_not(None),  # an unassigned session takes no side
        ),
    ),
    _Edge(
        "parent_host_id",
        ("host", _Host.id, _Host.client_id),
        ("host", _Parent.id, _Parent.client_id),
        _Host.parent_host_id == _Parent.id,
    ),
)


def cross_client_references(session: Session) -> Iterator[Crossing]:
    """Every stored reference that crosses a client boundary, edge by edge."""
    for edge in _EDGES:
        for own_id, own_client, their_id, their_client in session.execute(edge.query()):
            yield Crossing(
                edge.field,
                Owned(edge.referring[0], own_id, own_client),
                Owned(edge.referenced[0], their_id, their_client),
            )
