"""The MSP360 bearer token, kept sealed in the vault beside the API login it came from.

A login's token lives about 14 days: it is stored (sealed, on the credential row, with its
expiry) and reused until `refresh_ahead` before it expires. Logging in again takes the refresh
broker's single-flight lock, so workers and replicas that all find the token stale, or all had
it refused, log in once between them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.access_log.credential_audit import (
    audit_credential,
    open_for_use,
    refuse_if_disabled,
)
from services.integrations.adapters.errors import PsaConfigurationError
from services.integrations.adapters.msp360 import INTEGRATION_TYPE, LoginGrant
from services.integrations.oauth.single_flight import refresh_lock
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import open_row, seal_row
from services.integrations.vault.stored import get_credential
from shared.db import engine_of_session
from shared.models import IntegrationCredential, utcnow

Login = Callable[[str, str], LoginGrant]


def _binding(row: IntegrationCredential) -> str:
    """Which login a stored token belongs to: a token kept from before the username or the
    api_url changed is another account's, and is not handed out."""
    digest = hashlib.sha256(f"{row.username}\0{row.api_url}".encode()).hexdigest()[:16]
    return f"msp360-token:{digest}:"


def _stored_token(row: IntegrationCredential, sealed: str | None) -> str | None:
    prefix = _binding(row)
    return sealed.removeprefix(prefix) if sealed and sealed.startswith(prefix) else None


@dataclass
class VaultTokens:
    """A TokenSource over one msp_backups credential; each use of a secret is audited."""

    session_factory: Callable[[], Session]
    vault: VaultKeys
    credential_id: str
    context: AccessContext
    login: Login
    refresh_ahead: timedelta = timedelta(minutes=5)
    logins: int = 0  # how many provider logins this source made (the sync reports it)

    def token(self) -> str:
        """The stored token while it is fresh; otherwise a new one (logging in at most once)."""
        with self.session_factory() as session:
            row = self._row(session)
            if self._is_fresh(row):
                token = self._hand_out(session, row)
                if token is not None:
                    return token
        return self._renew(rejected=None)

    def renew(self, rejected: str) -> str:
        """A token other than `rejected`: one stored meanwhile by another worker, or a login."""
        return self._renew(rejected=rejected)

    def _row(self, session: Session) -> IntegrationCredential:
        row = get_credential(session=session, credential_id=self.credential_id)
        if row.credential_type != "basic_auth" or not row.username:
            raise PsaConfigurationError(
                INTEGRATION_TYPE,
                "an msp_backups credential is basic_auth: the API login's username and password",
            )
        refuse_if_disabled(session, self.vault, row, action="used", context=self.context)
        return row

    def _is_fresh(self, row: IntegrationCredential) -> bool:
        if row.access_token_encrypted is None or row.token_expires_at is None:
            return False
        return row.token_expires_at - self.refresh_ahead > utcnow()

    def _hand_out(self, session: Session, row: IntegrationCredential) -> str | None:
        opened = open_for_use(
            session, self.vault, row, action="used", context=self.context, names=["access_token"]
        )
        token = _stored_token(row, opened.get("access_token"))
        if token is None:
            session.rollback()
            return None
        audit_credential(session, self.vault, row, "used", ["access_token"], self.context)
        session.commit()
        return token

    def _renew(self, *, rejected: str | None) -> str:
        with (
            self.session_factory() as session,
            refresh_lock(engine_of_session(session), self.credential_id),
        ):
            row = self._row(session)
            if self._is_fresh(row):
                sealed = open_row(keyring=self.vault.keyring, row=row, names=["access_token"])
                current = _stored_token(row, sealed.get("access_token"))
                if current is not None and current != rejected:  # logged in meanwhile
                    return self._hand_out(session, row) or current
            login = open_for_use(
                session, self.vault, row, action="rotated", context=self.context, names=["password"]
            )
            username = str(row.username)
            # No transaction stays open across the HTTP call.
            session.rollback()
            grant = self.login(username, login["password"])
            self.logins += 1
            return self._store(session, grant)

    def _store(self, session: Session, grant: LoginGrant) -> str:
        # Merged onto the latest row: a PATCH that landed meanwhile keeps its fields.
        row = get_credential(session=session, credential_id=self.credential_id, lock=True)
        secrets = open_row(keyring=self.vault.keyring, row=row)
        secrets["access_token"] = _binding(row) + grant.access_token
        row.version += 1
        lifetime = grant.expires_in if grant.expires_in is not None else 3600
        row.token_expires_at = utcnow() + timedelta(seconds=lifetime)
        seal_row(keyring=self.vault.keyring, row=row, secrets=secrets)
        audit_credential(session, self.vault, row, "rotated", ["access_token"], self.context)
        session.commit()
        return grant.access_token
