"""Opening a PSA adapter for a request: vault credentials in, every outbound call audited out."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters import (
    PsaAdapter,
    PsaAuthFailed,
    PsaConfigurationError,
    PsaCredentials,
    PsaError,
    PsaOutcomeUnknown,
    PsaRateLimited,
    PsaRejected,
    PsaTicketNotFound,
    build_adapter,
)
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.credentials.sign_in import sign_in_credentials
from services.integrations.events.services import record_outbound_call, revealed_secrets
from services.integrations.oauth.services import Broker
from services.integrations.vault.keys_config import VaultKeys
from shared.errors import DomainError, NotFound, ServiceUnavailable, ValidationFailed
from shared.models import IntegrationCredential

MAX_AUDITED_RESPONSE_BYTES = 64_000


class PsaBadGateway(DomainError):
    """The PSA refused or garbled a call we made on the caller's behalf."""

    status, slug, title = 502, "psa-error", "The PSA refused the call"


class PsaOutcomeUncertain(DomainError):
    """A create/note POST may have succeeded: retrying could duplicate it."""

    status, slug, title = 502, "psa-outcome-unknown", "The PSA call may have taken effect or not"


class PsaMisconfigured(DomainError):
    """The stored credential cannot be used as it is (missing fields, failed discovery)."""

    status, slug, title = 409, "psa-misconfigured", "The PSA credential cannot be used"


class CredentialSource(Protocol):
    """Hands out the plaintext PSA credential of an integration type (writing its audit row)."""

    def psa_credentials(
        self, *, session: Session, integration_type: str, purpose: str, context: AccessContext
    ) -> PsaCredentials: ...


def active_credential(*, session: Session, integration_type: str) -> IntegrationCredential:
    """The type's default credential: the first active one by name; 404 when there is none."""
    row = session.scalars(
        select(IntegrationCredential)
        .where(
            IntegrationCredential.integration_type == integration_type,
            IntegrationCredential.is_active.is_(True),
        )
        .order_by(IntegrationCredential.integration_name)
    ).first()
    if row is None:
        raise NotFound("integration", integration_type)
    return row


@dataclass(frozen=True)
class VaultCredentials:
    """The vault as a CredentialSource: the active credential of the type, signed in with."""

    vault: VaultKeys
    broker: Broker

    def psa_credentials(
        self, *, session: Session, integration_type: str, purpose: str, context: AccessContext
    ) -> PsaCredentials:
        row = active_credential(session=session, integration_type=integration_type)
        return sign_in_credentials(
            session=session,
            vault=self.vault,
            broker=self.broker,
            row=row,
            context=replace(context, purpose=purpose),
        )


def _bounded(call: OutboundCall) -> OutboundCall:
    """The call with an oversized response body (a long search page) replaced by its size."""
    size = len(json.dumps(call.response, default=str))
    if size <= MAX_AUDITED_RESPONSE_BYTES:
        return call
    return replace(call, response={"truncated": True, "bytes": size})


@dataclass
class OutboundRecorder:
    """The adapters' audit hook: one external_integrations row per attempt, in its own transaction.

    Its own session, so the record survives whatever the request does afterwards (a PSA ticket
    created before a failed commit is still on file).
    """

    session_factory: Callable[[], Session]
    session_id: str | None = None
    created_by: str | None = None
    recorded: list[str] = field(default_factory=list)
    # The plaintexts the vault revealed for this adapter: never written, whatever the PSA echoes.
    known_secrets: tuple[str, ...] = field(default=(), repr=False)

    def __call__(self, call: OutboundCall) -> None:
        with self.session_factory() as own:
            row = record_outbound_call(
                session=own,
                call=_bounded(call),
                session_id=self.session_id,
                created_by=self.created_by or "integrations",
                known_secrets=self.known_secrets,
            )
            own.commit()
            self.recorded.append(row.id)


@dataclass(frozen=True)
class PsaAccess:
    """Everything needed to open an adapter on behalf of one caller."""

    credentials: CredentialSource
    session_factory: Callable[[], Session]
    context: AccessContext = field(default_factory=AccessContext)
    adapter_options: dict[str, Any] = field(default_factory=dict)

    def adapter(
        self,
        *,
        session: Session,
        integration_type: str,
        purpose: str,
        session_id: str | None = None,
    ) -> PsaAdapter:
        """An adapter for the type, its credential revealed (audited) and its calls recorded."""
        creds = self.credentials.psa_credentials(
            session=session,
            integration_type=integration_type,
            purpose=purpose,
            context=self.context,
        )
        recorder = OutboundRecorder(
            self.session_factory,
            session_id,
            self.context.on_behalf_of,
            known_secrets=revealed_secrets(creds),
        )
        try:
            return build_adapter(integration_type, creds, audit=recorder, **self.adapter_options)
        except PsaError as exc:
            raise as_domain_error(exc) from None


def as_domain_error(exc: PsaError, *, ticket_field: str | None = None) -> DomainError:
    """The problem+json answer for an adapter failure."""
    if isinstance(exc, PsaTicketNotFound):
        if ticket_field:
            return ValidationFailed({ticket_field: [f"no such ticket in {exc.integration_type}"]})
        return NotFound("ticket", exc.ticket_ref)
    if isinstance(exc, PsaRateLimited):
        return ServiceUnavailable(
            exc.detail,
            retry_after=max(1, math.ceil(exc.retry_after)),
            integration_type=exc.integration_type,
        )
    if isinstance(exc, PsaOutcomeUnknown):
        return PsaOutcomeUncertain(
            f"{exc.detail}; check the PSA before retrying", integration_type=exc.integration_type
        )
    if isinstance(exc, PsaRejected) and exc.field:
        return ValidationFailed({exc.field: exc.messages})
    if isinstance(exc, PsaRejected):
        return ValidationFailed(
            {"psa": exc.messages or [exc.detail]},
            detail=f"{exc.integration_type} refused the request",
        )
    if isinstance(exc, PsaConfigurationError):
        return PsaMisconfigured(exc.detail, integration_type=exc.integration_type)
    if isinstance(exc, PsaAuthFailed):
        return PsaBadGateway(
            f"{exc.integration_type} refused the stored credentials",
            integration_type=exc.integration_type,
        )
    return ServiceUnavailable(exc.detail, retry_after=30, integration_type=exc.integration_type)
