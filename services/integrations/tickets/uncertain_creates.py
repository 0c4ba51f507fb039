"""An operator settles a ticket create of unknown outcome, so its key is not blocked for ever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.adapters import PsaError, PsaTicket, PsaTicketNotFound
from services.integrations.psa.access import PsaAccess, as_domain_error
from services.integrations.tickets.psa_tickets import reservation_key, settle_success
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import ExternalIntegration, utcnow
from shared.models.tickets import TICKET_SYSTEMS

# A reservation that never heard back (its process died mid-call) counts as uncertain after
# this long; before, the create may still be in flight and a resolve would race it.
IN_FLIGHT_GRACE = timedelta(minutes=5)
UNKNOWN_OUTCOME = "PsaOutcomeUnknown"


@dataclass(frozen=True)
class Resolution:
    """How an uncertain create was settled: the ticket it made, or none (`not_created`)."""

    idempotency_key: str
    integration_type: str
    outcome: str  # created or not_created
    ticket: PsaTicket | None = None


def resolve_uncertain(
    *,
    session: Session,
    access: PsaAccess,
    owner: str,
    key: str,
    external_id: str | None,
    integration_type: str | None = None,
) -> Resolution:
    """Settle `owner`'s uncertain create under `key`: the ticket `external_id` (read from the
    PSA, so a replay answers it) or, with None, nothing was created and the key is free again."""
    event = _uncertain_reservation(session, owner, key, integration_type)
    kind, resolver = event.integration_type, access.context.on_behalf_of
    if external_id is None:
        event.idempotency_key = None
        event.response_data = {
            **(event.response_data or {}),
            "resolved": "not_created",
            "resolved_by": resolver,
        }
        session.commit()
        return Resolution(key, kind, "not_created")
    ticket = _read_ticket(session, access, kind, external_id)
    settle_success(session, event, ticket, resolved="created", resolved_by=resolver)
    return Resolution(key, kind, "created", ticket)


def _read_ticket(session: Session, access: PsaAccess, kind: str, external_id: str) -> PsaTicket:
    adapter = access.adapter(session=session, integration_type=kind, purpose="ticket-resolve")
    try:
        return adapter.get_ticket(external_id)
    except PsaTicketNotFound:
        raise ValidationFailed({"external_id": [f"no such ticket in {kind}"]}) from None
    except PsaError as exc:
        raise as_domain_error(exc) from None


def _uncertain_reservation(
    session: Session, owner: str, key: str, integration_type: str | None
) -> ExternalIntegration:
    kinds = [integration_type] if integration_type else list(TICKET_SYSTEMS)
    found = list(
        session.scalars(
            select(ExternalIntegration).where(
                ExternalIntegration.idempotency_owner == owner,
                ExternalIntegration.idempotency_key.in_([reservation_key(k, key) for k in kinds]),
            )
        )
    )
    if not found:
        raise NotFound("ticket request with this Idempotency-Key", key)
    if len(found) > 1:
        raise ValidationFailed(
            {"integration_type": ["this key was used with several PSAs: name the one to resolve"]}
        )
    _require_uncertain(found[0])
    return found[0]


def _require_uncertain(event: ExternalIntegration) -> None:
    answer = event.response_data or {}
    if "external_id" in answer:
        raise Conflict(
            "this ticket request already has its ticket", external_id=answer["external_id"]
        )
    if answer.get("error") == UNKNOWN_OUTCOME:
        return
    if event.response_data is None and event.created_at < utcnow() - IN_FLIGHT_GRACE:
        return  # reserved, and its create never reported back
    raise Conflict("this ticket request may still be in flight; try again in a few minutes")
