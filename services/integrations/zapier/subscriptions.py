"""Use cases of Zapier REST hook subscriptions: subscribe, unsubscribe, list, recent samples."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.integrations.adapters.endpoints import EndpointPolicy, EndpointRefused
from services.integrations.adapters.pinned_http import checked_address, resolve_addresses
from shared.crypto import DecryptionFailed, FieldContext, Keyring, open_sealed, seal
from shared.errors import DomainError, NotFound, ValidationFailed
from shared.models import ZapierDelivery, ZapierSample, ZapierSubscription, new_id, utcnow

log = logging.getLogger(__name__)

VENDOR = "zapier"
SECRET_PREFIX = "zsec_"  # noqa: S105 - a visible marker, not a secret
SECRET_BYTES = 32
SAMPLES_LISTED = 10
TARGET_URL_CHARS = 1000  # the column's length


class SubscriptionSecretUnreadable(DomainError):
    """A subscription's sealed secret failed authentication (its URL or row was changed)."""

    status, slug, title = 500, "secret-unreadable", "Subscription secret unreadable"

    def __init__(self) -> None:
        super().__init__("the subscription's signing secret could not be decrypted")


def checked_target(policy: EndpointPolicy, target_url: str) -> str:
    """The target URL in its checked form: https, a Zapier host (or an operator's addition),
    no user@host or backslash, and every address it resolves to public; 422 naming the rule."""
    try:
        url = policy.check(target_url, VENDOR)
        checked_address(
            url.host, url.port, allow_local=policy.allow_local, resolve=resolve_addresses
        )
    except EndpointRefused as exc:
        message = f"refused: {exc}"
        raise ValidationFailed({"target_url": [message]}, detail=message) from None
    if len(url.url) > TARGET_URL_CHARS:  # an IDNA host is longer in its checked form
        message = f"the checked URL is longer than {TARGET_URL_CHARS} characters"
        raise ValidationFailed({"target_url": [message]}, detail=message)
    return url.url


def subscribe(
    *,
    session: Session,
    keyring: Keyring,
    policy: EndpointPolicy,
    event: str,
    target_url: str,
    created_by: str | None,
) -> tuple[ZapierSubscription, str]:
    """A new active subscription and its signing secret (returned once, stored sealed)."""
    subscription = ZapierSubscription(
        id=new_id(),
        event=event,
        target_url=checked_target(policy, target_url),
        version=1,
        is_active=True,
        created_by=created_by,
    )
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    _seal_secret(keyring, subscription, secret)
    session.add(subscription)
    session.commit()
    return subscription, secret


def _data_key_context(subscription: ZapierSubscription) -> dict[str, str]:
    return {
        "purpose": "zapier-subscription",
        "subscription_id": subscription.id,
        "version": str(subscription.version),
    }


def _field_context(subscription: ZapierSubscription) -> FieldContext:
    # The target URL is bound into the AAD: a URL changed behind the service (SQL, a restore)
    # leaves a secret that no longer opens, so it is never used to sign for another receiver.
    return FieldContext(
        subscription.id, "secret", subscription.version, (("target_url", subscription.target_url),)
    )


def _seal_secret(keyring: Keyring, subscription: ZapierSubscription, secret: str) -> None:
    data_key = keyring.generate_data_key(_data_key_context(subscription))
    try:
        subscription.secret_encrypted = seal(
            dek=data_key.plaintext, plaintext=secret, context=_field_context(subscription)
        )
    finally:
        data_key.plaintext[:] = bytes(len(data_key.plaintext))
    subscription.wrapped_data_key = data_key.wrapped
    subscription.kek_id = data_key.kek_id


def open_secret(keyring: Keyring, subscription: ZapierSubscription) -> str:
    """The subscription's signing secret; tampering is SubscriptionSecretUnreadable, no detail."""
    try:
        dek = keyring.unwrap(subscription.wrapped_data_key, _data_key_context(subscription))
    except DecryptionFailed:
        log.warning(
            "zapier secret data key failed to unwrap", extra={"subscription": subscription.id}
        )
        raise SubscriptionSecretUnreadable() from None
    try:
        return open_sealed(
            dek=dek, blob=subscription.secret_encrypted, context=_field_context(subscription)
        )
    except DecryptionFailed:
        log.warning("zapier secret failed to decrypt", extra={"subscription": subscription.id})
        raise SubscriptionSecretUnreadable() from None
    finally:
        dek[:] = bytes(len(dek))


def unsubscribe(*, session: Session, subscription_id: str) -> None:
    """Deactivate a subscription (Zapier's performUnsubscribe) and cancel what it still owes;
    repeating it is harmless, an unknown id is 404."""
    subscription = session.get(ZapierSubscription, subscription_id)
    if subscription is None:
        raise NotFound("zapier subscription", subscription_id)
    deactivate(session=session, subscription=subscription, reason="unsubscribed")
    session.commit()


def deactivate(*, session: Session, subscription: ZapierSubscription, reason: str) -> None:
    """Stop a subscription and cancel its pending deliveries (not committed)."""
    if subscription.is_active:
        subscription.is_active = False
        subscription.deactivated_at = utcnow()
        subscription.deactivated_reason = reason
    session.execute(
        update(ZapierDelivery)
        .where(ZapierDelivery.subscription_id == subscription.id)
        .where(ZapierDelivery.status == "pending")
        .values(status="cancelled", last_error=f"subscription {reason}")
    )


def any_active(*, session: Session) -> bool:
    """Whether any subscription is active; asked of the table (Core), so that a worker whose
    service never saw a Zap does not configure the ORM's mappers for it."""
    columns = ZapierSubscription.__table__.c
    query = select(columns.id).where(columns.is_active.is_(True)).limit(1)
    return session.execute(query).first() is not None


def list_subscriptions(*, session: Session, event: str | None = None) -> list[ZapierSubscription]:
    """Every subscription, newest first (active and stopped ones)."""
    query = select(ZapierSubscription).order_by(ZapierSubscription.created_at.desc())
    if event:
        query = query.where(ZapierSubscription.event == event)
    return list(session.scalars(query.limit(500)))


def recent_items(*, session: Session, event: str, limit: int = SAMPLES_LISTED) -> list[Any]:
    """The newest published items of an event, exactly as they were (or would be) delivered."""
    bodies = session.scalars(
        select(ZapierSample.body)
        .where(ZapierSample.event == event)
        .order_by(ZapierSample.created_at.desc(), ZapierSample.id)
        .limit(limit)
    )
    return [json.loads(body) for body in bodies]
