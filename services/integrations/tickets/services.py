"""Ticket-link use cases: link a session to a PSA ticket, list, refresh; tickets and notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.adapters import (
    PsaAdapter,
    PsaError,
    PsaTicket,
    PsaTicketNotFound,
)
from services.integrations.events.services import add_event
from services.integrations.psa.access import PsaAccess, as_domain_error
from services.integrations.tickets.session_directory import SessionDirectory
from services.integrations.zapier.publish import publish_ticket_link
from shared.errors import Conflict, DomainError, NotFound
from shared.models import TicketLink, utcnow
from shared.pagination import Page, filtered, keyset_page
from shared.tenancy import Owned, require_same_client

GONE_STATUS = "Deleted"


def _duplicate(session_id: str, integration_type: str, ticket_id: str) -> Conflict:
    return Conflict(
        "this session is already linked to that ticket",
        session_id=session_id,
        integration_type=integration_type,
        ticket_id=ticket_id,
    )


def _existing_link(
    session: Session, session_id: str, integration_type: str, ticket_id: str
) -> TicketLink | None:
    return session.scalars(
        select(TicketLink).where(
            TicketLink.session_id == session_id,
            TicketLink.integration_type == integration_type,
            TicketLink.ticket_id == ticket_id,
        )
    ).first()


def _fetch(adapter: PsaAdapter, data: Mapping[str, Any]) -> PsaTicket:
    field = "ticket_id" if data.get("ticket_id") else "ticket_number"
    try:
        if data.get("ticket_id"):
            return adapter.get_ticket(str(data["ticket_id"]))
        return adapter.find_ticket_by_number(str(data["ticket_number"]))
    except PsaError as exc:
        raise as_domain_error(exc, ticket_field=field) from None


def apply_ticket(link: TicketLink, ticket: PsaTicket) -> None:
    """Copy the PSA's current view of the ticket onto a link."""
    link.ticket_id = ticket.external_id
    link.ticket_number = ticket.number[:100] or None
    link.ticket_subject = ticket.title[:500]
    link.ticket_url = ticket.web_url[:1000]
    link.ticket_status = ticket.status[:100]
    link.last_synced_at = utcnow()


def create_link(
    *, session: Session, access: PsaAccess, sessions: SessionDirectory, data: Mapping[str, Any]
) -> TicketLink:
    """Link a session to a ticket fetched from its PSA; the session's client comes from insights."""
    session_id, kind = str(data["session_id"]), str(data["integration_type"])
    if data.get("ticket_id") and _existing_link(session, session_id, kind, str(data["ticket_id"])):
        raise _duplicate(session_id, kind, str(data["ticket_id"]))
    client_id = sessions.client_of(session_id)
    adapter = access.adapter(
        session=session, integration_type=kind, purpose="ticket-link", session_id=session_id
    )
    ticket = _fetch(adapter, data)
    _one_client_per_ticket(session, Owned("session", session_id, client_id), kind, ticket)
    link = TicketLink(
        session_id=session_id,
        client_id=client_id,
        integration_type=kind,
        link_type=data.get("link_type") or "related",
        linked_at=utcnow(),
    )
    apply_ticket(link, ticket)
    session.add(link)
    _add_linked_event(session, link, access)
    publish_ticket_link(session, link)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _duplicate(session_id, kind, ticket.external_id) from None
    return link


def _one_client_per_ticket(
    session: Session, work: Owned, integration_type: str, ticket: PsaTicket
) -> None:
    """A PSA ticket is one customer's: its links may not tie it to sessions of two clients."""
    if work.client_id is None:  # an unassigned session takes no side
        return
    other_client = session.scalar(
        select(TicketLink.client_id)
        .where(
            TicketLink.integration_type == integration_type,
            TicketLink.ticket_id == ticket.external_id,
            TicketLink.client_id.is_not(None),
            TicketLink.client_id != work.client_id,
        )
        .limit(1)
    )
    if other_client is not None:
        linked = Owned(f"{integration_type} ticket", ticket.external_id, other_client)
        require_same_client("session_id", work, linked)


def _add_linked_event(session: Session, link: TicketLink, access: PsaAccess) -> None:
    # Through add_event like every other event: the ticket URL is redacted too.
    add_event(
        session=session,
        created_by=access.context.on_behalf_of,
        data={
            "session_id": link.session_id,
            "integration_type": link.integration_type,
            "direction": "outbound",
            "action": "linked",
            "external_id": link.ticket_id,
            "external_url": link.ticket_url,
            "request_data": {"link_type": link.link_type, "ticket_number": link.ticket_number},
        },
    )


