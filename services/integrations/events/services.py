"""Use cases of the integration audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import ExternalIntegration
from shared.pagination import Page, keyset_page


def list_events(
    *, session: Session, session_id: str | None = None, integration_type: str | None = None,
    external_id: str | None = None, direction: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    cursor: str | None = None, limit: int = 50,
) -> Page[ExternalIntegration]:
    """Newest first, filtered by session, system, external id, direction and time range."""
    query = select(ExternalIntegration)
    filters = {
        ExternalIntegration.session_id: session_id,
        ExternalIntegration.integration_type: integration_type,
        ExternalIntegration.external_id: external_id,
        ExternalIntegration.direction: direction,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(ExternalIntegration.created_at >= since)
    if until is not None:
        query = query.where(ExternalIntegration.created_at < until)
    return keyset_page(
        session=session, query=query, sort=ExternalIntegration.created_at,
        tiebreak=ExternalIntegration.id, descending=True, cursor=cursor, limit=limit,
    )
