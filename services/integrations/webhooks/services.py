"""Webhook use cases: store the raw delivery, authenticate it, dedupe it, then apply it."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations import telemetry
from services.integrations.adapters import AuditHook, PsaError
from services.integrations.events.services import add_event
from services.integrations.psa.access import PsaAccess
from services.integrations.tickets.services import sync_ticket_everywhere
from services.integrations.webhooks.connectwise_keys import fetch_signing_key
from services.integrations.webhooks.payloads import delivery_id, parse_json, ticket_change
from services.integrations.webhooks.signatures import (
    autotask_signature_valid,
    connectwise_signature_valid,
    key_url_allowed,
    tokens_match,
)
from services.integrations.webhooks.unsigned import (
    UnsignedLimits,
    kept_body,
    prune_rejected,
    refuse_flood,
)
from shared.errors import DomainError, Unauthorized, ValidationFailed
from shared.models import WebhookDelivery, new_id, utcnow
from shared.redaction import redact_json, redact_text
from shared.web.json_input import InputLimits, MalformedJson, parse_json_body

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookSecrets:
    """The configured secret per vendor and the allowed ConnectWise key origins."""

    syncro_token: str | None
    zapier_token: str | None
    autotask_secret: str | None
    connectwise_key_origins: str
    allow_local: bool = False  # OUTBOUND_ALLOW_LOCAL: key_url may be http / a local address

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookSecrets:
        return cls(
            config.get("WEBHOOK_SYNCRO_TOKEN"),
            config.get("WEBHOOK_ZAPIER_TOKEN"),
            config.get("WEBHOOK_AUTOTASK_SECRET"),
            config.get("WEBHOOK_CONNECTWISE_KEY_ORIGINS") or "",
            bool(config.get("OUTBOUND_ALLOW_LOCAL", False)),
        )

    def __repr__(self) -> str:
        return "WebhookSecrets(...)"


@dataclass(frozen=True)
class Receipt:
    """The stored delivery's row id, its dedupe id, and whether it was seen before."""

    row_id: str
    delivery_id: str
    duplicate: bool


def store_raw(
    *,
    session: Session,
    source: str,
    raw: bytes,
    source_ip: str | None = None,
    limits: UnsignedLimits = UnsignedLimits(),
) -> WebhookDelivery:
    """Commit the delivery before anything parses it, so every delivery is on file. Until its
    signature holds, only a redacted prefix of the body is kept (with its SHA-256 and length):
    a forger's megabytes cost a few kilobytes."""
    row_id, kept = new_id(), kept_body(raw, limits)
    row = WebhookDelivery(
        id=row_id,
        integration_type=source,
        delivery_id=f"pending:{row_id}",
        signature_valid=False,
        received_at=utcnow(),
        raw_body=kept.text,
        body_sha256=kept.sha256,
        body_bytes=kept.length,
        source_ip=source_ip,
    )
    session.add(row)
    session.commit()
    return row


def _auth_failure(
    source: str,
    raw: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    secrets: WebhookSecrets,
    key_audit: AuditHook,
) -> str | None:
    token = query.get("token") or headers.get("x-webhook-token")
    if source in ("syncro", "zapier"):
        expected = secrets.syncro_token if source == "syncro" else secrets.zapier_token
        return None if tokens_match(expected, token) else "URL token missing or wrong"
    if source == "autotask":
        ok = autotask_signature_valid(secrets.autotask_secret, raw, headers.get("x-hook-signature"))
        return None if ok else "X-Hook-Signature does not match"
    metadata = (parse_json(raw) or {}).get("Metadata") or {}
    key_url = str(metadata.get("key_url") or "") if isinstance(metadata, dict) else ""
    if not key_url_allowed(key_url, secrets.connectwise_key_origins):
        return "Metadata.key_url is not an allowed ConnectWise origin"
    ok = connectwise_signature_valid(
        raw,
        headers.get("x-content-signature"),
        lambda: fetch_signing_key(key_url, audit=key_audit, allow_local=secrets.allow_local),
    )
    return None if ok else "x-content-signature does not match"


def _close_as(session: Session, row: WebhookDelivery, prefix: str, error: str) -> None:
    row.delivery_id, row.error, row.processed_at = f"{prefix}:{row.id}", error, utcnow()
    session.commit()
    telemetry.count_delivery(row.integration_type, prefix)


