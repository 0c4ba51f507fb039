"""Lifecycle actions on an insight: confirm, contradict, supersede, resolve, merge.

Nothing is deleted: a superseded insight gets valid_to and superseded_by, a merged one stays
retrievable with merged_into; every action is an event with its actor and reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.insights.knowledge import evidence
from services.insights.knowledge.events import record_event
from services.insights.knowledge.services import add_insight, current_insight
from shared.errors import Conflict, ValidationFailed
from shared.models import EnvironmentalExample, EnvironmentalInsight
from shared.models.insights import MAX_EXAMPLES
from shared.tenancy import Owned, require_same_client

ABSORBED_BY_ADMIN = "absorbed_by_admin"  # marks a merge event an admin made across clients
SCOPE_FIELDS = (
    "client_id",
    "infrastructure_id",
    "host_selector",
    "insight_category",
    "priority",
    "source_pattern_id",
)


def confirm_insight(
    *, session: Session, insight_id: str, actor: str, reason: str | None
) -> EnvironmentalInsight:
    """A person confirms the insight: confirmed, verified now."""
    insight = current_insight(session, insight_id)
    evidence.confirm(session, insight, actor=actor, reason=reason, at=datetime.now(UTC))
    session.commit()
    return insight


def contradict_insight(
    *, session: Session, insight_id: str, actor: str, reason: str
) -> EnvironmentalInsight:
    """Counter-evidence from a person: confidence steps down one level."""
    insight = current_insight(session, insight_id)
    evidence.add_counter_evidence(session, insight, actor=actor, reason=reason)
    session.commit()
    return insight


def resolve_insight(
    *, session: Session, insight_id: str, actor: str, reason: str
) -> EnvironmentalInsight:
    """The condition is gone (e.g. after an upgrade); it reopens if the failure recurs."""
    insight = current_insight(session, insight_id)
    if insight.status == "resolved":
        raise Conflict(f"insight {insight.id} is already resolved")
    record_event(
        session,
        insight,
        "resolved",
        actor=actor,
        reason=reason,
        before={"status": insight.status},
        after={"status": "resolved"},
    )
    insight.status = "resolved"
    session.commit()
    return insight


def supersede_insight(
    *, session: Session, insight_id: str, actor: str, reason: str, replacement: dict[str, Any]
) -> EnvironmentalInsight:
    """Replace an insight by a new one in the same slot; the old one ends (valid_to) but stays."""
    old = current_insight(session, insight_id)
    now = datetime.now(UTC)
    old.valid_to = now  # before creating: the new one must not count as its duplicate
    session.flush()
    body = {field: getattr(old, field) for field in SCOPE_FIELDS} | replacement
    body["reason"] = f"supersedes {old.id}: {reason}"
    new = add_insight(session=session, data=body, actor=actor)  # one commit, below
    old.superseded_by_id = new.id
    record_event(
        session,
        old,
        "superseded",
        actor=actor,
        reason=reason,
        before={"status": old.status, "valid_to": None},
        after={"status": "superseded", "valid_to": now, "superseded_by_id": new.id},
    )
    old.status = "superseded"
    session.commit()
    return new


def merge_insight(
    *,
    session: Session,
    insight_id: str,
    into_id: str,
    actor: str,
    reason: str,
    admin: bool = False,
) -> EnvironmentalInsight:
    """Fold a duplicate into another: the union of evidence and examples; the loser stays."""
    if insight_id == into_id:
        raise ValidationFailed({"into_id": ["an insight cannot be merged into itself"]})
    loser = current_insight(session, insight_id)
    winner = current_insight(session, into_id)
    absorbed = _absorbed_into_global(loser, winner, admin)
    _fold_evidence(loser, winner)
    loser.status, loser.merged_into_id = "merged", winner.id
    after: dict[str, Any] = {"status": "merged", "merged_into_id": winner.id}
    if absorbed:
        after[ABSORBED_BY_ADMIN] = True  # the cross-client report reads this mark
    record_event(
        session,
        loser,
        "merged",
        actor=actor,
        reason=reason,
        before={"status": "active"},
        after=after,
    )
    record_event(
        session,
        winner,
        "merged",
        actor=actor,
        reason=reason,
        after={"merged_from_id": loser.id, "support_count": winner.support_count},
    )
    session.commit()
    return winner


def _absorbed_into_global(
    loser: EnvironmentalInsight, winner: EnvironmentalInsight, admin: bool
) -> bool:
    """Whether this merge is an admin generalising a client's lesson into a global insight.

    Merging copies the loser's examples and evidence into what the winner's client is briefed
    with: only within one client (or among global insights), never across; except that an
    admin, who answers for every client, may fold a client's insight into a global one (its
    examples arrive without their host). A global insight never merges into a client's.
    """
    if admin and loser.client_id is not None and winner.client_id is None:
        return True
    require_same_client(
        "into_id",
        Owned("insight", loser.id, loser.client_id),
        Owned("insight", winner.id, winner.client_id),
    )
    return False


def _fold_evidence(loser: EnvironmentalInsight, winner: EnvironmentalInsight) -> None:
    winner.support_count += loser.support_count
    winner.counter_count += loser.counter_count
    winner.verification_count += loser.verification_count
    winner.last_evidence_at = _latest(winner.last_evidence_at, loser.last_evidence_at)
    winner.last_verified_at = _latest(winner.last_verified_at, loser.last_verified_at)
    winner.priority = max(winner.priority, loser.priority)
    known = {(e.kind, e.command) for e in winner.examples}
    for example in loser.examples:
        if len(winner.examples) >= MAX_EXAMPLES:
            break  # the winner's own examples come first; the rest stay in the loser's history
        if (example.kind, example.command) not in known:
            winner.examples.append(
                EnvironmentalExample(
                    kind=example.kind,
                    command=example.command,
                    explanation=example.explanation,
                    shell=example.shell,
                    # A global insight names no host: a client's host stays with its client.
                    infrastructure_id=example.infrastructure_id if winner.client_id else None,
                )
            )


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    present = [moment for moment in (first, second) if moment is not None]
    return max(present) if present else None
