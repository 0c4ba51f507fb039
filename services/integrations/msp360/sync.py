"""One sync: read MSP360's monitoring list, place each plan, store its newest state, and turn
each problem into an event, a Zapier item, a ticket and a report on the host."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.integrations.adapters.msp360 import MonitoredPlan
from services.integrations.events.services import add_event
from services.integrations.msp360.follow_up import FollowUp
from services.integrations.msp360.identity import fold, plan_key
from services.integrations.msp360.mappings import (
    Directory,
    Placement,
    place_plans,
    unmapped_counts,
)
from services.integrations.msp360.plans import (
    Transition,
    mark_seen,
    new_plan,
    observe,
    quick_state,
    stored_states,
    vanished_with_problems,
)
from services.integrations.msp360.sync_lock import sync_turn
from shared.db import engine_of_session
from shared.models import utcnow
from shared.models.msp360 import PROBLEM_STATUSES

ZAPIER_EVENT = "client_backup_problem"
Publish = Callable[[Session, str, dict[str, Any]], Any]
NOWHERE = Placement(None, None, None, None)


@dataclass
class SyncReport:
    """What one sync saw and did (the answer of POST /v1/msp360/sync and of the CLI)."""

    plans_seen: int = 0
    rows_skipped: int = 0
    changed: int = 0
    opened: int = 0
    repeated: int = 0
    recovered: int = 0
    unmapped_companies: int = 0
    unmapped_computers: int = 0
    vanished_with_problems: int = 0
    logins: int = 0
    follow_up: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class PlanSource:
    """Reads the monitoring list (the adapter, signed in through the vault)."""

    def monitoring(self) -> tuple[list[MonitoredPlan], int]:
        raise NotImplementedError

    @property
    def logins(self) -> int:
        return 0


def problem_item(transition: Transition, problem_name: str | None, now: datetime) -> dict[str, Any]:
    """What an event and a Zapier delivery carry about a plan's problem or recovery."""
    plan = transition.plan
    problems = transition.problems
    return {
        "event": "client_backup_recovered" if transition.kind == "recovered" else ZAPIER_EVENT,
        "repeat": transition.kind == "repeated",
        "plan_id": plan.id,
        "plan_name": plan.plan_name,
        "computer_name": plan.computer_name,
        "company_name": plan.company_name,
        "msp360_user_id": plan.msp360_user_id,
        "status": plan.status,
        "previous_status": transition.previous,
        "problem": problem_name,
        "occurrences": problems[0].occurrences if problems else None,
        "error_message": plan.error_message,
        "last_start": plan.last_start.isoformat() if plan.last_start else None,
        "next_start": plan.next_start.isoformat() if plan.next_start else None,
        "files_copied": plan.files_copied,
        "files_failed": plan.files_failed,
        "data_copied_bytes": plan.data_copied_bytes,
        "total_data_bytes": plan.total_data_bytes,
        "storage_type": plan.storage_type,
        "client_id": plan.client_id,
        "infrastructure_id": plan.infrastructure_id,
        "observed_at": now.isoformat(),
    }


def _record(
    session: Session, transition: Transition, now: datetime, publish: Publish | None
) -> None:
    """The integration event (and Zapier item) of a problem or recovery, in the same
    transaction as the state change: the change and its record land together or not at all."""
    if transition.kind not in ("opened", "repeated", "recovered"):
        return
    problem = transition.problems[0].problem if transition.problems else None
    item = problem_item(transition, problem, now)
    plan = transition.plan
    add_event(
        session=session,
        created_by="msp360-sync",
        data={
            "integration_type": "msp_backups",
            "direction": "inbound",
            "action": "updated",
            "external_id": f"{plan.msp360_user_id}/{plan.computer_name}/{plan.plan_name}"[:255],
            "request_data": item,
        },
    )
    if publish is not None and transition.kind in ("opened", "repeated"):
        publish(session, ZAPIER_EVENT, item)


def run_sync(
    *,
    session: Session,
    source: PlanSource,
    directory: Directory,
    follow_up: FollowUp,
    publish: Publish | None = None,
) -> SyncReport:
    """Pull, store, record, then do what each change calls for (tickets, insights)."""
    report = SyncReport()
    plans, report.rows_skipped = source.monitoring()
    report.plans_seen, report.logins = len(plans), source.logins
    session.rollback()  # nothing of this session's reads is held across the lock wait
    with sync_turn(engine_of_session(session)):
        placements = place_plans(
            session=session, plans=plans, directory=directory, errors=report.errors
        )
        now = utcnow()
        transitions = _store_states(session, plans, placements, now, publish)
    _count(report, transitions, session)
    report.vanished_with_problems = vanished_with_problems(session, now)
    report.follow_up = follow_up.run(session, transitions, now)
    report.errors = (report.errors + follow_up.errors)[:50]
    return report


def _store_states(
    session: Session,
    plans: list[MonitoredPlan],
    placements: dict[tuple[str, str], Placement],
    now: datetime,
    publish: Publish | None,
) -> list[Transition]:
    stored = stored_states(session, [plan_key(observed) for observed in plans])
    transitions: list[Transition] = []
    unchanged: list[str] = []
    for observed in plans:
        placement = placements.get(
            (fold(observed.company_name), fold(observed.computer_name)), NOWHERE
        )
        key = plan_key(observed)
        if stored.get(key) == quick_state(observed, placement):
            unchanged.append(key)
            continue
        if key not in stored and observed.status not in PROBLEM_STATUSES:
            # A plan seen for the first time in good health: nothing to lock or to tell.
            session.add(new_plan(observed, placement, now))
            stored[key] = quick_state(observed, placement)
            continue
        transition = observe(session=session, observed=observed, placement=placement, now=now)
        if transition is not None:
            _record(session, transition, now, publish)
            transitions.append(transition)
        session.commit()  # one plan at a time: each lock is held for one plan only
    session.commit()
    mark_seen(session, unchanged, now)
    return transitions


def _count(report: SyncReport, transitions: list[Transition], session: Session) -> None:
    report.changed = len(transitions)
    report.opened = sum(t.kind == "opened" for t in transitions)
    report.repeated = sum(t.kind == "repeated" for t in transitions)
    report.recovered = sum(t.kind == "recovered" for t in transitions)
    report.unmapped_companies, report.unmapped_computers = unmapped_counts(session)
