"""Queries over the credential access log ("who revealed X between t1 and t2")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.keyset import newest_first_page
from shared.models import CredentialAccessLog
from shared.pagination import Page


def list_access(
    *,
    session: Session,
    credential_id: str | None = None,
    action: str | None = None,
    actor_token_id: str | None = None,
    on_behalf_of: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CredentialAccessLog]:
    """Audit rows newest first, filtered by credential, action, actor and [since, until)."""
    query = select(CredentialAccessLog)
    filters = {
        CredentialAccessLog.credential_id: credential_id,
        CredentialAccessLog.action: action,
        CredentialAccessLog.actor_token_id: actor_token_id,
        CredentialAccessLog.on_behalf_of: on_behalf_of,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(CredentialAccessLog.created_at >= since)
    if until is not None:
        query = query.where(CredentialAccessLog.created_at < until)
    return newest_first_page(
        session=session,
        query=query,
        created=CredentialAccessLog.created_at,
        tiebreak=CredentialAccessLog.id,
        cursor=cursor,
        limit=limit,
    )
