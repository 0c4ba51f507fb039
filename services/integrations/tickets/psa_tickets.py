"""Live PSA ticket operations on a caller's behalf: read, search, create, add a note."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.orm import Session

from services.integrations.adapters import (
    PsaError,
    PsaNote,
    PsaOutcomeUnknown,
    PsaTicket,
    TicketDraft,
    TicketNote,
)
from services.integrations.events.services import RecordedEvent, record_event
from services.integrations.psa.access import PsaAccess, as_domain_error
from shared.errors import Conflict
from shared.models import ExternalIntegration

TICKET_FIELDS = tuple(f.name for f in fields(PsaTicket))


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


@dataclass(frozen=True)
class CreatedTicket:
    """A ticket a create request produced; `replayed` when an Idempotency-Key answered it."""

    ticket: PsaTicket
    replayed: bool = False


def create_ticket(
    *,
    session: Session,
    access: PsaAccess,
    integration_type: str,
    draft: TicketDraft,
    session_id: str | None = None,
    idempotency_key: str | None = None,
) -> CreatedTicket:
    """Create a ticket in a PSA, at most once per Idempotency-Key; never retried blindly."""
    reservation = None
    if idempotency_key:
        reservation = _reserve(
            session, access, integration_type, draft, session_id, idempotency_key
        )
        if not reservation.created:
            return CreatedTicket(_replay(reservation.event), replayed=True)
    adapter = access.adapter(
        session=session,
        integration_type=integration_type,
        purpose="ticket-create",
        session_id=session_id,
    )
    try:
        ticket = adapter.create_ticket(draft)
    except PsaError as exc:
        if reservation:
            _settle_failure(session, reservation.event, exc)
        raise as_domain_error(exc) from None
    if reservation:
        settle_success(session, reservation.event, ticket)
    return CreatedTicket(ticket)


def _reserve(
    session: Session,
    access: PsaAccess,
    integration_type: str,
    draft: TicketDraft,
    session_id: str | None,
    key: str,
) -> RecordedEvent:
    request = {
        "title": draft.title,
        "description": draft.description,
        "company_id": draft.company_id,
        "fields": draft.fields,
    }
    return record_event(
        session=session,
        idempotency_key=reservation_key(integration_type, key),
        idempotency_owner=access.context.actor_token_id or "",
        created_by=access.context.on_behalf_of or "integrations",
        data={
            "integration_type": integration_type,
            "direction": "outbound",
            "action": "created",
            "session_id": session_id,
            "request_data": request,
        },
    )


def reservation_key(integration_type: str, key: str) -> str:
    """How a ticket create's Idempotency-Key is stored on its reservation event."""
    return f"psa-ticket:{integration_type}:{key}"[:255]


def _replay(event: ExternalIntegration) -> PsaTicket:
    answer = event.response_data or {}
    if "external_id" not in answer:
        raise Conflict(
            "a ticket request with this Idempotency-Key is in flight or its outcome "
            "is unknown; check the PSA, then resolve it with "
            "POST /v1/tickets/uncertain/{key}/resolve"
        )
    stored: dict[str, Any] = {name: answer.get(name) for name in TICKET_FIELDS}
    return PsaTicket(**stored)


def settle_success(
    session: Session, event: ExternalIntegration, ticket: PsaTicket, **note: str | None
) -> None:
    """Record the ticket a reservation produced: a replay of its key answers this ticket."""
    event.external_id, event.external_url = ticket.external_id, ticket.web_url[:1000]
    event.response_data = {**ticket.as_dict(), **note}
    session.commit()


def _settle_failure(session: Session, event: ExternalIntegration, exc: PsaError) -> None:
    event.response_data = {"error": type(exc).__name__, "detail": exc.detail[:500]}
    if not isinstance(exc, PsaOutcomeUnknown):
        # A definite failure created nothing: free the key so the caller may try again.
        event.idempotency_key = None
    session.commit()


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
