"""Use cases of tags: labels for hosts and work items."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Tag
from shared.pagination import Page, sorted_page
from shared.records import apply_changes, ensure_unique, get_or_404

SORTABLE = {"name": Tag.name, "created_at": Tag.created_at}


def get_tag(*, session: Session, tag_id: str) -> Tag:
    """The tag, or NotFound."""
    return get_or_404(session, Tag, tag_id, "tag")


def list_tags(
    *,
    session: Session,
    name: str | None = None,
    category: str | None = None,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Tag]:
    """Tags filtered by name and category, keyset-paginated."""
    query = select(Tag)
    if name:
        query = query.where(Tag.name.contains(name, autoescape=True))
    if category:
        query = query.where(Tag.category == category)
    return sorted_page(
        session=session,
        query=query,
        sortable=SORTABLE,
        sort=sort,
        tiebreak=Tag.id,
        cursor=cursor,
        limit=limit,
    )


def create_tag(*, session: Session, data: dict[str, Any]) -> Tag:
    """A new tag; names are unique."""
    ensure_unique(session, Tag.name, data["name"], "a tag named")
    tag = Tag(**data)
    session.add(tag)
    session.commit()
    return tag


def update_tag(*, session: Session, tag_id: str, data: dict[str, Any]) -> Tag:
    """Rename or re-describe a tag."""
    tag = get_tag(session=session, tag_id=tag_id)
    if "name" in data and data["name"] != tag.name:
        ensure_unique(session, Tag.name, data["name"], "a tag named")
    apply_changes(tag, data)
    session.commit()
    return tag


def delete_tag(*, session: Session, tag_id: str) -> None:
    """Delete a tag; it is removed from every host and work item (CASCADE)."""
    session.delete(get_tag(session=session, tag_id=tag_id))
    session.commit()


class Tagged(Protocol):
    """A host or a work item: anything with a list of tags."""

    tags: list[Tag]


def attach_tag(session: Session, tagged: Tagged, tag_id: str) -> None:
    """Attach a tag (idempotent) and commit; an unknown tag is NotFound."""
    tag = get_or_404(session, Tag, tag_id, "tag")
    if tag not in tagged.tags:
        tagged.tags.append(tag)
    session.commit()


def detach_tag(session: Session, tagged: Tagged, tag_id: str) -> None:
    """Detach a tag (idempotent) and commit."""
    tagged.tags = [tag for tag in tagged.tags if tag.id != tag_id]
    session.commit()
