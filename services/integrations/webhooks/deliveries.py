"""Looking back at stored deliveries: list them by state, read one, re-apply the ones left over."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, not_, or_, select
from sqlalchemy.orm import Session

from services.integrations.psa.access import PsaAccess
from services.integrations.webhooks.services import process_delivery
from services.integrations.webhooks.unsigned import close_abandoned
from shared.errors import NotFound
from shared.models import WebhookDelivery
from shared.pagination import Page, filtered, keyset_page

_id = WebhookDelivery.delivery_id
_MARKED = or_(*(_id.startswith(p) for p in ("rejected:", "invalid:", "duplicate:", "pending:")))
_OPEN = and_(
    WebhookDelivery.signature_valid.is_(True), WebhookDelivery.processed_at.is_(None), not_(_MARKED)
)

STATES: dict[str, ColumnElement[bool]] = {
    "rejected": _id.startswith("rejected:"),
    "invalid": _id.startswith("invalid:"),
    "duplicate": _id.startswith("duplicate:"),
    # Being checked now, or its process died first: closed as rejected after ABANDONED_AFTER.
    "unverified": _id.startswith("pending:"),
    "failed": and_(_OPEN, WebhookDelivery.error.is_not(None)),
    "waiting": and_(_OPEN, WebhookDelivery.error.is_(None)),
    "processed": and_(WebhookDelivery.processed_at.is_not(None), not_(_MARKED)),
}


def state_of(row: WebhookDelivery) -> str:
    """The state name of one delivery (the same rules as the STATES filters)."""
    prefix = row.delivery_id.split(":", 1)[0]
    if prefix in ("rejected", "invalid", "duplicate"):
        return prefix
    if prefix == "pending":
        return "unverified"
    if row.processed_at is not None:
        return "processed"
    return "failed" if row.error else "waiting"


def list_deliveries(
    *,
    session: Session,
    integration_type: str | None = None,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[WebhookDelivery]:
    """Deliveries newest first, by vendor and state."""
    query = filtered(select(WebhookDelivery), {WebhookDelivery.integration_type: integration_type})
    if state:
        query = query.where(STATES[state])
    return keyset_page(
        session=session,
        query=query,
        sort=WebhookDelivery.received_at,
        tiebreak=WebhookDelivery.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )


def get_delivery(*, session: Session, row_id: str) -> WebhookDelivery:
    """One delivery with its raw body; 404 when unknown."""
    row = session.get(WebhookDelivery, row_id)
    if row is None:
        raise NotFound("webhook delivery", row_id)
    return row


def reprocess_open(*, session: Session, access: PsaAccess, limit: int = 50) -> dict[str, int]:
    """Apply accepted deliveries that were never applied (or failed), oldest first; close the
    ones a dead process left unverified (they cannot be checked again: only a prefix is kept)."""
    close_abandoned(session=session)
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(_OPEN)
            .order_by(WebhookDelivery.received_at)
            .limit(limit)
        )
    )
    session.rollback()  # end the read; each delivery is applied in its own transaction
    for row_id in ids:
        process_delivery(session=session, access=access, row_id=row_id)
    still_open = session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.id.in_(ids), WebhookDelivery.processed_at.is_(None)
        )
    ).all()
    return {
        "attempted": len(ids),
        "processed": len(ids) - len(still_open),
        "failed": len(still_open),
    }
