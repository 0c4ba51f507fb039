"""Delivering the outbox: claim due rows, sign, send to the checked address, retry or stop."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.integrations.adapters.endpoints import (
    EndpointPolicy,
    EndpointRefused,
    endpoint_policy,
)
from services.integrations.adapters.pinned_http import pinned_session
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.zapier.pruning import prune_finished, prune_samples
from services.integrations.zapier.signing import signed_headers
from services.integrations.zapier.subscriptions import (
    VENDOR,
    SubscriptionSecretUnreadable,
    deactivate,
    open_secret,
)
from shared.crypto import Keyring
from shared.models import ZapierDelivery, ZapierSubscription, new_id, utcnow

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
# Rows are claimed this many at a time (one commit); a claimed row is not taken by another run
# until its lease ends, longer than the batch's attempts can last (DeliveryRules.lease_seconds).
CLAIM_BATCH = 10
RESPONSE_KEPT = 500


class OutboundAudit(Protocol):
    """events.services.record_outbound_call, handed in by the app and the CLI."""

    def __call__(
        self,
        *,
        session: Session,
        call: OutboundCall,
        created_by: str = ...,
        known_secrets: Iterable[str] = ...,
    ) -> Any: ...


@dataclass(frozen=True)
class DeliveryRules:
    """Where deliveries may go and how often they are tried."""

    policy: EndpointPolicy
    max_attempts: int = 8
    retry_seconds: float = 30.0
    retry_max_seconds: float = 21600.0
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DeliveryRules:
        return cls(
            policy=endpoint_policy(settings),
            max_attempts=settings["ZAPIER_MAX_ATTEMPTS"],
            retry_seconds=settings["ZAPIER_RETRY_SECONDS"],
            retry_max_seconds=settings["ZAPIER_RETRY_MAX_SECONDS"],
            timeout_seconds=settings["ZAPIER_TIMEOUT_SECONDS"],
        )

    @property
    def lease_seconds(self) -> float:
        """How long a claimed batch is its run's: every attempt at its longest, and a minute."""
        return CLAIM_BATCH * (CONNECT_TIMEOUT + self.timeout_seconds) + 60.0

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt after `attempts` failed ones (doubling, capped);
        a receiver's Retry-After is honoured when it asks for longer."""
        wait = min(self.retry_max_seconds, self.retry_seconds * 2.0 ** max(attempts - 1, 0))
        return max(wait, min(retry_after or 0.0, self.retry_max_seconds))


