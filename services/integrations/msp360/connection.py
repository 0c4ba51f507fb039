"""The MSP360 account of this service: its vault credential, its token, its call log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

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
from services.integrations.msp360.sync import PlanSource
from services.integrations.msp360.tokens import VaultTokens
from services.integrations.psa.access import OutboundRecorder, active_credential
from services.integrations.vault.keys_config import VaultKeys
from shared.client import PeerUnavailable
from shared.errors import Conflict, DomainError

ADAPTER_OPTIONS = ("settings", "sleep", "http")


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


def _mask(log: OutboundRecorder, secret: str) -> None:
    """From now on `secret` is masked wherever it appears in a row the log writes."""
    if secret not in log.known_secrets:
        log.known_secrets += (secret,)


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
        row = active_credential(session=session, integration_type=INTEGRATION_TYPE)
        credential_id, api_url = row.id, row.api_url
        session.rollback()
        log = OutboundRecorder(
            self.session_factory, created_by=self.context.on_behalf_of or "msp360-sync"
        )
        adapter_box: list[Msp360Adapter] = []

        def login(username: str, password: str) -> LoginGrant:
            _mask(log, password)
            grant = adapter_box[0].login(username, password)
            _mask(log, grant.access_token)
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

    log: OutboundRecorder | None = None

    def token(self) -> str:
        token = super().token()
        if self.log is not None:
            _mask(self.log, token)
        return token

    def renew(self, rejected: str) -> str:
        token = super().renew(rejected)
        if self.log is not None:
            _mask(self.log, token)
        return token