def receive_delivery(
    *,
    session: Session,
    source: str,
    raw: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    secrets: WebhookSecrets,
    key_audit: AuditHook,
    source_ip: str | None = None,
    limits: UnsignedLimits = UnsignedLimits(),
    json_limits: InputLimits = InputLimits(),
) -> Receipt:
    """Refuse a flood (429), store, authenticate (401 + kept as rejected), parse (422 + kept
    as invalid) and dedupe one delivery.

    `headers` has lower-case names.
    """
    refuse_flood(session=session, source=source, source_ip=source_ip, limits=limits)
    row = store_raw(session=session, source=source, raw=raw, source_ip=source_ip, limits=limits)
    reason = _auth_failure(source, raw, headers, query, secrets, key_audit)
    if reason:
        # A rejected row never takes the delivery id it claims, so a forgery can't block it.
        _close_as(session, row, "rejected", reason)
        prune_rejected(session=session, limits=limits, source=source, batches=1)
        log.warning("webhook delivery %s from %s rejected: %s", row.id, source, reason)
        raise Unauthorized("the webhook signature or token is not valid")
    row.signature_valid = True
    payload = _signed_payload(session, row, raw, json_limits)
    clean = redact_json(payload)
    row.raw_body = _signed_body_text(raw, payload, clean)
    did = delivery_id(source, payload, raw, headers)
    return _dedupe(session, row, source, did, clean)


def _signed_payload(
    session: Session, row: WebhookDelivery, raw: bytes, json_limits: InputLimits
) -> dict[str, Any]:
    """The signed body through the guard every JSON body passes (after the signature, so a
    forger learns nothing); content it refuses ends the delivery as invalid, with the reason."""
    try:
        payload = parse_json_body(raw, json_limits)
    except MalformedJson:
        _close_invalid(session, row, raw, "body is not JSON")
        raise ValidationFailed({"body": ["must be a JSON object"]}) from None
    except ValidationFailed as exc:
        _close_invalid(session, row, raw, _refusal(exc))
        raise
    if not isinstance(payload, dict):
        _close_invalid(session, row, raw, "body is not a JSON object")
        raise ValidationFailed({"body": ["must be a JSON object"]})
    return payload


def _close_invalid(session: Session, row: WebhookDelivery, raw: bytes, reason: str) -> None:
    row.raw_body = redact_text(raw.decode("utf-8", errors="replace"))  # signed: kept whole
    _close_as(session, row, "invalid", reason)


def _refusal(exc: DomainError) -> str:
    errors = exc.extensions.get("errors")
    if isinstance(errors, dict):
        return "; ".join(f"{path}: {', '.join(map(str, why))}" for path, why in errors.items())
    return exc.detail


def _signed_body_text(raw: bytes, payload: dict[str, Any], clean: dict[str, Any]) -> str:
    """The body as received, unless a secret had to be masked: then the masked document."""
    if clean == payload:
        return raw.decode("utf-8", errors="replace")
    return json.dumps(clean, ensure_ascii=False)


def _dedupe(
    session: Session, row: WebhookDelivery, source: str, did: str, payload: dict[str, Any]
) -> Receipt:
    """Claim the delivery id: the unique (type, delivery_id) says whether it came before, so a
    first delivery costs no look-up and two concurrent redeliveries cannot both win."""
    row.delivery_id, row.payload = did, payload
    _add_inbound_event(session, source, did, payload)  # commits with the claim, or not at all
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the id was taken, earlier or by a concurrent redelivery
        row = session.get(WebhookDelivery, row.id) or row
        row.signature_valid = True  # the rollback dropped it with the claim
        _close_as(session, row, "duplicate", f"duplicate of delivery {did}")
        return Receipt(row.id, did, True)
    telemetry.count_delivery(source, "accepted")
    return Receipt(row.id, did, False)


def _add_inbound_event(session: Session, source: str, did: str, payload: dict[str, Any]) -> None:
    change = ticket_change(source, payload)
    add_event(
        session=session,
        created_by="webhook",
        data={
            "integration_type": source,
            "direction": "inbound",
            "action": "deleted" if change and change.deleted else "updated",
            "external_id": change.ticket_id if change else None,
            "http_status": 200,
            "request_data": payload,
        },
    )


def process_delivery(*, session: Session, access: PsaAccess, row_id: str) -> None:
    """Apply an accepted delivery: bring every link to the reported ticket up to date."""
    row = session.get(WebhookDelivery, row_id)
    if row is None or row.processed_at is not None:
        return
    change = ticket_change(row.integration_type, row.payload or {})
    error = None
    try:
        if change is not None:
            sync_ticket_everywhere(
                session=session,
                access=access,
                integration_type=change.integration_type,
                ticket_id=change.ticket_id,
                deleted=change.deleted,
            )
    except (DomainError, PsaError) as exc:
        session.rollback()
        error = f"processing failed: {exc.detail}"
    row = session.get(WebhookDelivery, row_id, populate_existing=True) or row
    row.processed_at, row.error = (None, error) if error else (utcnow(), None)
    session.commit()
    telemetry.count_delivery(row.integration_type, "failed" if error else "processed")
