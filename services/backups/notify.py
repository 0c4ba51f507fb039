"""Telling the integrations service about backups and restores: audit events, and tickets."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from shared.client import ServiceClient
from shared.errors import DomainError

_log = logging.getLogger(__name__)


class FailureNotifier(Protocol):
    """Reports a failed backup somewhere a human will see it."""

    def backup_failed(self, *, backup: dict[str, Any]) -> dict[str, Any]: ...

    def backup_warning(self, *, backup: dict[str, Any], warning: str) -> dict[str, Any]: ...

    def restore_finished(self, *, restore: dict[str, Any]) -> dict[str, Any]: ...


class IntegrationsNotifier:
    """POST /v1/integration-events, then POST /v1/tickets when a ticketing PSA is configured.

    A failed notification is logged and returned, never raised: it must not change the
    backup's own result (which is already `failed`).
    """

    def __init__(self, client: ServiceClient, *, ticket_integration: str | None) -> None:
        self._client = client
        self._ticket_integration = ticket_integration

    def backup_failed(self, *, backup: dict[str, Any]) -> dict[str, Any]:
        """Record the event and open a ticket; returns what happened, for the log row."""
        outcome: dict[str, Any] = {"event": self._post("/v1/integration-events", _event(backup))}
        if self._ticket_integration:
            outcome["ticket"] = self._post("/v1/tickets", _ticket(backup, self._ticket_integration))
        return outcome

    def backup_warning(self, *, backup: dict[str, Any], warning: str) -> dict[str, Any]:
        """Record a suspicious but completed backup (for example far smaller than the last)."""
        body = _event(backup, event="backup_warning")
        body["request_data"]["warning"] = warning
        return {"event": self._post("/v1/integration-events", body)}

    def restore_finished(self, *, restore: dict[str, Any]) -> dict[str, Any]:
        """Record a restore's end in the audit: who asked, into which database, the outcome."""
        return {"event": self._post("/v1/integration-events", _restore_event(restore))}

    def _post(self, path: str, body: dict[str, Any]) -> str:
        key = f"backup-failed-{body.pop('_key')}"
        try:
            self._client.post(path, json=body, idempotency_key=key)
        except (DomainError, OSError) as exc:
            _log.warning("could not notify integrations at %s: %s", path, type(exc).__name__)
            return f"failed: {type(exc).__name__}"
        return "sent"


def _event(backup: dict[str, Any], *, event: str = "backup_failed") -> dict[str, Any]:
    return {
        "_key": f"{event}-{backup['id']}",
        "integration_type": "msp_backups",
        "direction": "outbound",
        "action": "created",
        "external_id": backup["id"],
        "request_data": {
            "event": event,
            "backup_type": backup.get("backup_type"),
            "database": backup.get("database_name"),
            "storage": backup.get("storage"),
            "error": (backup.get("error_message") or "")[:500],
        },
    }


def _restore_event(restore: dict[str, Any]) -> dict[str, Any]:
    event = f"restore_{restore['status']}"
    return {
        "_key": f"{event}-{restore['id']}",
        "integration_type": "msp_backups",
        "direction": "outbound",
        "action": "created",
        "external_id": restore["id"],
        "request_data": {
            "event": event,
            "backup_id": restore["backup_id"],
            "target_database": restore["target_database"],
            "replace": restore["replace"],
            "requested_by": restore["requested_by"],
            "error": (restore.get("error_message") or "")[:500],
        },
    }


def _ticket(backup: dict[str, Any], integration: str) -> dict[str, Any]:
    return {
        "_key": f"ticket-{backup['id']}",
        "integration_type": integration,
        "title": f"Backup failed: {backup.get('database_name')} ({backup.get('backup_type')})",
        "description": (
            f"Backup {backup['id']} failed.\n\n{(backup.get('error_message') or '')[:2000]}"
        ),
    }
