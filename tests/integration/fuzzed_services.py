"""The three services as the whole-service fuzz tests build them, and what counts as an honest 5xx."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations

SERVICE_FACTORIES: dict[str, Callable[..., Flask]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
SERVICES = sorted(SERVICE_FACTORIES)
# Peers are not running in these tests: a documented "peer unavailable" 503/504 is the right answer.
PEER_PROBLEMS = ("/peer-unavailable", "/peer-timeout")


def build_service(service: str, database_url: str, **settings: str) -> Flask:
    """One service's app on the fuzz database; fuzzed backups run for real, but their failure
    notices would go to a peer that may not be there."""
    config = {"DATABASE_URL": database_url, "LOG_LEVEL": "ERROR", "BACKUP_NOTIFY_FAILURES": "false"}
    return SERVICE_FACTORIES[service]({**config, **settings})


def is_peer_outage(status: int, headers: Mapping[str, str], body: Any) -> bool:
    """A 503/504 problem saying a peer service is down, with Retry-After: honest, not a bug."""
    kind = str(body.get("type", "")) if isinstance(body, dict) else ""
    retry_after = {name.lower(): value for name, value in headers.items()}.get("retry-after")
    return status in (503, 504) and kind.endswith(PEER_PROBLEMS) and bool(retry_after)
