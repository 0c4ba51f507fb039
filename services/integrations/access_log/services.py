"""Queries over the credential access log ("who revealed X between t1 and t2")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import CredentialAccessLog
from shared.pagination import Page, filtered, keyset_page


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
    query = filtered(
        select(CredentialAccessLog),
        {
            CredentialAccessLog.credential_id: credential_id,
            CredentialAccessLog.action: action,
            CredentialAccessLog.actor_token_id: actor_token_id,
            CredentialAccessLog.on_behalf_of: on_behalf_of,
        },
        time_column=CredentialAccessLog.created_at,
        since=since,
        until=until,
    )
    return keyset_page(
        session=session,
        query=query,
        sort=CredentialAccessLog.created_at,
        tiebreak=CredentialAccessLog.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )
