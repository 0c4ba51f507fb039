"""Marshmallow schemas of webhook receipts and stored deliveries."""

from __future__ import annotations

import marshmallow as ma

from services.integrations.webhooks.deliveries import STATES, state_of
from shared.models.tickets import WEBHOOK_SOURCES
from shared.web import Flag, Int32, PageArgsSchema, Schema, page_schema


class WebhookReceiptSchema(Schema):
    delivery_id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "accepted or duplicate"})


class WebhookDeliverySchema(Schema):
    id = ma.fields.String()
    integration_type = ma.fields.String()
    delivery_id = ma.fields.String()
    state = ma.fields.Function(state_of, metadata={"description": ", ".join(STATES)})
    signature_valid = Flag()
    received_at = ma.fields.DateTime()
    processed_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    payload = ma.fields.Raw(allow_none=True)


class WebhookDeliveryDetailSchema(WebhookDeliverySchema):
    raw_body = ma.fields.String(allow_none=True, metadata={"description": "as received"})


WebhookDeliveryPageSchema = page_schema(WebhookDeliverySchema, "WebhookDeliveryPage")


class WebhookDeliveryQuerySchema(PageArgsSchema):
    integration_type = ma.fields.String(validate=ma.validate.OneOf(WEBHOOK_SOURCES))
    state = ma.fields.String(validate=ma.validate.OneOf(list(STATES)))


class ReprocessSchema(Schema):
    limit = Int32(load_default=50, minimum=1, maximum=500)


class ReprocessResultSchema(Schema):
    attempted = ma.fields.Integer()
    processed = ma.fields.Integer()
    failed = ma.fields.Integer()
