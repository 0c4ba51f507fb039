"""The PSA ticket of a backup problem: opened once, noted on repeats, noted and closed when
the plan succeeds again. Each PSA call happens outside any transaction; its outcome is then
written on the problem row, so a failed call is retried by a later sync, and a create whose
outcome is unknown is never retried blindly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.adapters import (
    PsaAdapter,
    PsaError,
    PsaOutcomeUnknown,
    TicketDraft,
    TicketNote,
)
from services.integrations.msp360.settings import AUTO, NO_TICKETS
from services.integrations.psa.access import PsaAccess
from shared.errors import DomainError
from shared.models import IntegrationCredential
from shared.models.msp360 import Msp360Plan
from shared.models.tickets import TICKET_SYSTEMS
from shared.redaction import redact_text


@dataclass(frozen=True)
class TicketOutcome:
    """What a PSA call did: the new ticket state, the ticket, or why it failed."""

    state: str
    ticket_id: str | None = None
    number: str | None = None
    url: str | None = None
    error: str | None = None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def describe(plan: Msp360Plan) -> str:
    """The plan's state as ticket text (what a technician needs to start)."""
    lines = [
        f"MSP360 backup plan: {plan.plan_name}",
        f"Computer: {plan.computer_name}",
        f"Company: {plan.company_name}",
        f"Status: {plan.status}",
        f"Last start: {_when(plan.last_start)}",
        f"Next start: {_when(plan.next_start)}",
        f"Files copied / failed: {plan.files_copied} / {plan.files_failed}",
        f"Data copied (bytes): {plan.data_copied_bytes}",
        f"Storage: {plan.storage_type or 'unknown'}",
    ]
    if plan.error_message:
        lines.append(f"Error: {redact_text(plan.error_message)}")
    return "\n".join(lines)


def ticket_title(plan: Msp360Plan, problem: str) -> str:
    """`Backup Error: Daily files on SRV01 (Acme)`, at most 200 characters."""
    return f"Backup {problem}: {plan.plan_name} on {plan.computer_name} ({plan.company_name})"[:200]


@dataclass(frozen=True)
class TicketDesk:
    """Opens, notes and closes backup-problem tickets in the client's PSA."""

    access: PsaAccess
    psa_setting: str = AUTO
    default_companies: Mapping[str, str] | None = None
    closed_statuses: Mapping[str, str] | None = None

    def psa_for(self, session: Session, psa_type: str | None) -> str | None:
        """The PSA of a plan's tickets: its company mapping's, the setting's, or the one PSA
        with an active credential; None when tickets are off or no PSA can be chosen."""
        if psa_type:
            return psa_type
        if self.psa_setting == NO_TICKETS:
            return None
        if self.psa_setting != AUTO:
            return self.psa_setting
        active = set(
            session.scalars(
                select(IntegrationCredential.integration_type).where(
                    IntegrationCredential.integration_type.in_(TICKET_SYSTEMS),
                    IntegrationCredential.is_active.is_(True),
                )
            )
        )
        session.rollback()
        return active.pop() if len(active) == 1 else None

    def _adapter(self, session: Session, psa_type: str) -> PsaAdapter:
        return self.access.adapter(
            session=session, integration_type=psa_type, purpose="msp360-backup-ticket"
        )

    def open_ticket(
        self,
        session: Session,
        *,
        psa_type: str,
        company_id: str | None,
        plan: Msp360Plan,
        problem: str,
    ) -> TicketOutcome:
        """Create the ticket; a definite failure can be retried, an unknown outcome not."""
        company = company_id or (self.default_companies or {}).get(psa_type)
        draft = TicketDraft(
            title=ticket_title(plan, problem), description=describe(plan), company_id=company
        )
        try:
            ticket = self._adapter(session, psa_type).create_ticket(draft)
        except PsaOutcomeUnknown as exc:
            return TicketOutcome("uncertain", error=exc.detail[:500])
        except (PsaError, DomainError) as exc:
            return TicketOutcome("failed", error=_reason(exc))
        return TicketOutcome("open", ticket.external_id, ticket.number[:100], ticket.web_url[:1000])

    def add_note(
        self, session: Session, *, psa_type: str, ticket_id: str, title: str, body: str
    ) -> str | None:
        """Add an internal note; the reason when it could not be added."""
        try:
            self._adapter(session, psa_type).add_note(
                ticket_id, TicketNote(body=body, title=title, internal=True)
            )
        except (PsaError, DomainError) as exc:
            return _reason(exc)
        return None

    def close(self, session: Session, *, psa_type: str, ticket_id: str) -> str | None:
        """Set the ticket to the PSA's closed status; the reason when that failed."""
        status = (self.closed_statuses or {}).get(psa_type)
        if not status:
            return f"no closed status is set for {psa_type}"
        try:
            self._adapter(session, psa_type).close_ticket(ticket_id, status)
        except (PsaError, DomainError) as exc:
            return _reason(exc)
        return None


def _reason(exc: PsaError | DomainError) -> str:
    return str(getattr(exc, "detail", None) or type(exc).__name__)[:500]