def get_link(*, session: Session, link_id: str) -> TicketLink:
    """One ticket link; 404 when unknown."""
    link = session.get(TicketLink, link_id)
    if link is None:
        raise NotFound("ticket link", link_id)
    return link


def list_links(
    *,
    session: Session,
    session_id: str | None = None,
    client_id: str | None = None,
    integration_type: str | None = None,
    ticket_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[TicketLink]:
    """Links newest first, filtered by session, client, PSA and ticket."""
    query = filtered(
        select(TicketLink),
        {
            TicketLink.session_id: session_id,
            TicketLink.client_id: client_id,
            TicketLink.integration_type: integration_type,
            TicketLink.ticket_id: ticket_id,
        },
    )
    return keyset_page(
        session=session,
        query=query,
        sort=TicketLink.linked_at,
        tiebreak=TicketLink.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )


def refresh_link(*, session: Session, access: PsaAccess, link_id: str) -> TicketLink:
    """Re-read the linked ticket from its PSA and store its current number, subject and status."""
    link = get_link(session=session, link_id=link_id)
    adapter = access.adapter(
        session=session,
        integration_type=link.integration_type,
        purpose="ticket-refresh",
        session_id=link.session_id,
    )
    try:
        apply_ticket(link, adapter.get_ticket(link.ticket_id))
    except PsaTicketNotFound:
        link.ticket_status, link.last_synced_at = GONE_STATUS, utcnow()
    except PsaError as exc:
        raise as_domain_error(exc) from None
    session.commit()
    return link


@dataclass(frozen=True)
class RefreshOutcome:
    """What happened to one link in a batch refresh."""

    link_id: str
    outcome: str  # refreshed, gone, failed
    ticket_status: str | None = None
    error: str | None = None


def refresh_links(
    *, session: Session, access: PsaAccess, link_ids: Sequence[str]
) -> list[RefreshOutcome]:
    """Refresh many links, one PSA read per distinct ticket; one failure does not stop the rest."""
    links = list(session.scalars(select(TicketLink).where(TicketLink.id.in_(list(link_ids)))))
    missing = set(link_ids) - {link.id for link in links}
    if missing:
        raise NotFound("ticket link", sorted(missing)[0])
    # Every adapter is opened before any link changes: opening one may commit (the reveal's
    # audit row) or roll back (an OAuth refresh), which must not touch updates already made.
    adapters = _open_adapters(session, access, {link.integration_type for link in links})
    results = [_refresh_one(adapters, link) for link in links]
    session.commit()
    return results


def _open_adapters(
    session: Session, access: PsaAccess, kinds: set[str]
) -> dict[str, PsaAdapter | PsaError | DomainError]:
    opened: dict[str, PsaAdapter | PsaError | DomainError] = {}
    for kind in sorted(kinds):
        try:
            opened[kind] = access.adapter(
                session=session, integration_type=kind, purpose="ticket-refresh"
            )
        except (PsaError, DomainError) as exc:
            opened[kind] = exc
    return opened


def _refresh_one(
    adapters: dict[str, PsaAdapter | PsaError | DomainError], link: TicketLink
) -> RefreshOutcome:
    adapter = adapters[link.integration_type]
    if isinstance(adapter, PsaError | DomainError):
        return RefreshOutcome(link.id, "failed", link.ticket_status, adapter.detail)
    try:
        apply_ticket(link, adapter.get_ticket(link.ticket_id))
    except PsaTicketNotFound:
        link.ticket_status, link.last_synced_at = GONE_STATUS, utcnow()
        return RefreshOutcome(link.id, "gone", link.ticket_status)
    except (PsaError, DomainError) as exc:
        return RefreshOutcome(link.id, "failed", link.ticket_status, exc.detail)
    return RefreshOutcome(link.id, "refreshed", link.ticket_status)


def sync_ticket_everywhere(
    *,
    session: Session,
    access: PsaAccess,
    integration_type: str,
    ticket_id: str,
    deleted: bool = False,
) -> int:
    """Bring every link to one ticket up to date (webhooks); no PSA call when nothing links it."""
    links = list(
        session.scalars(
            select(TicketLink).where(
                TicketLink.integration_type == integration_type, TicketLink.ticket_id == ticket_id
            )
        )
    )
    if not links:
        return 0
    ticket: PsaTicket | None = None
    if not deleted:
        adapter = access.adapter(
            session=session, integration_type=integration_type, purpose="webhook-sync"
        )
        try:
            ticket = adapter.get_ticket(ticket_id)
        except PsaTicketNotFound:
            ticket = None
    for link in links:
        if ticket is None:
            link.ticket_status, link.last_synced_at = GONE_STATUS, utcnow()
        else:
            apply_ticket(link, ticket)
    session.commit()
    return len(links)
