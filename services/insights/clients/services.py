"""Use cases of clients: plain functions over a session, no HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Client
from shared.pagination import Page, sorted_page
from shared.records import apply_changes, ensure_unique, get_or_404

SORTABLE = {"name": Client.name, "created_at": Client.created_at}


def get_client(*, session: Session, client_id: str) -> Client:
    """The client, or NotFound."""
    return get_or_404(session, Client, client_id, "client")


def list_clients(
    *,
    session: Session,
    name: str | None = None,
    is_active: bool | None = None,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Client]:
    """Clients filtered by name and activity, keyset-paginated in the requested order."""
    query = select(Client)
    if name:
        query = query.where(Client.name.contains(name, autoescape=True))
    if is_active is not None:
        query = query.where(Client.is_active == is_active)
    return sorted_page(
        session=session,
        query=query,
        sortable=SORTABLE,
        sort=sort,
        tiebreak=Client.id,
        cursor=cursor,
        limit=limit,
    )


def create_client(*, session: Session, data: dict[str, Any]) -> Client:
    """A new client; the name must be free."""
    ensure_unique(session, Client.name, data["name"], "a client named")
    client = Client(**data)
    session.add(client)
    session.commit()
    return client


def update_client(*, session: Session, client_id: str, data: dict[str, Any]) -> Client:
    """Change the given fields of a client."""
    client = get_client(session=session, client_id=client_id)
    if "name" in data and data["name"] != client.name:
        ensure_unique(session, Client.name, data["name"], "a client named")
    apply_changes(client, data)
    session.commit()
    return client


def delete_client(*, session: Session, client_id: str) -> None:
    """Delete a client; its hosts, insights and metrics go with it (CASCADE)."""
    session.delete(get_client(session=session, client_id=client_id))
    session.commit()
