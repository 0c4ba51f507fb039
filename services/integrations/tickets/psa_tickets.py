"""Live PSA ticket operations on a caller's behalf: read, search, create, add a note."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.integrations.adapters import PsaError, PsaNote, PsaTicket, TicketDraft, TicketNote
from services.integrations.tickets.psa_access import PsaAccess, as_domain_error


def read_ticket(
    *, session: Session, access: PsaAccess, integration_type: str, ticket_id: str
) -> PsaTicket:
    """One ticket as the PSA has it now (by id; 404 when the PSA has no such ticket)."""
    adapter = access.adapter(
        session=session, integration_type=integration_type, purpose="ticket-read"
    )
    try:
        return adapter.get_ticket(ticket_id)
    except PsaError as exc:
        raise as_domain_error(exc) from None


def search_tickets(
    *, session: Session, access: PsaAccess, integration_type: str, text: str, limit: int
) -> list[PsaTicket]:
    """Tickets whose title/summary matches the text (Syncro: its own free-text query)."""
    adapter = access.adapter(
        session=session, integration_type=integration_type, purpose="ticket-search"
    )
    try:
        return adapter.search_tickets(text=text, limit=limit)
    except PsaError as exc:
        raise as_domain_error(exc) from None


def create_ticket(
    *,
    session: Session,
    access: PsaAccess,
    integration_type: str,
    draft: TicketDraft,
    session_id: str | None = None,
) -> PsaTicket:
    """Create a ticket in a PSA (never retried blindly; an unknown outcome is a 502 to check)."""
    adapter = access.adapter(
        session=session,
        integration_type=integration_type,
        purpose="ticket-create",
        session_id=session_id,
    )
    try:
        return adapter.create_ticket(draft)
    except PsaError as exc:
        raise as_domain_error(exc) from None


def add_note(
    *,
    session: Session,
    access: PsaAccess,
    integration_type: str,
    ticket_id: str,
    note: TicketNote,
) -> PsaNote:
    """Add a note to a PSA ticket."""
    adapter = access.adapter(
        session=session, integration_type=integration_type, purpose="ticket-note"
    )
    try:
        return adapter.add_note(ticket_id, note)
    except PsaError as exc:
        raise as_domain_error(exc) from None
