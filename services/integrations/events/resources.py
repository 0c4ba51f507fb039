"""HTTP layer of the integration audit log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.integrations.events import services
from services.integrations.events.schemas import (
    IdempotencyHeaderSchema,
    IntegrationEventCreateSchema,
    IntegrationEventPageSchema,
    IntegrationEventQuerySchema,
    IntegrationEventSchema,
)
from services.integrations.insights_peer import (
    InsightsWorkItems,
    insights_client,
    with_work_items_session,
)
from shared.models import ExternalIntegration
from shared.pagination import Page
from shared.web import Blueprint, current_principal, db_session

blp = Blueprint(
    "integration_events",
    __name__,
    url_prefix="/v1/integration-events",
    description="The audit trail of every conversation with an outside system",
)


@blp.route("")
class IntegrationEvents(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(IntegrationEventQuerySchema, location="query")
    @blp.response(200, IntegrationEventPageSchema)
    def get(self, args: dict[str, Any]) -> Page[ExternalIntegration]:
        """List integration events, newest first"""
        return services.list_events(session=db_session(), **args)

    @blp.requires("integrations:write")
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(IntegrationEventCreateSchema())
    @blp.response(201, IntegrationEventSchema)
    @blp.alt_response(200, schema=IntegrationEventSchema, description="Idempotent replay")
    def post(
        self, headers: dict[str, Any], data: dict[str, Any]
    ) -> tuple[ExternalIntegration, int, dict[str, str]]:
        """Record one event (request/response JSON redacted); Idempotency-Key makes it once"""
        result = services.record_event(
            session=db_session(),
            data=with_work_items_session(InsightsWorkItems(insights_client()), data),
            idempotency_key=headers.get("idempotency_key"),
            idempotency_owner=current_principal().token_id,
            created_by=current_principal().username,
        )
        if result.created:
            return result.event, 201, {}
        return result.event, 200, {"Idempotent-Replayed": "true"}
