"""Reading and annotating failure patterns and their occurrences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import FailureOccurrence, FailurePattern
from shared.pagination import Page, filtered, keyset_page, sorted_page
from shared.records import apply_changes, get_or_404

SORTABLE = {
    "last_seen_at": FailurePattern.last_seen_at,
    "first_seen_at": FailurePattern.first_seen_at,
    "occurrence_count": FailurePattern.occurrence_count,
}


def get_pattern(*, session: Session, pattern_id: str) -> FailurePattern:
    """The pattern, or NotFound."""
    return get_or_404(session, FailurePattern, pattern_id, "failure pattern")


def list_patterns(
    *,
    session: Session,
    client_id: str | None = None,
    infrastructure_id: str | None = None,
    pattern_type: str | None = None,
    sort: str = "-last_seen_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[FailurePattern]:
    """Patterns of a client (or seen on a host), most recent or most frequent first."""
    query = filtered(
        select(FailurePattern),
        {FailurePattern.client_id: client_id, FailurePattern.pattern_type: pattern_type},
    )
    if infrastructure_id:
        seen_on = select(FailureOccurrence.failure_pattern_id).where(
            FailureOccurrence.infrastructure_id == infrastructure_id
        )
        query = query.where(FailurePattern.id.in_(seen_on))
    return sorted_page(
        session=session,
        query=query,
        sortable=SORTABLE,
        sort=sort,
        tiebreak=FailurePattern.id,
        cursor=cursor,
        limit=limit,
    )


def update_pattern(*, session: Session, pattern_id: str, data: dict[str, Any]) -> FailurePattern:
    """Record a root cause or a fix, or re-classify a pattern."""
    pattern = get_pattern(session=session, pattern_id=pattern_id)
    apply_changes(pattern, data)
    session.commit()
    return pattern


def list_occurrences(
    *, session: Session, pattern_id: str, cursor: str | None = None, limit: int = 50
) -> Page[FailureOccurrence]:
    """Every occurrence of a pattern, newest first."""
    get_pattern(session=session, pattern_id=pattern_id)
    query = select(FailureOccurrence).where(FailureOccurrence.failure_pattern_id == pattern_id)
    return keyset_page(
        session=session,
        query=query,
        sort=FailureOccurrence.observed_at,
        tiebreak=FailureOccurrence.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )
