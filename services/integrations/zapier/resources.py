"""HTTP layer of Zapier REST Hooks: subscribe, unsubscribe, list, and recent items per event."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from services.integrations.adapters.endpoints import endpoint_policy
from services.integrations.vault.current import current_vault
from services.integrations.zapier import subscriptions as services
from services.integrations.zapier.schemas import (
    SampleItemSchema,
    SubscribedSchema,
    SubscribeSchema,
    SubscriptionQuerySchema,
    SubscriptionSchema,
)
from shared.errors import NotFound
from shared.models import ZapierSubscription
from shared.models.zapier import ZAPIER_EVENTS
from shared.web import Blueprint, current_principal, db_session

blp = Blueprint(
    "zapier",
    __name__,
    url_prefix="/v1/zapier",
    description="Zapier REST Hooks: a Zap subscribes to an event and gets signed deliveries",
)


@blp.route("/hooks")
class Hooks(MethodView):
    @blp.requires("zapier")
    @blp.arguments(SubscriptionQuerySchema, location="query")
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[ZapierSubscription]:
        """List subscriptions (MSP-wide), newest first"""
        return services.list_subscriptions(session=db_session(), event=args.get("event"))

    @blp.requires("zapier")
    @blp.arguments(SubscribeSchema)
    @blp.response(201, SubscribedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Subscribe a Zap to an event (performSubscribe); the answer holds its signing secret"""
        subscription, secret = services.subscribe(
            session=db_session(),
            keyring=current_vault().keyring,
            policy=endpoint_policy(current_app.config),
            event=data["event"],
            target_url=data["target_url"],
            created_by=current_principal().username,
        )
        fields = ("id", "event", "target_url", "is_active", "deactivated_reason", "created_by")
        shown = {name: getattr(subscription, name) for name in fields}
        return {**shown, "created_at": subscription.created_at, "secret": secret}


@blp.route("/hooks/<string:subscription_id>")
class HookById(MethodView):
    @blp.requires("zapier")
    @blp.response(204)
    def delete(self, subscription_id: str) -> None:
        """Unsubscribe (performUnsubscribe): no more deliveries, pending ones are cancelled"""
        services.unsubscribe(session=db_session(), subscription_id=subscription_id)


@blp.route("/events/<string:event>")
class EventItems(MethodView):
    @blp.requires("zapier")
    @blp.response(200, SampleItemSchema(many=True))
    def get(self, event: str) -> list[Any]:
        """The newest items of an event, as delivered (performList: trigger setup and polling)"""
        if event not in ZAPIER_EVENTS:
            raise NotFound("zapier event", event)
        return services.recent_items(session=db_session(), event=event)
