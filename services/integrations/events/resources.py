"""HTTP layer of the integration audit log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from services.integrations.events import services
from services.integrations.events.schemas import (
    IntegrationEventPageSchema,
    IntegrationEventQuerySchema,
)
from shared.models import ExternalIntegration
from shared.pagination import Page
from shared.web import Blueprint, db_session

blp = Blueprint(
    "integration_events", __name__, url_prefix="/v1/integration-events",
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
