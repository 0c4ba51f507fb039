"""Use cases of clients: plain functions over a session, no HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.models import Client
from shared.pagination import Page, keyset_page

SORTABLE = {"name": Client.name, "created_at": Client.created_at}


def get_client(*, session: Session, client_id: str) -> Client:
    """The client, or NotFound."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client", client_id)
    return client


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
    column = SORTABLE[sort.lstrip("-")]
    return keyset_page(
        session=session,
        query=query,
        sort=column,
        tiebreak=Client.id,
        descending=sort.startswith("-"),
        cursor=cursor,
        limit=limit,
    )


def create_client(*, session: Session, data: dict[str, Any]) -> Client:
    """A new client; the name must be free."""
    _ensure_name_free(session, data["name"])
    client = Client(**data)
    session.add(client)
    session.commit()
    return client


def update_client(*, session: Session, client_id: str, data: dict[str, Any]) -> Client:
    """Change the given fields of a client."""
    client = get_client(session=session, client_id=client_id)
    if "name" in data and data["name"] != client.name:
        _ensure_name_free(session, data["name"])
    for field, value in data.items():
        setattr(client, field, value)
    session.commit()
    return client


def delete_client(*, session: Session, client_id: str) -> None:
    """Delete a client; its hosts, insights and metrics go with it (CASCADE)."""
    session.delete(get_client(session=session, client_id=client_id))
    session.commit()


def _ensure_name_free(session: Session, name: str) -> None:
    existing = session.scalar(select(Client.id).where(Client.name == name))
    if existing:
        raise Conflict(f"a client named {name!r} already exists", existing_id=existing)
