"""The newest state of each plan, and what a change of state means: a problem opened, seen
again, or over. Each plan's change is decided under its row lock, so syncs running at once
(two replicas, a cron job and an operator) agree on one outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.adapters.msp360 import MonitoredPlan
from services.integrations.msp360.identity import plan_key
from services.integrations.msp360.mappings import Placement
from shared.models.msp360 import PROBLEM_STATUSES, Msp360Plan, Msp360Problem
from shared.pagination import Page, filtered, keyset_page

OBSERVED_FIELDS = (
    "user_name",
    "company_name",
    "plan_id",
    "storage_type",
    "build_version",
    "status_code",
    "error_message",
    "next_start",
    "files_copied",
    "files_failed",
    "data_copied_bytes",
    "total_data_bytes",
    "duration",
)


@dataclass
class Transition:
    """A plan whose state changed in this sync, and the problems the change touched."""

    plan: Msp360Plan
    previous: str | None
    kind: str  # opened, repeated, recovered, changed
    problems: list[Msp360Problem] = field(default_factory=list)


# What a sync compares before it takes a plan's lock: a plan whose state and placement are
# the stored ones is only marked seen (in bulk), not locked and rewritten.
QUICK_FIELDS = ("status", "last_start", "next_start", "client_id", "infrastructure_id")


def stored_states(session: Session, keys: list[str]) -> dict[str, tuple[Any, ...]]:
    """plan_key -> the QUICK_FIELDS of every stored plan among `keys` (no locks)."""
    columns = [getattr(Msp360Plan, name) for name in QUICK_FIELDS]
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(keys), 500):
        query = select(Msp360Plan.plan_key, *columns).where(
            Msp360Plan.plan_key.in_(keys[start : start + 500])
        )
        found.update({row[0]: tuple(row[1:]) for row in session.execute(query)})
    session.rollback()
    return found


def quick_state(observed: MonitoredPlan, placement: Placement) -> tuple[Any, ...]:
    """The QUICK_FIELDS of what was just observed, to compare with stored_states."""
    return (
        observed.status,
        observed.last_start,
        observed.next_start,
        placement.client_id,
        placement.infrastructure_id,
    )


def mark_seen(session: Session, keys: list[str], now: datetime) -> None:
    """last_seen_at of unchanged plans, a statement per 500 of them."""
    for start in range(0, len(keys), 500):
        session.execute(
            update(Msp360Plan)
            .where(Msp360Plan.plan_key.in_(keys[start : start + 500]))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def vanished_with_problems(session: Session, seen: datetime) -> int:
    """Plans with an open problem that the list read at `seen` no longer had: their problems
    and tickets stay open until someone closes them (MSP360 never says they recovered)."""
    count = session.scalar(
        select(func.count(func.distinct(Msp360Plan.id)))
        .join(Msp360Problem, Msp360Problem.plan_id == Msp360Plan.id)
        .where(Msp360Problem.state == "open", Msp360Plan.last_seen_at < seen)
    )
    session.rollback()
    return int(count or 0)


def open_key(plan_id: str, problem: str) -> str:
    """The unique key of a plan's open problem of one kind."""
    return f"{plan_id}:{problem}"


def observe(
    *, session: Session, observed: MonitoredPlan, placement: Placement, now: datetime
) -> Transition | None:
    """Store what the monitoring list says of one plan (the caller commits); None when its
    state (status and last start) is the one already stored."""
    row, is_new = _locked_plan(session, observed, placement, now)
    previous = None if is_new else row.status
    changed = is_new or (row.status, row.last_start) != (observed.status, observed.last_start)
    for name in OBSERVED_FIELDS:
        setattr(row, name, getattr(observed, name))
    row.client_id, row.infrastructure_id = placement.client_id, placement.infrastructure_id
    row.last_seen_at = now
    if not changed:
        return None
    row.status, row.last_start, row.status_changed_at = observed.status, observed.last_start, now
    if observed.status in PROBLEM_STATUSES:
        return _problem_seen(session, row, previous, now)
    if observed.status == "Success":
        return _recovered(session, row, previous, now)
    return Transition(row, previous, "changed")


