"""Every id a request body can name is known to the tenant rule: a new reference field fails
here until someone decides whether it goes through shared.tenancy.require_same_client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import marshmallow as ma
from flask import Flask

from services.backups.app import create_app as create_backups_app
from services.insights.app import create_app as create_insights_app
from services.integrations.app import create_app as create_integrations_app

SERVICES: dict[str, Callable[[dict[str, Any]], Flask]] = {
    "insights": create_insights_app,
    "integrations": create_integrations_app,
    "backups": create_backups_app,
}
CHECKED = "checked: same client (tests/integration/insights/test_tenant_boundaries.py)"
# (service, endpoint, method, field) -> why this reference is safe across the tenant boundary.
REFERENCES = {
    ("insights", "hosts.Hosts", "post", "client_id"): "the owner itself",
    ("insights", "hosts.Hosts", "post", "parent_host_id"): CHECKED,
    ("insights", "hosts.HostsById", "patch", "parent_host_id"): CHECKED,
    ("insights", "worklog.Sessions", "post", "client_id"): "the owner itself",
    ("insights", "worklog.SessionsById", "patch", "client_id"): CHECKED
    + " (not while its failures are on another client's hosts)",
    ("insights", "worklog.WorkItems", "post", "session_id"): "a work item has no client of its "
    "own: it belongs to its session's",
    ("insights", "failures.Failures", "post", "client_id"): "the owner itself",
    ("insights", "failures.Failures", "post", "infrastructure_id"): CHECKED,
    ("insights", "failures.Failures", "post", "session_id"): CHECKED + " (or unassigned)",
    ("insights", "insights.Insights", "post", "client_id"): "the owner itself",
    ("insights", "insights.Insights", "post", "infrastructure_id"): CHECKED,
    ("insights", "insights.Insights", "post", "source_pattern_id"): CHECKED,
    ("insights", "insights.Insights", "post", "examples.infrastructure_id"): CHECKED,
    ("insights", "insights.InsightExamples", "post", "infrastructure_id"): CHECKED,
    ("insights", "insights.SupersedeInsight", "post", "replacement.examples.infrastructure_id"): (
        CHECKED
    ),
    ("insights", "insights.MergeInsight", "post", "into_id"): CHECKED,
    ("insights", "checks.Check", "post", "client_id"): "the owner itself",
    ("insights", "checks.Check", "post", "infrastructure_id"): CHECKED,
    ("integrations", "credentials.Credentials", "post", "client_id"): "a PSA's OAuth client id",
    ("integrations", "credentials.Credential", "patch", "client_id"): "a PSA's OAuth client id",
    ("integrations", "vault_keys.Rewrap", "post", "target_kek_id"): "a vault key, not a row",
    ("integrations", "integration_events.IntegrationEvents", "post", "session_id"): "an event "
    "has no client; with a work item it must be the item's session (test_ticket_link_tenancy)",
    ("integrations", "integration_events.IntegrationEvents", "post", "work_item_id"): "checked: "
    "only with its own session (test_ticket_link_tenancy)",
    ("integrations", "integration_events.IntegrationEvents", "post", "external_id"): "an id in "
    "the outside system",
    ("integrations", "msp360.CompanyMappings", "put", "client_id"): "checked: the client must "
    "exist in insights, and not while a computer of the company is mapped by the operator to "
    "another client's host (tests/e2e/test_msp360_monitoring.py)",
    ("integrations", "msp360.CompanyMappings", "put", "psa_company_id"): "an id in the PSA",
    ("integrations", "msp360.ComputerMappings", "put", "infrastructure_id"): "checked: same "
    "client as the computer's company, the host's client asked of insights over HTTP "
    "(tests/e2e/test_msp360_monitoring.py)",
    ("integrations", "tickets.TicketLinks", "post", "session_id"): "checked: one PSA ticket, one "
    "client (test_ticket_link_tenancy)",
    ("integrations", "tickets.TicketLinks", "post", "ticket_id"): "an id in the PSA",
    ("integrations", "tickets.TicketLinksRefresh", "post", "ids"): "links refreshed from the PSA",
    ("integrations", "tickets.Tickets", "post", "company_id"): "an id in the PSA (no client "
    "mapping exists to check it against)",
    ("integrations", "tickets.Tickets", "post", "session_id"): "names the session in the audit "
    "rows only",
    ("integrations", "tickets.UncertainTicketResolve", "post", "external_id"): "an id in the "
    "PSA, read from it before it is stored",
    ("integrations", "tickets.UncertainTicketResolve", "post", "caller_token_id"): "whose "
    "Idempotency-Key: another token than the caller's needs admin (test_idempotency_per_caller)",
}


def _id_fields(schema: ma.Schema, prefix: str = "") -> Iterator[str]:
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        if isinstance(field, ma.fields.Nested):
            yield from _id_fields(field.schema, f"{prefix}{name}.")
        elif isinstance(field, ma.fields.List) and isinstance(field.inner, ma.fields.Nested):
            yield from _id_fields(field.inner.schema, f"{prefix}{name}.")
        elif name.endswith(("_id", "_ids")) or name == "ids":
            yield prefix + name


def _body_references() -> Iterator[tuple[str, str, str, str]]:
    for service, create_app in SERVICES.items():
        app = create_app({"DATABASE_URL": "sqlite:///:memory:", "LOG_LEVEL": "WARNING"})
        for endpoint, view in app.view_functions.items():
            for method in ("post", "put", "patch"):
                handler = getattr(getattr(view, "view_class", None), method, None)
                apidoc = getattr(handler, "_apidoc", {})
                for parameter in apidoc.get("arguments", {}).get("parameters", []):
                    if parameter["in"] not in ("json", "body"):
                        continue
                    schema = parameter["schema"]
                    schema = schema() if isinstance(schema, type) else schema
                    for name in _id_fields(schema):
                        yield service, endpoint, method, name


def test_every_id_a_body_can_name_has_a_decided_tenant_rule() -> None:
    found = set(_body_references())
    unclassified = sorted(found - set(REFERENCES))
    assert not unclassified, (
        "new reference fields: route each through shared.tenancy.require_same_client (or say "
        f"why it needs no check) and list it in REFERENCES: {unclassified}"
    )
    assert set(REFERENCES) <= found, f"gone: {sorted(set(REFERENCES) - found)}"
