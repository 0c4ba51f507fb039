"""After the states are stored: tickets opened, noted and closed, problems reported on their
hosts. Every piece of work is claimed with a conditional UPDATE first, so of two syncs running
at once exactly one makes each PSA or insights call; what failed is retried by a later sync."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from services.integrations.msp360.host_reports import Reporter, report_occurrence
from services.integrations.msp360.mappings import company_mapping
from services.integrations.msp360.plans import Transition
from services.integrations.msp360.tickets import TicketDesk, describe
from shared.errors import DomainError
from shared.models.msp360 import Msp360Plan, Msp360Problem

# A ticket create claimed by a sync that died before finishing is taken over after this.
STALE_CLAIM = timedelta(minutes=10)
RETRY_BATCH = 50


@dataclass
class FollowUp:
    """Does the PSA and insights work the sync's transitions (and earlier failures) call for."""

    desk: TicketDesk
    reporter: Reporter
    done: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Problems this sync already worked on: its retry pass leaves them to the next sync.
    handled: set[str] = field(default_factory=set)

    def run(self, session: Session, transitions: list[Transition], now: datetime) -> dict[str, int]:
        """Handle this sync's transitions, then retry what earlier syncs left undone."""
        for transition in transitions:
            for problem in transition.problems:
                self.handled.add(problem.id)
                self._follow(session, transition.kind, transition.plan, problem, now)
        self._retry(session, now)
        return dict(self.done)

    def _follow(
        self, session: Session, kind: str, plan: Msp360Plan, problem: Msp360Problem, now: datetime
    ) -> None:
        if kind == "opened":
            self._open_ticket(session, plan, problem, claimed=True)
        elif kind == "repeated":
            self._note_repeat(session, plan, problem)
        if kind in ("opened", "repeated"):
            self._report(session, plan, problem, now)
        if kind == "recovered":
            if problem.insight_id:  # once, with the recovery (a retried close does not repeat it)
                self._resolve(problem.insight_id, plan, now)
            self._close(session, plan, problem, now)

    def _claim(self, session: Session, problem_id: str, *conditions: Any, **values: Any) -> bool:
        result = session.execute(
            update(Msp360Problem)
            .where(Msp360Problem.id == problem_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        claimed = cast(CursorResult[Any], result).rowcount
        session.commit()
        return bool(claimed)

    def _save(self, session: Session, problem_id: str, **values: Any) -> None:
        session.execute(
            update(Msp360Problem)
            .where(Msp360Problem.id == problem_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        session.commit()

    def _open_ticket(
        self, session: Session, plan: Msp360Plan, problem: Msp360Problem, *, claimed: bool
    ) -> None:
        problem_id, problem_name = problem.id, problem.problem
        if not claimed and not self._claim(
            session,
            problem_id,
            Msp360Problem.state == "open",
            Msp360Problem.ticket_state == "failed",
            ticket_state="pending",
        ):
            return
        mapping = company_mapping(session, plan.company_name)
        mapped_psa, company_id = (
            (mapping.psa_type, mapping.psa_company_id) if mapping else (None, None)
        )
        psa_type = self.desk.psa_for(session, mapped_psa)
        if psa_type is None:
            self._save(session, problem_id, ticket_state="none", ticket_error="no PSA is set")
            return
        outcome = self.desk.open_ticket(
            session,
            psa_type=psa_type,
            company_id=company_id,
            plan=plan,
            problem=problem_name,
        )
        self._save(
            session,
            problem_id,
            psa_type=psa_type,
            ticket_state=outcome.state,
            ticket_id=outcome.ticket_id,
            ticket_number=outcome.number,
            ticket_url=outcome.url,
            ticket_error=outcome.error,
        )
        self.done[f"tickets_{outcome.state}"] += 1
        if outcome.error:
            self.errors.append(f"ticket for {plan.plan_name}: {outcome.error}")

    def _note_repeat(self, session: Session, plan: Msp360Plan, problem: Msp360Problem) -> None:
        if problem.ticket_state != "open" or not problem.ticket_id or not problem.psa_type:
            return
        error = self.desk.add_note(
            session,
            psa_type=problem.psa_type,
            ticket_id=problem.ticket_id,
            title=f"Backup {problem.problem} again ({problem.occurrences} times)",
            body=describe(plan),
        )
        self._outcome(session, problem.id, "notes_added", error)

    def _close(
        self, session: Session, plan: Msp360Plan, problem: Msp360Problem, now: datetime
    ) -> None:
        if not self._claim(
            session, problem.id, Msp360Problem.close_pending.is_(True), close_pending=False
        ):
            return
        psa_type, ticket_id = problem.psa_type or "", problem.ticket_id or ""
        error = self.desk.add_note(
            session,
            psa_type=psa_type,
            ticket_id=ticket_id,
            title="Backup succeeded again",
            body=f"The plan succeeded again (seen {now:%Y-%m-%d %H:%M} UTC).\n\n{describe(plan)}",
        ) or self.desk.close(session, psa_type=psa_type, ticket_id=ticket_id)
        if error:
            self._save(session, problem.id, close_pending=True, ticket_error=error)
            self.errors.append(f"closing the ticket of {plan.plan_name}: {error}")
            return
        self.done["tickets_closed"] += 1

    def _resolve(self, insight_id: str, plan: Msp360Plan, now: datetime) -> None:
        try:
            self.reporter.resolve_insight(
                insight_id,
                f"MSP360 backup plan {plan.plan_name!r} succeeded again "
                f"at {now:%Y-%m-%d %H:%M} UTC",
            )
        except DomainError as exc:
            self.errors.append(f"resolving the insight of {plan.plan_name}: {exc.detail}")
            return
        self.done["insights_resolved"] += 1

    def _outcome(self, session: Session, problem_id: str, counter: str, error: str | None) -> None:
        if error:
            self._save(session, problem_id, ticket_error=error)
            self.errors.append(error)
        else:
            self.done[counter] += 1

    def _report(
        self, session: Session, plan: Msp360Plan, problem: Msp360Problem, now: datetime
    ) -> None:
        if not (plan.client_id and plan.infrastructure_id):
            return  # not on a known host: the operator maps it (GET /v1/msp360/unmapped)
        reported = problem.reported_occurrences
        if reported >= problem.occurrences or not self._claim(
            session,
            problem.id,
            Msp360Problem.reported_occurrences == reported,
            reported_occurrences=reported + 1,
        ):
            return
        try:
            result = report_occurrence(self.reporter, plan, problem, now)
        except DomainError as exc:
            self._save(
                session,
                problem.id,
                reported_occurrences=reported,
                report_error=str(exc.detail)[:500],
            )
            self.errors.append(f"reporting {plan.plan_name} to insights: {exc.detail}")
            return
        self._save(session, problem.id, insight_id=result.insight_id, report_error=None)
        problem.insight_id = result.insight_id
        self.done["failures_reported"] += 1

    def _retry(self, session: Session, now: datetime) -> None:
        """Work an earlier sync could not finish: failed or abandoned creates, closes, reports."""
        stale = now - STALE_CLAIM
        rows = session.execute(
            select(Msp360Problem, Msp360Plan)
            .join(Msp360Plan, Msp360Plan.id == Msp360Problem.plan_id)
            .where(
                ((Msp360Problem.state == "open") & (Msp360Problem.ticket_state == "failed"))
                | (
                    (Msp360Problem.state == "open")
                    & (Msp360Problem.ticket_state == "pending")
                    & (Msp360Problem.updated_at < stale)
                )
                | Msp360Problem.close_pending.is_(True)
                | (
                    (Msp360Problem.state == "open")
                    & (Msp360Problem.reported_occurrences < Msp360Problem.occurrences)
                    & Msp360Plan.infrastructure_id.is_not(None)
                )
            )
            .order_by(Msp360Problem.updated_at)
            .limit(RETRY_BATCH)
        ).all()
        session.commit()
        for problem, plan in rows:
            if problem.id not in self.handled:
                self._retry_one(session, problem, plan, now, stale)

    def _retry_one(
        self,
        session: Session,
        problem: Msp360Problem,
        plan: Msp360Plan,
        now: datetime,
        stale: datetime,
    ) -> None:
        abandoned = problem.state == "open" and problem.ticket_state == "pending"
        if abandoned and self._claim(
            session,
            problem.id,
            Msp360Problem.ticket_state == "pending",
            Msp360Problem.updated_at < stale,
            ticket_state="failed",
        ):
            problem.ticket_state = "failed"
        if problem.state == "open" and problem.ticket_state == "failed":
            self._open_ticket(session, plan, problem, claimed=False)
        if problem.close_pending:
            self._close(session, plan, problem, now)
        if problem.state == "open":
            self._report(session, plan, problem, now)
