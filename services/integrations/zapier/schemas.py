"""Marshmallow schemas of Zapier REST hook subscriptions and sample items."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma

from shared.models.zapier import ZAPIER_EVENTS
from shared.web import Flag, Schema, Text


class SubscribeSchema(Schema):
    """What Zapier's performSubscribe sends: where to POST, and on which event."""

    target_url = Text(
        required=True,
        max=1000,
        metadata={"description": "https URL on hooks.zapier.com (or an operator-allowed host)"},
    )
    event = ma.fields.String(required=True, validate=ma.validate.OneOf(ZAPIER_EVENTS))


def _target_host(subscription: Any) -> str:
    url = subscription["target_url"] if isinstance(subscription, dict) else subscription.target_url
    return urlsplit(url).hostname or ""


class SubscriptionSchema(Schema):
    id = ma.fields.String(metadata={"description": "what performUnsubscribe DELETEs"})
    event = ma.fields.String()
    target_host = ma.fields.Function(
        _target_host, metadata={"description": "the host only: the URL is Zapier's capability"}
    )
    is_active = Flag()
    deactivated_reason = ma.fields.String(allow_none=True)
    created_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class SubscribedSchema(SubscriptionSchema):
    secret = ma.fields.String(
        metadata={
            "description": "the signing secret of this subscription's deliveries (X-Signature): "
            "shown this once, stored sealed"
        }
    )


class SubscriptionQuerySchema(Schema):
    event = ma.fields.String(validate=ma.validate.OneOf(ZAPIER_EVENTS))


class SampleItemSchema(Schema):
    """One item exactly as it is delivered (the same `id` on every retry)."""

    id = ma.fields.String()
    event = ma.fields.String()
    occurred_at = ma.fields.String(metadata={"description": "ISO 8601, UTC"})
    data = ma.fields.Dict(metadata={"description": "what the event carries (README, Zapier)"})
