"""Use cases of the integration audit log: record (idempotent, redacted), list, prune."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.adapters.shapes import OutboundCall, PsaCredentials
from services.integrations.zapier.publish import publish_backup_notice
from shared.errors import Conflict, ValidationFailed
from shared.models import ExternalIntegration, new_id, utcnow
from shared.pagination import Page, filtered, keyset_page
from shared.redaction import KnownSecrets, redact_json, redact_text, redact_url


def list_events(
    *,
    session: Session,
    session_id: str | None = None,
    integration_type: str | None = None,
    external_id: str | None = None,
    direction: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ExternalIntegration]:
    """Newest first, filtered by session, system, external id, direction and time range."""
    query = filtered(
        select(ExternalIntegration),
        {
            ExternalIntegration.session_id: session_id,
            ExternalIntegration.integration_type: integration_type,
            ExternalIntegration.external_id: external_id,
            ExternalIntegration.direction: direction,
        },
        time_column=ExternalIntegration.created_at,
        since=since,
        until=until,
    )
    return keyset_page(
        session=session,
        query=query,
        sort=ExternalIntegration.created_at,
        tiebreak=ExternalIntegration.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )


@dataclass(frozen=True)
class RecordedEvent:
    """An event row and whether this call wrote it (False: an idempotent replay)."""

    event: ExternalIntegration
    created: bool


def _redacted(data: Mapping[str, Any]) -> dict[str, Any]:
    clean = dict(data)
    for name in ("request_data", "response_data"):
        if clean.get(name) is not None:
            clean[name] = redact_json(clean[name])
    if clean.get("external_url"):
        clean["external_url"] = redact_url(clean["external_url"])
    if clean.get("external_id"):
        clean["external_id"] = _redacted_id(clean["external_id"], KnownSecrets())
    return clean


def _redacted_id(external_id: str | None, known: KnownSecrets) -> str | None:
    # An id is free text from a caller or a PSA: a token pasted there is masked like any other.
    return redact_text(known.mask(external_id)) if external_id else external_id


def _fingerprint(clean: Mapping[str, Any]) -> str:
    canonical = json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def add_event(
    *,
    session: Session,
    data: Mapping[str, Any],
    idempotency_key: str | None = None,
    idempotency_owner: str = "",
    created_by: str | None = None,
) -> ExternalIntegration:
    """Add (not commit) one event with its JSON redacted, in the caller's unit of work.

    `idempotency_owner` is the token a key came with: another token's same key is another key."""
    clean = _redacted(data)
    row = ExternalIntegration(
        created_by=created_by,
        idempotency_key=idempotency_key,
        idempotency_owner=idempotency_owner if idempotency_key else "",
        # Only a replayed key is compared with the first request: no key, nothing to hash.
        request_fingerprint=_fingerprint(clean) if idempotency_key else None,
        **clean,
    )
    session.add(row)
    return row


def record_event(
    *,
    session: Session,
    data: Mapping[str, Any],
    idempotency_key: str | None = None,
    idempotency_owner: str = "",
    created_by: str | None = None,
) -> RecordedEvent:
    """Store one event with its JSON redacted; a replayed Idempotency-Key returns the first row
    (only to the same `idempotency_owner`, the token that sent the key)."""
    row = add_event(
        session=session,
        data=data,
        idempotency_key=idempotency_key,
        idempotency_owner=idempotency_owner,
        created_by=created_by,
    )
    publish_backup_notice(session, row)
    try:
        # Insert first and let the unique key catch a replay: the common case costs no lookup.
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = _by_key(session, idempotency_owner, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise _unknown_references(_redacted(data)) from None
        return _replay(earlier, row.request_fingerprint)
    return RecordedEvent(row, True)


def _unknown_references(clean: Mapping[str, Any]) -> ValidationFailed:
    # Not a replay, so the foreign keys refused the row: name the ids that were given.
    named = [name for name in ("session_id", "work_item_id") if clean.get(name)]
    return ValidationFailed({name: ["does not exist"] for name in named or ["session_id"]})


def _by_key(session: Session, owner: str, key: str) -> ExternalIntegration | None:
    return session.scalars(
        select(ExternalIntegration).where(
            ExternalIntegration.idempotency_owner == owner,
            ExternalIntegration.idempotency_key == key,
        )
    ).first()


def _replay(earlier: ExternalIntegration, fingerprint: str | None) -> RecordedEvent:
    if earlier.request_fingerprint and earlier.request_fingerprint != fingerprint:
        raise Conflict("this Idempotency-Key was used with a different request body")
    return RecordedEvent(earlier, False)


def revealed_secrets(creds: PsaCredentials) -> tuple[str, ...]:
    """The secret plaintexts of a credential the vault handed an adapter (not URL or user)."""
    return tuple(value for value in (creds.password, creds.api_key) if value)


def record_outbound_call(
    *,
    session: Session,
    call: OutboundCall,
    created_by: str = "integrations",
    session_id: str | None = None,
    work_item_id: str | None = None,
    known_secrets: Iterable[str] = (),
) -> ExternalIntegration:
    """Add (not commit) an event for one PSA attempt an adapter reported to its audit hook.

    `known_secrets` are the plaintexts of the credential in use: masked wherever the PSA (or
    the adapter) put them, whatever the key or shape around them."""
    known = KnownSecrets.of(known_secrets)
    request = dict(redact_json(call.request, known.values) or {})
    request.update({"method": call.method, "attempt": call.attempt})
    response = redact_json(call.response, known.values)
    if call.error:
        response = {"error": redact_text(known.mask(call.error)), "body": response}
    row = ExternalIntegration(
        id=new_id(),
        session_id=session_id,
        work_item_id=work_item_id,
        integration_type=call.integration_type,
        direction="outbound",
        action=call.action,
        external_id=_redacted_id(call.external_id, known),
        external_url=redact_url(call.url, known.values),
        http_status=call.status,
        request_data=request,
        response_data=response if isinstance(response, dict) else {"body": response},
        duration_ms=call.duration_ms,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(row)
    return row


def prune_events(*, session: Session, older_than: datetime, batch_size: int = 1000) -> int:
    """Delete events created before `older_than`, in batches (each commits); returns the count."""
    total = 0
    while True:
        ids = list(
            session.scalars(
                select(ExternalIntegration.id)
                .where(ExternalIntegration.created_at < older_than)
                .order_by(ExternalIntegration.created_at)
                .limit(batch_size)
            )
        )
        if not ids:
            return total
        session.execute(delete(ExternalIntegration).where(ExternalIntegration.id.in_(ids)))
        session.commit()
        total += len(ids)
