"""HTTP layer of inbound webhooks (`POST /v1/webhooks/{vendor}`) and their stored deliveries."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, request
from flask.views import MethodView

from services.integrations.access_log.chain import AccessContext
from services.integrations.psa.access import OutboundRecorder
from services.integrations.psa.request_access import psa_access_for_app, psa_access_for_request
from services.integrations.webhooks import deliveries, services
from services.integrations.webhooks.schemas import (
    ReprocessResultSchema,
    ReprocessSchema,
    WebhookDeliveryDetailSchema,
    WebhookDeliveryPageSchema,
    WebhookDeliveryQuerySchema,
    WebhookReceiptSchema,
)
from services.integrations.webhooks.unsigned import UnsignedLimits
from shared.errors import NotFound
from shared.models import WebhookDelivery
from shared.models.tickets import WEBHOOK_SOURCES
from shared.observability import current_request_id, log_current_exception
from shared.pagination import Page
from shared.web import Blueprint, db_session
from shared.web.api import one_of
from shared.web.background import after_response
from shared.web.guard import input_limits
from shared.web.problems import ProblemSchema

log = logging.getLogger(__name__)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Inbound PSA webhooks, authenticated per vendor (signature or URL token)",
)


def _process_later(app: Flask, row_id: str, source: str) -> None:
    """Apply the delivery once the answer has gone out (vendors time out after ~10 s)."""

    def work() -> None:
        with app.app_context():
            # The audit rows of the credentials this reveals name the delivery's request.
            context = AccessContext(purpose=f"webhook:{source}", request_id=current_request_id())
            access = psa_access_for_app(app, context)
            try:
                with app.extensions["session_factory"]() as session:
                    services.process_delivery(session=session, access=access, row_id=row_id)
            except Exception:  # the answer is sent; log, and the row stays unprocessed
                log_current_exception(log, "webhook delivery %s could not be processed", row_id)

    after_response(work)


@blp.route(f"/webhooks/{one_of('source', WEBHOOK_SOURCES)}")
class Webhooks(MethodView):
    @blp.response(200, WebhookReceiptSchema)
    @blp.alt_response(
        401,
        schema=ProblemSchema,
        description="Bad signature or token (the delivery is kept as rejected, body capped)",
    )
    @blp.alt_response(
        422,
        schema=ProblemSchema,
        description="Signed, but not a storable JSON object (kept as invalid, with the reason)",
    )
    @blp.alt_response(
        429,
        schema=ProblemSchema,
        description="Too many unsigned deliveries from this address (Retry-After); nothing kept",
    )
    def post(self, source: str) -> dict[str, Any]:
        """Receive a PSA webhook: stored raw, verified, deduplicated, answered, then applied"""
        if source not in WEBHOOK_SOURCES:
            raise NotFound("webhook source", source)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        receipt = services.receive_delivery(
            session=db_session(),
            source=source,
            raw=request.get_data(cache=True),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=request.args,
            secrets=services.WebhookSecrets.from_config(app.config),
            key_audit=OutboundRecorder(app.extensions["session_factory"], created_by="webhook"),
            source_ip=request.remote_addr,
            limits=UnsignedLimits.from_config(app.config),
            json_limits=input_limits(),
        )
        if not receipt.duplicate:
            _process_later(app, receipt.row_id, source)
        return {
            "delivery_id": receipt.delivery_id,
            "status": "duplicate" if receipt.duplicate else "accepted",
        }


@blp.route("/webhook-deliveries")
class WebhookDeliveries(MethodView):
    @blp.requires("integrations:read")
    @blp.arguments(WebhookDeliveryQuerySchema, location="query")
    @blp.response(200, WebhookDeliveryPageSchema)
    def get(self, args: dict[str, Any]) -> Page[WebhookDelivery]:
        """List stored deliveries newest first, by vendor and state"""
        return deliveries.list_deliveries(session=db_session(), **args)


@blp.route("/webhook-deliveries/<string:row_id>")
class WebhookDeliveryById(MethodView):
    @blp.requires("integrations:read")
    @blp.response(200, WebhookDeliveryDetailSchema)
    def get(self, row_id: str) -> WebhookDelivery:
        """One stored delivery with its raw body"""
        return deliveries.get_delivery(session=db_session(), row_id=row_id)


@blp.route("/webhook-deliveries/reprocess")
class WebhookDeliveriesReprocess(MethodView):
    @blp.requires("integrations:write")
    @blp.arguments(ReprocessSchema)
    @blp.response(200, ReprocessResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, int]:
        """Apply accepted deliveries that were never applied or failed (oldest first)"""
        return deliveries.reprocess_open(
            session=db_session(), access=psa_access_for_request(), limit=data["limit"]
        )
