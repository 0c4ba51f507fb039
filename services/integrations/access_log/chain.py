"""Append rows to the credential access log as HMAC chains, and verify the chains.

The log is AUDIT_CHAINS parallel chains; a credential's rows always go to the same chain
(crc32 of its id), so every credential's history is one ordered, linked sequence, and
reveals of different credentials do not queue behind one tip lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from shared.models import CredentialAccessLog, new_id, utcnow
from shared.models.integrations import AUDIT_CHAINS, CredentialAuditHead

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AccessContext:
    """Who is acting, for whom, why and from where (copied into every audit row)."""

    actor_token_id: str | None = None
    on_behalf_of: str | None = None
    purpose: str | None = None
    request_id: str | None = None
    source_ip: str | None = None


@dataclass
class ChainReport:
    """The result of walking the chains: ok, or the first position that does not add up."""

    rows_checked: int = 0
    chains_checked: int = 0
    ok: bool = True
    broken_chain: int | None = None
    broken_at_seq: int | None = None
    problems: list[str] = field(default_factory=list)


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
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    message = prev_hash.encode("ascii") + b"|" + payload.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# Plain SQL on the hot path: these run on every reveal, and text() skips the per-statement
# compile and type processing of Core/ORM statements (the values are converted by hand below).
_NOOP_WRITE = text("UPDATE credential_audit_head SET seq = seq WHERE id = :chain")
_LOCK_TIP = text("SELECT seq, last_hash FROM credential_audit_head WHERE id = :chain FOR UPDATE")
_READ_TIP = text("SELECT seq, last_hash FROM credential_audit_head WHERE id = :chain")
_MOVE_TIP = text("UPDATE credential_audit_head SET seq = :seq, last_hash = :hash WHERE id = :chain")
_INSERT_ROW = text(
    "INSERT INTO credential_access_log (id, chain, seq, credential_id, credential_version,"
    " action, fields, actor_token_id, on_behalf_of, purpose, request_id, source_ip, outcome,"
    " created_at, prev_hash, row_hash) VALUES (:id, :chain, :seq, :credential_id,"
    " :credential_version, :action, :fields, :actor_token_id, :on_behalf_of, :purpose,"
    " :request_id, :source_ip, :outcome, :created_at, :prev_hash, :row_hash)"
)


def _take_tip(connection: Connection, chain: int) -> tuple[int, str]:
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
    return int(tip.seq) + 1, str(tip.last_hash)


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
) -> None:
    """Add one chained audit row in the caller's transaction (it commits with the use case).

    Three statements (lock+read tip, insert, move tip) on the session's connection.
    """
    connection = session.connection()
    chain = chain_of(credential_id)
    seq, prev = _take_tip(connection, chain)
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
    connection.execute(_MOVE_TIP, {"seq": seq, "hash": entry.row_hash, "chain": chain})


def verify_chain(*, session: Session, key: bytes, batch_size: int = 1000) -> ChainReport:
    """Recompute every link of every chain; report the first gap, relink or altered row."""
    report = ChainReport()
    heads = {h.id: h for h in session.scalars(select(CredentialAuditHead))}
    used = set(session.scalars(select(CredentialAccessLog.chain).distinct()))
    for chain in sorted(set(heads) | used):
        _verify_one(session, key, chain, heads.get(chain), report, batch_size)
        report.chains_checked += 1
        if not report.ok:
            break
    return report


def _verify_one(
    session: Session,
    key: bytes,
    chain: int,
    head: CredentialAuditHead | None,
    report: ChainReport,
    batch_size: int,
) -> None:
    expected_seq, prev = 1, GENESIS_HASH
    # Rows appended after the heads were read (live reveals) are not part of this check.
    last_seq = head.seq if head is not None else None
    while True:
        query = select(CredentialAccessLog).where(
            CredentialAccessLog.chain == chain, CredentialAccessLog.seq >= expected_seq
        )
        if last_seq is not None:
            query = query.where(CredentialAccessLog.seq <= last_seq)
        rows = session.scalars(query.order_by(CredentialAccessLog.seq).limit(batch_size)).all()
        for row in rows:
            problem = _link_problem(row, expected_seq, prev, key)
            if problem:
                _broken(report, chain, row.seq, problem)
                return
            report.rows_checked += 1
            expected_seq, prev = row.seq + 1, row.row_hash
        if len(rows) < batch_size:
            break
    if head is None:
        _broken(report, chain, expected_seq - 1, "the chain's tip record is missing")
    elif head.seq != expected_seq - 1 or head.last_hash != prev:
        _broken(report, chain, expected_seq, "rows at the end of the chain are missing")


def _link_problem(row: CredentialAccessLog, seq: int, prev: str, key: bytes) -> str | None:
    if row.seq != seq:
        return f"rows {seq}..{row.seq - 1} are missing"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous row"
    if not hmac.compare_digest(row.row_hash, row_hash(key=key, prev_hash=prev, row=row)):
        return "row content does not match its hash"
    return None


def _broken(report: ChainReport, chain: int, seq: int, problem: str) -> None:
    report.ok, report.broken_chain, report.broken_at_seq = False, chain, seq
    report.problems.append(problem)
