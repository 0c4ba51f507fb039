"""Use cases of the work log: technicians' sessions and the work items done in them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.insights.tags.services import attach_tag, detach_tag
from shared.errors import ValidationFailed
from shared.models import Client, FailureOccurrence, Infrastructure, Tag, WorkItem, WorkSession
from shared.pagination import Page, filtered, sorted_page
from shared.records import apply_changes, get_or_404
from shared.tenancy import Owned, require_same_client

SESSION_SORTS = {
    "started_at": WorkSession.started_at,
    "created_at": WorkSession.created_at,
    "title": WorkSession.title,
}
SESSION_FILTERS = ("client_id", "status", "technician")
ITEM_FILTERS = ("session_id", "category", "status", "priority")
ITEM_SORTS = {
    "created_at": WorkItem.created_at,
    "updated_at": WorkItem.updated_at,
    "title": WorkItem.title,
}


def get_session(*, session: Session, session_id: str) -> WorkSession:
    """The work session, or NotFound."""
    return get_or_404(session, WorkSession, session_id, "session")


def list_sessions(
    *,
    session: Session,
    sort: str = "-started_at",
    cursor: str | None = None,
    limit: int = 50,
    started_after: Any = None,
    started_before: Any = None,
    **filters: Any,
) -> Page[WorkSession]:
    """Sessions filtered by client, status, technician and start time, keyset-paginated."""
    query = filtered(
        select(WorkSession),
        {getattr(WorkSession, name): filters.get(name) for name in SESSION_FILTERS},
        time_column=WorkSession.started_at,
        since=started_after,
        until=started_before,
    )
    return sorted_page(
        session=session,
        query=query,
        sortable=SESSION_SORTS,
        sort=sort,
        tiebreak=WorkSession.id,
        cursor=cursor,
        limit=limit,
    )


def create_session(*, session: Session, data: dict[str, Any]) -> WorkSession:
    """Open a work session (for a client, if given)."""
    if data.get("client_id"):
        get_or_404(session, Client, data["client_id"], "client")
    if data.get("started_at") is None:
        data.pop("started_at", None)
    work = WorkSession(**data)
    _check_times(work.started_at, work.ended_at)
    session.add(work)
    session.commit()
    return work


def update_session(*, session: Session, session_id: str, data: dict[str, Any]) -> WorkSession:
    """Change a session (end it, summarise it, mark it billable)."""
    work = get_session(session=session, session_id=session_id)
    if data.get("client_id"):
        get_or_404(session, Client, data["client_id"], "client")
        _keep_failures_with_their_client(session, work.id, data["client_id"])
    apply_changes(work, data)
    _check_times(work.started_at, work.ended_at)
    session.commit()
    return work


def delete_session(*, session: Session, session_id: str) -> None:
    """Delete a session and its work items (CASCADE); failures keep their rows."""
    session.delete(get_session(session=session, session_id=session_id))
    session.commit()


def get_work_item(*, session: Session, item_id: str) -> WorkItem:
    """The work item, or NotFound."""
    return get_or_404(session, WorkItem, item_id, "work item")


def list_work_items(
    *,
    session: Session,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
    tag: str | None = None,
    **filters: Any,
) -> Page[WorkItem]:
    """Work items filtered by session, category, status, priority and tag, keyset-paginated."""
    query = filtered(
        select(WorkItem).options(selectinload(WorkItem.tags)),  # tags in one query, not N
        {getattr(WorkItem, name): filters.get(name) for name in ITEM_FILTERS},
    )
    if tag:
        query = query.where(WorkItem.tags.any(Tag.name == tag))
    return sorted_page(
        session=session,
        query=query,
        sortable=ITEM_SORTS,
        sort=sort,
        tiebreak=WorkItem.id,
        cursor=cursor,
        limit=limit,
    )


def create_work_item(*, session: Session, data: dict[str, Any]) -> WorkItem:
    """Record a piece of work in an existing session."""
    get_session(session=session, session_id=data["session_id"])
    item = WorkItem(**data)
    session.add(item)
    session.commit()
    return item


def update_work_item(*, session: Session, item_id: str, data: dict[str, Any]) -> WorkItem:
    """Change the given fields of a work item."""
    item = get_work_item(session=session, item_id=item_id)
    apply_changes(item, data)
    session.commit()
    return item


def delete_work_item(*, session: Session, item_id: str) -> None:
    """Delete a work item; its tag links go with it."""
    session.delete(get_work_item(session=session, item_id=item_id))
    session.commit()


def tag_work_item(*, session: Session, item_id: str, tag_id: str) -> WorkItem:
    """Attach a tag to a work item (idempotent)."""
    item = get_work_item(session=session, item_id=item_id)
    attach_tag(session, item, tag_id)
    return item


def untag_work_item(*, session: Session, item_id: str, tag_id: str) -> None:
    """Detach a tag from a work item (idempotent)."""
    detach_tag(session, get_work_item(session=session, item_id=item_id), tag_id)


def _keep_failures_with_their_client(session: Session, session_id: str, client_id: str) -> None:
    """A session holding failures on one client's hosts cannot be handed to another client."""
    foreign = session.execute(
        select(Infrastructure.id, Infrastructure.client_id)
        .join(FailureOccurrence, FailureOccurrence.infrastructure_id == Infrastructure.id)
        .where(FailureOccurrence.session_id == session_id, Infrastructure.client_id != client_id)
        .limit(1)
    ).first()
    if foreign is not None:
        work, host = Owned("session", session_id, client_id), Owned("host", *foreign)
        require_same_client("client_id", work, host)


def _check_times(started: Any, ended: Any) -> None:
    if started is not None and ended is not None and ended < started:
        raise ValidationFailed({"ended_at": ["must not be before started_at"]})
