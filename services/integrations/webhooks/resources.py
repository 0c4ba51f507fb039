"""HTTP layer of inbound webhooks: `POST /v1/webhooks/{syncro|autotask|connectwise|zapier}`."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, after_this_request, current_app, request
from flask.views import MethodView

from services.integrations.access_log.chain import AccessContext
from services.integrations.tickets.psa_access import OutboundRecorder
from services.integrations.tickets.request_access import psa_access_for_app
from services.integrations.webhooks import services, settings
from shared.errors import NotFound
from shared.models.tickets import WEBHOOK_SOURCES
from shared.web import Blueprint, Schema, db_session
from shared.web.problems import ProblemSchema

log = logging.getLogger(__name__)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/webhooks",
    description="Inbound PSA webhooks, authenticated per vendor (signature or URL token)",
)
blp.record_once(lambda state: settings.load_into(state.app))


class WebhookReceiptSchema(Schema):
    delivery_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "accepted or duplicate"})


def _process_later(app: Flask, row_id: str, source: str) -> None:
    """Apply the delivery once the answer has gone out (vendors time out after ~10 s)."""

    def work() -> None:
        with app.app_context():
            access = psa_access_for_app(app, AccessContext(purpose=f"webhook:{source}"))
            try:
                with app.extensions["session_factory"]() as session:
                    services.process_delivery(session=session, access=access, row_id=row_id)
            except Exception:  # the answer is sent; log, and the row stays unprocessed
                log.exception("webhook delivery %s could not be processed", row_id)

    @after_this_request
    def _schedule(response: Response) -> Response:
        response.call_on_close(work)
        return response


@blp.route("/<string:source>")
class Webhooks(MethodView):
    @blp.response(200, WebhookReceiptSchema)
    @blp.alt_response(
        401,
        schema=ProblemSchema,
        description="Bad signature or token (the delivery is kept as rejected)",
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
        )
        if not receipt.duplicate:
            _process_later(app, receipt.row_id, source)
        return {
            "delivery_id": receipt.delivery_id,
            "status": "duplicate" if receipt.duplicate else "accepted",
        }
