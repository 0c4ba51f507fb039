"""The MSP360 account of this service: its vault credential, its token, its call log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters.errors import (
    PsaAuthFailed,
    PsaConfigurationError,
    PsaError,
    PsaRateLimited,
    PsaRejected,
)
from services.integrations.adapters.msp360 import (
    INTEGRATION_TYPE,
    LoginGrant,
    MonitoredPlan,
    Msp360Adapter,
    Msp360Unreadable,
)
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.events.services import record_outbound_call
from services.integrations.msp360.sync import PlanSource
from services.integrations.msp360.tokens import VaultTokens
from services.integrations.vault.keys_config import VaultKeys
from shared.client import PeerUnavailable
from shared.errors import Conflict, DomainError, NotFound
from shared.models import IntegrationCredential

ADAPTER_OPTIONS = ("settings", "sleep", "http")
# A monitoring list of thousands of plans is stored in the call log by its size only.
MAX_LOGGED_RESPONSE_BYTES = 64_000


class Msp360Refused(DomainError):
    """MSP360 refused the stored API login, or answered what its API does not document."""

    status, slug, title = 502, "msp360-error", "MSP360 refused or garbled the call"


def as_problem(exc: PsaError) -> DomainError:
    """The problem+json answer for an MSP360 failure (never a secret in it)."""
    if isinstance(exc, PsaAuthFailed):
        return Msp360Refused("MSP360 refused the stored API login (UserName/Password)")
    if isinstance(exc, Msp360Unreadable):
        return Msp360Refused(f"MSP360 answered something unreadable: {exc.detail}")
    if isinstance(exc, PsaConfigurationError):
        return Conflict(f"the msp_backups credential cannot be used: {exc.detail}")
    if isinstance(exc, PsaRejected):
        return Msp360Refused(f"MSP360 refused the call: {exc.detail}"[:500])
    retry = int(exc.retry_after) + 1 if isinstance(exc, PsaRateLimited) else 30
    # MSP360 is a system this request needs, down or busy for now: the peer-unavailable problem
    return PeerUnavailable(f"MSP360: {exc.detail}", retry_after=retry)


@dataclass
class CallLog:
    """The adapter's audit hook: one external_integrations row per attempt, committed in a
    session of its own, with the login's password and tokens masked wherever they appear."""

    session_factory: Callable[[], Session]
    created_by: str
    secrets: set[str] = field(default_factory=set, repr=False)

    def __call__(self, call: OutboundCall) -> None:
        size = len(json.dumps(call.response, default=str))
        if size > MAX_LOGGED_RESPONSE_BYTES:
            call = replace(call, response={"truncated": True, "bytes": size})
        with self.session_factory() as own:
            record_outbound_call(
                session=own,
                call=call,
                created_by=self.created_by,
                known_secrets=tuple(self.secrets),
            )
            own.commit()


@dataclass
class Msp360Source(PlanSource):
    """The monitoring list of the account, read through the adapter."""

    adapter: Msp360Adapter
    tokens: VaultTokens

    def monitoring(self) -> tuple[list[MonitoredPlan], int]:
        try:
            return self.adapter.monitoring()
        except PsaError as exc:
            raise as_problem(exc) from None

    @property
    def logins(self) -> int:
        return self.tokens.logins


def msp360_credential(session: Session) -> IntegrationCredential:
    """The active msp_backups credential (the first by name); 404 when there is none."""
    row = session.scalars(
        select(IntegrationCredential)
        .where(
            IntegrationCredential.integration_type == INTEGRATION_TYPE,
            IntegrationCredential.is_active.is_(True),
        )
        .order_by(IntegrationCredential.integration_name)
    ).first()
    if row is None:
        raise NotFound("integration", INTEGRATION_TYPE)
    return row


@dataclass(frozen=True)
class Msp360Account:
    """Everything needed to open the account: vault, sessions, transport options."""

    vault: VaultKeys
    session_factory: Callable[[], Session]
    context: AccessContext
    refresh_ahead: timedelta = timedelta(minutes=5)
    adapter_options: dict[str, Any] = field(default_factory=dict)

    def open(self, session: Session) -> Msp360Source:
        """The source of the active credential; its token comes from the vault (or a login)."""
        row = msp360_credential(session)
        credential_id, api_url = row.id, row.api_url
        session.rollback()
        log = CallLog(self.session_factory, self.context.on_behalf_of or "msp360-sync")
        adapter_box: list[Msp360Adapter] = []

        def login(username: str, password: str) -> LoginGrant:
            log.secrets.add(password)
            grant = adapter_box[0].login(username, password)
            log.secrets.add(grant.access_token)
            return grant

        tokens = _LoggedTokens(
            session_factory=self.session_factory,
            vault=self.vault,
            credential_id=credential_id,
            context=replace(self.context, purpose="msp360-monitoring"),
            login=login,
            refresh_ahead=self.refresh_ahead,
            log=log,
        )
        # Of the options every PSA adapter gets, the ones this one takes (no vendor budgets:
        # MSP360 documents no rate limit).
        options = {k: v for k, v in self.adapter_options.items() if k in ADAPTER_OPTIONS}
        adapter = Msp360Adapter(api_url=api_url, tokens=tokens, audit=log, **options)
        adapter_box.append(adapter)
        return Msp360Source(adapter, tokens)


@dataclass
class _LoggedTokens(VaultTokens):
    """Tokens handed to the adapter are also masked in its call log."""

    log: CallLog | None = None

    def token(self) -> str:
        token = super().token()
        if self.log is not None:
            self.log.secrets.add(token)
        return token

    def renew(self, rejected: str) -> str:
        token = super().renew(rejected)
        if self.log is not None:
            self.log.secrets.add(token)
        return token