def new_plan(observed: MonitoredPlan, placement: Placement, now: datetime) -> Msp360Plan:
    """The row of a plan seen for the first time."""
    row = Msp360Plan(
        plan_key=plan_key(observed),
        msp360_user_id=observed.user_id,
        computer_name=observed.computer_name,
        plan_name=observed.plan_name,
        status=observed.status,
        last_start=observed.last_start,
        client_id=placement.client_id,
        infrastructure_id=placement.infrastructure_id,
        status_changed_at=now,
        last_seen_at=now,
    )
    for name in OBSERVED_FIELDS:
        setattr(row, name, getattr(observed, name))
    return row


def _locked_plan(
    session: Session, observed: MonitoredPlan, placement: Placement, now: datetime
) -> tuple[Msp360Plan, bool]:
    key = plan_key(observed)
    query = select(Msp360Plan).where(Msp360Plan.plan_key == key).with_for_update()
    row = session.scalars(query).first()
    if row is not None:
        return row, False
    row = new_plan(observed, placement, now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another sync stored it first: wait for its lock, then compare
        return session.scalars(query.execution_options(populate_existing=True)).one(), False
    return row, True


def _problem_seen(
    session: Session, plan: Msp360Plan, previous: str | None, now: datetime
) -> Transition:
    key = open_key(plan.id, plan.status)
    problem = session.scalars(
        select(Msp360Problem).where(Msp360Problem.open_key == key).with_for_update()
    ).first()
    if problem is not None:
        problem.occurrences += 1
        return Transition(plan, previous, "repeated", [problem])
    problem = Msp360Problem(
        plan_id=plan.id,
        problem=plan.status,
        state="open",
        open_key=key,
        occurrences=1,
        ticket_state="pending",
        close_pending=False,
        reported_occurrences=0,
        opened_at=now,
    )
    session.add(problem)
    return Transition(plan, previous, "opened", [problem])


def _recovered(
    session: Session, plan: Msp360Plan, previous: str | None, now: datetime
) -> Transition:
    problems = list(
        session.scalars(
            select(Msp360Problem)
            .where(Msp360Problem.plan_id == plan.id, Msp360Problem.state == "open")
            .with_for_update()
        )
    )
    for problem in problems:
        problem.state, problem.open_key, problem.closed_at = "closed", None, now
        problem.close_pending = problem.ticket_state == "open"
    return Transition(plan, previous, "recovered" if problems else "changed", problems)


def list_plans(
    *,
    session: Session,
    client_id: str | None = None,
    status: str | None = None,
    company_name: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Msp360Plan]:
    """Plans by the time their state last changed, newest first."""
    query = filtered(
        select(Msp360Plan),
        {
            Msp360Plan.client_id: client_id,
            Msp360Plan.status: status,
            Msp360Plan.company_name: company_name,
        },
    )
    return keyset_page(
        session=session,
        query=query,
        sort=Msp360Plan.status_changed_at,
        tiebreak=Msp360Plan.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )


def list_plans_with_problems(**filters: Any) -> Page[Msp360Plan]:
    """list_plans, each plan carrying its open problems (`open_problems`)."""
    page = list_plans(**filters)
    problems = open_problems_of(filters["session"], [plan.id for plan in page.items])
    for plan in page.items:
        plan.open_problems = problems.get(plan.id, [])  # type: ignore[attr-defined]
    return page


def open_problems_of(session: Session, plan_ids: list[str]) -> dict[str, list[Msp360Problem]]:
    """The open problems of these plans, by plan id."""
    found: dict[str, list[Msp360Problem]] = {}
    if not plan_ids:
        return found
    rows = session.scalars(
        select(Msp360Problem).where(
            Msp360Problem.plan_id.in_(plan_ids), Msp360Problem.state == "open"
        )
    )
    for problem in rows:
        found.setdefault(problem.plan_id, []).append(problem)
    return found
