"""No rollback to an older secret: a credential opens only at the newest version its log recorded.

Every version a credential reaches is written to the hash-chained access log in the same
transaction (created, updated, rotated). An older ciphertext, data key and version put back
with SQL still decrypts (its AAD names that older version), so the version itself is checked
against the log: the newest version the log recorded is the one the row must be at.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Label, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.integrations.vault.sealing import CredentialUnreadable, SealedCredential
from shared.models import CredentialAccessLog

# A row the reveal read together with the newest audited version carries it under this name.
AUDITED_VERSION = "audited_version"


def newest_audited_version_of(
    credential_id_column: InstrumentedAttribute[str] | ColumnElement[str],
) -> Label[int | None]:
    """A scalar subquery: the newest version the access log recorded for the credential in
    `credential_id_column` (it rides on the query that loads the credential)."""
    return (
        select(func.max(CredentialAccessLog.credential_version))
        .where(CredentialAccessLog.credential_id == credential_id_column)
        .scalar_subquery()
        .label(AUDITED_VERSION)
    )


class CredentialRolledBack(CredentialUnreadable):
    """The row is older than the log says it is: answered like any unreadable credential."""

    def __init__(self, version: int, newest: int) -> None:
        super().__init__()
        self.reason = f"version {version} is older than version {newest} in the access log"


def refuse_rolled_back(session: Session, row: SealedCredential) -> None:
    """Raise CredentialRolledBack when the access log recorded a newer version of this row."""
    if hasattr(row, AUDITED_VERSION):
        newest = getattr(row, AUDITED_VERSION)
    else:  # an ORM row: one indexed lookup (credential_id, credential_version)
        newest = session.scalar(
            select(func.max(CredentialAccessLog.credential_version)).where(
                CredentialAccessLog.credential_id == row.id
            )
        )
    if newest is not None and row.version < newest:
        raise CredentialRolledBack(row.version, newest)
