"""Use cases of hosts: inventory attributes that briefings and selectors read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.insights.tags.services import attach_tag, detach_tag
from shared.errors import ValidationFailed
from shared.models import Client, Infrastructure, Tag
from shared.pagination import Page, filtered, sorted_page
from shared.records import apply_changes, ensure_unique, get_or_404
from shared.tenancy import Owned, require_same_client

SORTABLE = {
    "hostname": Infrastructure.hostname,
    "created_at": Infrastructure.created_at,
    "updated_at": Infrastructure.updated_at,
}
EXACT_FILTERS = (
    "client_id",
    "os",
    "os_version",
    "shell_type",
    "asset_type",
    "status",
    "parent_host_id",
)


def get_host(*, session: Session, host_id: str) -> Infrastructure:
    """The host, or NotFound."""
    return get_or_404(session, Infrastructure, host_id, "host")


def list_hosts(
    *,
    session: Session,
    sort: str = "hostname",
    cursor: str | None = None,
    limit: int = 50,
    hostname: str | None = None,
    role: str | None = None,
    tag: str | None = None,
    **filters: Any,
) -> Page[Infrastructure]:
    """Hosts filtered by inventory attributes and tag, keyset-paginated."""
    query = filtered(
        select(Infrastructure).options(selectinload(Infrastructure.tags)),  # tags in one query
        {getattr(Infrastructure, name): filters.get(name) for name in EXACT_FILTERS},
    )
    if hostname:
        query = query.where(Infrastructure.hostname.contains(hostname, autoescape=True))
    if role:
        query = query.where(Infrastructure.role_description.contains(role, autoescape=True))
    if tag:
        query = query.where(Infrastructure.tags.any(Tag.name == tag))
    return sorted_page(
        session=session,
        query=query,
        sortable=SORTABLE,
        sort=sort,
        tiebreak=Infrastructure.id,
        cursor=cursor,
        limit=limit,
    )


def create_host(*, session: Session, data: dict[str, Any]) -> Infrastructure:
    """A new host of an existing client; hostnames are unique within a client."""
    get_or_404(session, Client, data["client_id"], "client")
    _check_parent(session, data.get("parent_host_id"), data["client_id"], None)
    ensure_unique(
        session, Infrastructure.hostname, data["hostname"], "host", client_id=data["client_id"]
    )
    host = Infrastructure(**data)
    session.add(host)
    session.commit()
    return host


def update_host(*, session: Session, host_id: str, data: dict[str, Any]) -> Infrastructure:
    """Change the given attributes of a host."""
    host = get_host(session=session, host_id=host_id)
    if "hostname" in data and data["hostname"] != host.hostname:
        ensure_unique(
            session, Infrastructure.hostname, data["hostname"], "host", client_id=host.client_id
        )
    if data.get("parent_host_id"):
        _check_parent(session, data["parent_host_id"], host.client_id, host.id)
    apply_changes(host, data)
    session.commit()
    return host


def delete_host(*, session: Session, host_id: str) -> None:
    """Delete a host; its tags and host-level insights go with it (CASCADE)."""
    session.delete(get_host(session=session, host_id=host_id))
    session.commit()


def tag_host(*, session: Session, host_id: str, tag_id: str) -> Infrastructure:
    """Attach a tag to a host (idempotent)."""
    host = get_host(session=session, host_id=host_id)
    attach_tag(session, host, tag_id)
    return host


def untag_host(*, session: Session, host_id: str, tag_id: str) -> None:
    """Detach a tag from a host (idempotent)."""
    detach_tag(session, get_host(session=session, host_id=host_id), tag_id)


def _check_parent(
    session: Session, parent_id: str | None, client_id: str, host_id: str | None
) -> None:
    if not parent_id:
        return
    parent = session.get(Infrastructure, parent_id)
    if parent is None or parent_id == host_id:
        raise ValidationFailed({"parent_host_id": ["must be another host of the same client"]})
    child = Owned("host", host_id, client_id)
    require_same_client("parent_host_id", child, Owned("host", parent_id, parent.client_id))
