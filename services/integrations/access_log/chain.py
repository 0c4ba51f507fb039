"""Append rows to the credential access log as HMAC chains under MAC'd chain heads.

The log is AUDIT_CHAINS parallel chains; a credential's rows always go to the same chain
(crc32 of its id), so every credential's history is one ordered, linked sequence, and
reveals of different credentials do not queue behind one tip lock. Each chain's head row
carries a MAC, so a head set back with SQL stops the chain instead of being built upon.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from services.integrations import telemetry
from shared.models import CredentialAccessLog, new_id, utcnow
from shared.models.integrations import AUDIT_CHAINS

GENESIS_HASH = "0" * 64
REASON_CHARS = 200  # credential_access_log.reason


@dataclass(frozen=True)
class AccessContext:
    """Who is acting, for whom, why and from where (copied into every audit row)."""

    actor_token_id: str | None = None
    on_behalf_of: str | None = None
    purpose: str | None = None
    request_id: str | None = None
    source_ip: str | None = None


def chain_of(credential_id: str) -> int:
    """The chain (1..AUDIT_CHAINS) a credential's audit rows belong to."""
    return zlib.crc32(credential_id.encode("utf-8")) % AUDIT_CHAINS + 1


def row_hash(*, key: bytes, prev_hash: str, row: CredentialAccessLog | SimpleNamespace) -> str:
    """HMAC-SHA256 over the previous hash and a canonical JSON form of the row."""
    created: datetime = row.created_at
    payload = json.dumps(
        [
            row.chain,
            row.seq,
            row.id,
            row.credential_id,
            row.credential_version,
            row.action,
            row.fields,
            row.actor_token_id,
            row.on_behalf_of,
            row.purpose,
            row.request_id,
            row.source_ip,
            row.outcome,
            created.isoformat(),
            # Only rows that carry a reason hash one, so rows written before it still verify.
            *([reason] if (reason := getattr(row, "reason", None)) is not None else []),
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    message = prev_hash.encode("ascii") + b"|" + payload.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_mac(*, key: bytes, chain: int, seq: int, last_hash: str) -> str:
    """HMAC-SHA256 of one chain head: which chain, how long, and the hash it ends on."""
    message = f"credential-audit-head|{chain}|{seq}|{last_hash}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_is_sealed(*, key: bytes, chain: int, seq: int, last_hash: str, mac: str | None) -> bool:
    """True when the head's MAC verifies (a head at position 0 may have none: the migration
    that creates the heads holds no key)."""
    if mac is None:
        return seq == 0 and last_hash == GENESIS_HASH
    expected = head_mac(key=key, chain=chain, seq=seq, last_hash=last_hash)
    return hmac.compare_digest(mac, expected)


class AppendCounter:
    """Appends this process made; checkpoints are due after a number of them (approximate
    under threads, which is all a trigger needs)."""

    def __init__(self) -> None:
        self.count = 0

    def note(self) -> None:
        self.count += 1


APPENDS = AppendCounter()

# Plain SQL on the hot path: these run on every reveal, and text() skips the per-statement
# compile and type processing of Core/ORM statements (the values are converted by hand below).
_NOOP_WRITE = text("UPDATE credential_audit_head SET seq = seq WHERE id = :chain")
_LOCK_TIP = text(
    "SELECT seq, last_hash, mac FROM credential_audit_head WHERE id = :chain FOR UPDATE"
)
_READ_TIP = text("SELECT seq, last_hash, mac FROM credential_audit_head WHERE id = :chain")
_MOVE_TIP = text(
    "UPDATE credential_audit_head SET seq = :seq, last_hash = :hash, mac = :mac WHERE id = :chain"
)
_INSERT_ROW = text(
    "INSERT INTO credential_access_log (id, chain, seq, credential_id, credential_version,"
    " action, fields, actor_token_id, on_behalf_of, purpose, request_id, source_ip, outcome,"
    " reason, created_at, prev_hash, row_hash) VALUES (:id, :chain, :seq, :credential_id,"
    " :credential_version, :action, :fields, :actor_token_id, :on_behalf_of, :purpose,"
    " :request_id, :source_ip, :outcome, :reason, :created_at, :prev_hash, :row_hash)"
)


def _take_tip(connection: Connection, chain: int, key: bytes) -> tuple[int, str]:
    """Lock one chain's tip and return (next position, previous hash)."""
    if connection.dialect.name == "sqlite":
        # SQLite has no FOR UPDATE: a no-op write takes the database write lock first.
        connection.execute(_NOOP_WRITE, {"chain": chain})
        tip = connection.execute(_READ_TIP, {"chain": chain}).first()
    else:
        # A locking read waits for the previous append to commit and then sees its tip.
        tip = connection.execute(_LOCK_TIP, {"chain": chain}).first()
    if tip is None:
        # The migration creates every chain's head at the genesis hash. A missing one was
        # deleted: restarting the chain would hide that, so no audit row, and no plaintext.
        raise AuditChainBroken(f"audit chain {chain} has no head row")
    seq, last_hash = int(tip.seq), str(tip.last_hash)
    if not head_is_sealed(key=key, chain=chain, seq=seq, last_hash=last_hash, mac=tip.mac):
        # A head set back (or forward) with SQL: building on it would give the rewound chain
        # a fresh, valid MAC and hide the rows cut off. Stop, as for a missing head.
        raise AuditChainBroken(f"audit chain {chain}'s head does not carry a valid MAC")
    return seq + 1, last_hash


class AuditChainBroken(RuntimeError):
    """The chain cannot take another row; the use case that needed it must not go on."""


def append_access(
    *,
    session: Session,
    key: bytes,
    credential_id: str,
    credential_version: int,
    action: str,
    fields: list[str] | None,
    context: AccessContext,
    outcome: str = "success",
    reason: str | None = None,
) -> None:
    """Add one chained audit row in the caller's transaction (it commits with the use case).

    Three statements (lock+read tip, insert, move tip) on the session's connection.
    """
    connection = session.connection()
    chain = chain_of(credential_id)
    seq, prev = _take_tip(connection, chain, key)
    # A plain namespace, not an ORM object: the row is written by the statement below, and
    # instrumenting sixteen attributes cost more than hashing them.
    entry = SimpleNamespace(
        id=new_id(),
        chain=chain,
        seq=seq,
        credential_id=credential_id,
        credential_version=credential_version,
        action=action,
        fields=fields,
        actor_token_id=context.actor_token_id,
        on_behalf_of=context.on_behalf_of,
        purpose=context.purpose,
        request_id=context.request_id,
        source_ip=context.source_ip,
        outcome=outcome,
        reason=None if reason is None else reason[:REASON_CHARS],
        created_at=utcnow(),
        prev_hash=prev,
    )
    entry.row_hash = row_hash(key=key, prev_hash=prev, row=entry)
    # The column types would do these two conversions; text() leaves them to us.
    values = vars(entry) | {
        "fields": None if fields is None else json.dumps(fields),
        "created_at": entry.created_at.astimezone(UTC).replace(tzinfo=None),
    }
    connection.execute(_INSERT_ROW, values)
    mac = head_mac(key=key, chain=chain, seq=seq, last_hash=entry.row_hash)
    connection.execute(_MOVE_TIP, {"seq": seq, "hash": entry.row_hash, "mac": mac, "chain": chain})
    APPENDS.note()
    telemetry.count_access(action, outcome)