@dataclass
class DeliveryReport:
    """What one run did, by outcome."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def __str__(self) -> str:
        return ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.counts.items())) or "none"


@dataclass(frozen=True)
class Attempt:
    """The answer of one send: an HTTP status, or an error that stopped the request."""

    status: int | None
    response: str
    duration_ms: int
    error: str | None = None
    retry_after: float | None = None


def deliver_due(
    *,
    session: Session,
    keyring: Keyring,
    rules: DeliveryRules,
    audit: OutboundAudit,
    limit: int = 100,
) -> DeliveryReport:
    """Send every due delivery once (at most `limit`); safe to run in many processes at once:
    each row is claimed with a compare-and-set first, so only one run sends it."""
    report = DeliveryReport()
    now = utcnow()
    due = list(
        session.scalars(
            select(ZapierDelivery.id)
            .where(ZapierDelivery.status == "pending", ZapierDelivery.next_attempt_at <= now)
            .order_by(ZapierDelivery.next_attempt_at)
            .limit(limit)
        )
    )
    session.rollback()  # end the read: each claim is its own short transaction
    for start in range(0, len(due), CLAIM_BATCH):
        batch = due[start : start + CLAIM_BATCH]
        claim, mine = _claim(session, batch, rules.lease_seconds)
        for delivery_id in batch:
            if delivery_id not in mine:
                report.add("taken by another run")
                continue
            report.add(_deliver_claimed(session, keyring, rules, audit, delivery_id, claim))
    prune_samples(session=session)
    prune_finished(session=session)
    return report


def _claim(session: Session, batch: list[str], lease: float) -> tuple[str, set[str]]:
    """Claim those of `batch` still due, in one compare-and-set; returns the claim and the
    ids it took (another run's claim of the same rows waits for this commit, then takes none)."""
    now, claim = utcnow(), new_id()
    session.execute(
        update(ZapierDelivery)
        .where(ZapierDelivery.id.in_(batch))
        .where(ZapierDelivery.status == "pending", ZapierDelivery.next_attempt_at <= now)
        .values(
            claim=claim,
            attempts=ZapierDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=lease),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    mine = session.scalars(
        select(ZapierDelivery.id).where(ZapierDelivery.id.in_(batch), ZapierDelivery.claim == claim)
    )
    taken = set(mine)
    session.rollback()
    return claim, taken


def _deliver_claimed(
    session: Session,
    keyring: Keyring,
    rules: DeliveryRules,
    audit: OutboundAudit,
    delivery_id: str,
    claim: str,
) -> str:
    delivery = session.get(ZapierDelivery, delivery_id, populate_existing=True)
    subscription = (  # read afresh: another run may have stopped it since (a 410)
        session.get(ZapierSubscription, delivery.subscription_id, populate_existing=True)
        if delivery
        else None
    )
    if delivery is None or delivery.claim != claim or subscription is None:
        session.rollback()
        return "taken by another run"
    if not subscription.is_active:
        _finish(delivery, "cancelled", error="subscription no longer active")
        session.commit()
        return "cancelled"
    try:
        secret = open_secret(keyring, subscription)
    except SubscriptionSecretUnreadable as exc:
        _finish(delivery, "failed", error=exc.detail)
        session.commit()
        return "failed"
    attempt = _send(rules, subscription.target_url, delivery, secret)
    audit(
        session=session,
        call=_audit_call(subscription, delivery, attempt),
        created_by="zapier",
        known_secrets=(secret,),
    )
    outcome = _record(session, rules, subscription, delivery, attempt)
    session.commit()
    return outcome


def _send(rules: DeliveryRules, target_url: str, delivery: ZapierDelivery, secret: str) -> Attempt:
    """One signed POST to the target, connecting only to the address that was checked."""
    body = delivery.body.encode("utf-8")
    started = time.monotonic()
    try:  # the rules of today, not of subscribe time; a target they refuse is never retried
        url = rules.policy.check(target_url, VENDOR)
    except EndpointRefused as exc:
        return Attempt(None, "", _ms(started), error=f"refused: {exc}")
    try:
        headers = signed_headers(
            secret=secret,
            body=body,
            timestamp=int(time.time()),
            event_id=delivery.event_id,
            event=delivery.event,
            attempt=delivery.attempts,
        )
        response = pinned_session(allow_local=rules.policy.allow_local).post(
            url.url,
            data=body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, rules.timeout_seconds),
            allow_redirects=False,
        )
    except EndpointRefused as exc:  # at connect time: DNS failed or named a private address
        return Attempt(None, "", _ms(started), error=f"not sent: {exc}")
    except requests.RequestException as exc:
        return Attempt(None, "", _ms(started), error=type(exc).__name__)
    return Attempt(
        response.status_code,
        response.text[:RESPONSE_KEPT],
        _ms(started),
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(value: str | None) -> float | None:
    return float(value) if value and value.strip().isdigit() else None


def _record(
    session: Session,
    rules: DeliveryRules,
    subscription: ZapierSubscription,
    delivery: ZapierDelivery,
    attempt: Attempt,
) -> str:
    """Delivered on 2xx; the subscription stops on 410 (Zapier's contract: the Zap is gone);
    a refused target fails for good; anything else waits its backoff, until out of attempts."""
    delivery.last_status = attempt.status
    if attempt.status is not None and 200 <= attempt.status < 300:
        _finish(delivery, "delivered")
        delivery.delivered_at = utcnow()
        return "delivered"
    if attempt.status == 410:
        _finish(delivery, "gone", error="410 Gone: Zapier removed the hook")
        deactivate(session=session, subscription=subscription, reason="gone (410 from Zapier)")
        return "gone"
    error = attempt.error or f"HTTP {attempt.status}"
    if (attempt.error or "").startswith("refused:") or delivery.attempts >= rules.max_attempts:
        _finish(delivery, "failed", error=error)
        return "failed"
    delivery.claim, delivery.last_error = None, error[:500]
    wait = rules.backoff(delivery.attempts, attempt.retry_after)
    delivery.next_attempt_at = utcnow() + timedelta(seconds=wait)
    return "retrying"


def _finish(delivery: ZapierDelivery, status: str, *, error: str | None = None) -> None:
    delivery.status, delivery.claim = status, None
    if error is not None:
        delivery.last_error = error[:500]


def _audit_call(
    subscription: ZapierSubscription, delivery: ZapierDelivery, attempt: Attempt
) -> OutboundCall:
    # The target URL is Zapier's capability for the Zap: only its origin goes in the audit.
    origin = subscription.target_url.split("/", 3)
    return OutboundCall(
        integration_type=VENDOR,
        action="created",
        method="POST",
        url="/".join(origin[:3]) + "/…",
        request={
            "subscription_id": subscription.id,
            "event": delivery.event,
            "event_id": delivery.event_id,
            "body_sha256": hashlib.sha256(delivery.body.encode("utf-8")).hexdigest(),
            "body": json.loads(delivery.body),
        },
        response={"body": attempt.response} if attempt.response else None,
        status=attempt.status,
        duration_ms=attempt.duration_ms,
        external_id=delivery.event_id,
        attempt=delivery.attempts,
        error=attempt.error,
    )
