"""Telling the integrations service about backups and restores: audit events, and tickets."""

from __future__ import annotations

import logging
from typing import Any

from shared.client import PeerError, ServiceClient
from shared.errors import DomainError

_log = logging.getLogger(__name__)

# What integrations refuses for the request itself: the same request can never succeed.
# Everything else (unreachable, 5xx, 401/403 a new token fixes, 409 "still in flight", 429)
# is worth another try later.
REFUSED_FOR_GOOD = frozenset({400, 404, 405, 410, 413, 415, 422})


class NoticeNotTaken(Exception):
    """Integrations did not take one request of a notice; `for_good` when retrying is futile."""

    def __init__(self, reason: str, *, for_good: bool) -> None:
        super().__init__(reason)
        self.for_good = for_good


class IntegrationsNotifier:
    """POST /v1/integration-events, then POST /v1/tickets when a ticketing PSA is configured.

    The requests of a notice are built once (`failure_requests`, `warning_requests`,
    `verified_requests`) and sent as they are, with their Idempotency-Key, as often as delivery
    needs (`send`): a retried request is the same request, so integrations records it once.
    """

    def __init__(self, client: ServiceClient, *, ticket_integration: str | None) -> None:
        self._client = client
        self._ticket_integration = ticket_integration

    def failure_requests(self, backup: dict[str, Any]) -> list[dict[str, Any]]:
        """The event, and the ticket when a ticketing PSA is configured."""
        requests = [_request("/v1/integration-events", _event(backup))]
        if self._ticket_integration:
            requests.append(_request("/v1/tickets", _ticket(backup, self._ticket_integration)))
        return requests

    def warning_requests(self, backup: dict[str, Any], warning: str) -> list[dict[str, Any]]:
        """The event of a suspicious but completed backup (say, far smaller than the last)."""
        body = _event(backup, event="backup_warning")
        body["request_data"]["warning"] = warning[:2000]
        return [_request("/v1/integration-events", body)]

    def verified_requests(self, backup: dict[str, Any]) -> list[dict[str, Any]]:
        """The event of a backup its job verified (no ticket: nothing needs doing).

        Integrations publishes it as the Zapier event backup_verified."""
        body = _event(backup, event="backup_verified")
        del body["request_data"]["error"]
        body["request_data"]["verification"] = backup.get("verify_mode")
        body["request_data"]["size_bytes"] = backup.get("file_size_bytes")
        return [_request("/v1/integration-events", body, prefix="backup-notice")]

    def send(self, request: dict[str, Any]) -> None:
        """Send one request of a notice; NoticeNotTaken says why it did not land."""
        try:
            self._client.post(request["path"], json=request["body"], idempotency_key=request["key"])
        except PeerError as exc:
            refused = exc.peer_status in REFUSED_FOR_GOOD
            reason = f"integrations answered {exc.peer_status}"
            raise NoticeNotTaken(reason, for_good=refused) from None
        except (DomainError, OSError) as exc:
            raise NoticeNotTaken(type(exc).__name__, for_good=False) from None

    def backup_failed(self, *, backup: dict[str, Any]) -> dict[str, Any]:
        """Send the failure notice once, now; returns what happened to each part."""
        return self._send_all(self.failure_requests(backup))

    def backup_warning(self, *, backup: dict[str, Any], warning: str) -> dict[str, Any]:
        """Send the warning notice once, now."""
        return self._send_all(self.warning_requests(backup, warning))

    def restore_finished(self, *, restore: dict[str, Any]) -> dict[str, Any]:
        """Record a restore's end in the audit: who asked, into which database, the outcome."""
        return self._send_all([_request("/v1/integration-events", _restore_event(restore))])

    def _send_all(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        outcome: dict[str, Any] = {}
        for request in requests:
            part = "ticket" if request["path"] == "/v1/tickets" else "event"
            try:
                self.send(request)
            except NoticeNotTaken as exc:
                _log.warning("could not notify integrations at %s: %s", request["path"], exc)
                outcome[part] = f"failed: {exc}"
                continue
            outcome[part] = "sent"
        return outcome


def _request(path: str, body: dict[str, Any], *, prefix: str = "backup-failed") -> dict[str, Any]:
    # The failure and warning keys keep their first prefix: integrations already holds them.
    return {"path": path, "key": f"{prefix}-{body.pop('_key')}", "body": body}


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
