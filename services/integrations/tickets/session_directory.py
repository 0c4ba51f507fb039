"""Which client a work session belongs to, asked of the insights service over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.integrations.insights_peer import insights_client
from shared.client import PeerNotFound, ServiceClient
from shared.errors import ValidationFailed


class SessionDirectory(Protocol):
    """Answers the client_id of a session (None when the session has no client)."""

    def client_of(self, session_id: str) -> str | None: ...


@dataclass(frozen=True)
class InsightsSessions:
    """The insights service's `GET /v1/sessions/{id}` as a SessionDirectory."""

    client: ServiceClient

    def client_of(self, session_id: str) -> str | None:
        try:
            body = self.client.get(f"/v1/sessions/{session_id}")
        except PeerNotFound:
            raise ValidationFailed({"session_id": ["no such session"]}) from None
        client_id = body.get("client_id") if isinstance(body, dict) else None
        return str(client_id) if client_id else None


def insights_sessions() -> InsightsSessions:
    """The insights service of the running app, called with this service's token."""
    return InsightsSessions(insights_client())
