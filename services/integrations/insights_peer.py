"""The insights service as integrations asks it: which session a work item was done in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from shared.client import PeerNotFound, ServiceClient
from shared.errors import ValidationFailed


def insights_client() -> ServiceClient:
    """The insights service of the running app, called with this service's token."""
    config = current_app.config
    return ServiceClient(
        config["INSIGHTS_URL"],
        config.get("SERVICE_TOKEN"),
        name="insights",
        connect_timeout=config.get("HTTP_CONNECT_TIMEOUT", 2.0),
        read_timeout=config.get("HTTP_READ_TIMEOUT", 10.0),
    )


class WorkItemDirectory(Protocol):
    """Answers the session a work item belongs to."""

    def session_of(self, work_item_id: str) -> str: ...


@dataclass(frozen=True)
class InsightsWorkItems:
    """The insights service's `GET /v1/work-items/{id}` as a WorkItemDirectory."""

    client: ServiceClient

    def session_of(self, work_item_id: str) -> str:
        try:
            body = self.client.get(f"/v1/work-items/{work_item_id}")
        except PeerNotFound:
            raise ValidationFailed({"work_item_id": ["no such work item"]}) from None
        return str(body["session_id"])


def with_work_items_session(
    directory: WorkItemDirectory, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The data with the session of its work item; a work item of another session is 422.

    A work item belongs to one session and, through it, to one client: a record naming the
    item with some other session would tie one client's work to another's session.
    """
    placed = dict(data)
    if not placed.get("work_item_id"):
        return placed
    item_session = directory.session_of(str(placed["work_item_id"]))
    given = placed.get("session_id")
    if given and given != item_session:
        message = (
            f"work item {placed['work_item_id']} belongs to session {item_session}, "
            f"not to session {given}"
        )
        raise ValidationFailed({"work_item_id": [message]}, detail=message)
    placed["session_id"] = item_session
    return placed
