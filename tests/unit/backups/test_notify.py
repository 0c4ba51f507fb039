"""Failure notices go to the integrations service; a notice that fails never raises."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from services.backups.notify import IntegrationsNotifier
from shared.client import ServiceClient

BACKUP = {
    "id": "b-1",
    "backup_type": "daily",
    "database_name": "msp",
    "storage": "local",
    "error_message": "dump: mariadb-dump exited with status 2\nGot error: 1045",
}


def test_a_failure_records_an_event_and_opens_a_ticket(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json({}, 201)
    httpserver.expect_request("/v1/tickets", method="POST").respond_with_json({}, 201)
    notifier = IntegrationsNotifier(
        ServiceClient(httpserver.url_for(""), "tok"), ticket_integration="autotask"
    )
    assert notifier.backup_failed(backup=BACKUP) == {"event": "sent", "ticket": "sent"}
    event, ticket = (req for req, _ in httpserver.log)
    assert event.get_json()["request_data"]["event"] == "backup_failed"
    assert event.headers["Idempotency-Key"] == "backup-failed-backup_failed-b-1"
    assert ticket.get_json()["integration_type"] == "autotask"
    assert "status 2" in ticket.get_json()["description"]


def test_without_a_ticketing_integration_only_the_event_is_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json({}, 201)
    notifier = IntegrationsNotifier(
        ServiceClient(httpserver.url_for(""), "tok"), ticket_integration=None
    )
    assert notifier.backup_failed(backup=BACKUP) == {"event": "sent"}


def test_an_unreachable_integrations_service_does_not_raise() -> None:
    notifier = IntegrationsNotifier(
        ServiceClient("http://127.0.0.1:9", "tok", retries=0), ticket_integration="syncro"
    )
    outcome = notifier.backup_failed(backup=BACKUP)
    assert outcome["event"].startswith("failed")
    assert outcome["ticket"].startswith("failed")


def test_the_notices_match_the_integrations_service_request_schemas(httpserver: HTTPServer) -> None:
    # A contract check against the peer's own schemas: a 422 there would lose the alert.
    from services.integrations.events.schemas import IntegrationEventCreateSchema
    from services.integrations.tickets.schemas import TicketCreateSchema

    httpserver.expect_request("/v1/integration-events", method="POST").respond_with_json({}, 201)
    httpserver.expect_request("/v1/tickets", method="POST").respond_with_json({}, 201)
    notifier = IntegrationsNotifier(
        ServiceClient(httpserver.url_for(""), "tok"), ticket_integration="connectwise"
    )
    notifier.backup_failed(backup=BACKUP)
    notifier.backup_warning(backup=BACKUP, warning="dump is 10% of the previous good backup")
    bodies = {(req.path, i): req.get_json() for i, (req, _) in enumerate(httpserver.log)}
    for (path, _), body in bodies.items():
        schema = IntegrationEventCreateSchema() if "events" in path else TicketCreateSchema()
        schema.load(body)  # raises ValidationError on any unknown or missing field
    assert len(bodies) == 3
