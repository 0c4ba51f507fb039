"""Verify the access log: every link, every head's MAC, every credential's version, and the
chains against the newest signed checkpoint (which the database cannot rewrite)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.integrations import telemetry
from services.integrations.access_log.chain import (
    GENESIS_HASH,
    head_is_sealed,
    head_mac,
    row_hash,
)
from services.integrations.access_log.checkpoint_sinks import CheckpointSink
from services.integrations.access_log.checkpoints import Checkpoint, CheckpointInvalid
from shared.models import CredentialAccessLog, IntegrationCredential
from shared.models.integrations import AUDIT_CHAINS, CredentialAuditHead


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up: which chain and rows, or which credential, and why."""

    kind: str
    detail: str
    chain: int | None = None
    from_seq: int | None = None
    to_seq: int | None = None
    credential_id: str | None = None


@dataclass
class ChainReport:
    """The result of a verification: ok, or the first broken link and every finding."""

    rows_checked: int = 0
    chains_checked: int = 0
    ok: bool = True
    broken_chain: int | None = None
    broken_at_seq: int | None = None
    checkpoint_taken_at: datetime | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [finding.detail for finding in self.findings]

    def add(self, finding: Finding) -> None:
        self.ok = False
        self.findings.append(finding)
        if self.broken_chain is None and finding.chain is not None:
            self.broken_chain, self.broken_at_seq = finding.chain, finding.from_seq


def verify_chain(
    *,
    session: Session,
    key: bytes,
    checkpoint: Checkpoint | None = None,
    batch_size: int = 1000,
) -> ChainReport:
    """Recompute every chain (stopping at the first broken one), check each head's MAC,
    each credential's version against the log, and the chains against `checkpoint`."""
    report = ChainReport()
    heads = {h.id: h for h in session.scalars(select(CredentialAuditHead))}
    used = set(session.scalars(select(CredentialAccessLog.chain).distinct()))
    # Every chain the log is made of, so one deleted whole (rows and head) is still visited.
    for chain in sorted(set(range(1, AUDIT_CHAINS + 1)) | set(heads) | used):
        _verify_one(session, key, chain, heads.get(chain), report, batch_size)
        report.chains_checked += 1
        if not report.ok:
            break
    _find_rolled_back_credentials(session, report)
    if checkpoint is not None:
        compare_with_checkpoint(session=session, checkpoint=checkpoint, report=report)
    return report


@telemetry.timed_chain_verification
def verify_with_sinks(
    *, session: Session, key: bytes, sinks: tuple[CheckpointSink, ...]
) -> ChainReport:
    """verify_chain against the newest checkpoint any sink holds (without one when none is
    configured or written yet); a forged or unreachable checkpoint store is a finding."""
    found: list[Checkpoint] = []
    refusals: list[Finding] = []
    for sink in sinks:
        try:
            checkpoint = sink.newest(key)
        except CheckpointInvalid as exc:
            refusals.append(Finding("checkpoint-invalid", f"{type(sink).__name__}: {exc}"))
        except Exception as exc:  # a sink that cannot be read must not hide the rest
            detail = f"{type(sink).__name__} could not be read ({type(exc).__name__})"
            refusals.append(Finding("checkpoint-unavailable", detail))
        else:
            found += [checkpoint] if checkpoint is not None else []
    newest = max(found, key=lambda c: c.taken_at, default=None)
    report = verify_chain(session=session, key=key, checkpoint=newest)
    for refusal in refusals:
        report.add(refusal)
    return report


def _verify_one(
    session: Session,
    key: bytes,
    chain: int,
    head: CredentialAuditHead | None,
    report: ChainReport,
    batch_size: int,
) -> None:
    # Rows appended after the heads were read (live reveals) are not part of this check.
    walked = _walk(session, key, chain, head.seq if head is not None else None, report, batch_size)
    if walked is not None:
        _check_head(session, key, chain, head, *walked, report)


def _walk(
    session: Session,
    key: bytes,
    chain: int,
    last_seq: int | None,
    report: ChainReport,
    batch_size: int,
) -> tuple[int, str] | None:
    """Check every link up to `last_seq`; (last position, its hash), or None when broken."""
    expected_seq, prev = 1, GENESIS_HASH
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
                report.add(Finding("broken-link", problem, chain, row.seq, row.seq))
                return None
            report.rows_checked += 1
            expected_seq, prev = row.seq + 1, row.row_hash
        if len(rows) < batch_size:
            return expected_seq - 1, prev


def seal_legacy_heads(*, session: Session, key: bytes) -> list[int]:
    """Give each head written before heads carried a MAC (NULL, past position 0) its MAC,
    once its chain verifies up to it; the chains sealed. Run once after upgrading."""
    sealed = []
    legacy = select(CredentialAuditHead).where(
        CredentialAuditHead.mac.is_(None), CredentialAuditHead.seq > 0
    )
    for head in session.scalars(legacy.with_for_update()).all():
        walked = _walk(session, key, head.id, head.seq, ChainReport(), 1000)
        if walked != (head.seq, head.last_hash):
            continue  # a broken chain is not vouched for: verify names what is wrong
        head.mac = head_mac(key=key, chain=head.id, seq=head.seq, last_hash=head.last_hash)
        sealed.append(head.id)
    session.commit()
    return sealed


def _check_head(
    session: Session,
    key: bytes,
    chain: int,
    head: CredentialAuditHead | None,
    walked_to: int,
    last_hash: str,
    report: ChainReport,
) -> None:
    if head is None:
        report.add(Finding("head-missing", "the chain's tip record is missing", chain, walked_to))
        return
    if not head_is_sealed(
        key=key, chain=chain, seq=head.seq, last_hash=head.last_hash, mac=head.mac
    ):
        detail = "the chain's head does not carry a valid MAC: it was set with SQL"
        report.add(Finding("head-forged", detail, chain, head.seq, head.seq))
    elif head.seq != walked_to or head.last_hash != last_hash:
        detail = f"rows {walked_to + 1}..{head.seq} at the end of the chain are missing"
        report.add(Finding("rows-missing", detail, chain, walked_to + 1, head.seq))
    else:
        _check_rows_beyond_head(session, chain, report)


def _check_rows_beyond_head(session: Session, chain: int, report: ChainReport) -> None:
    """Rows past the head mean the head was put back (an older copy); a live append moves
    the head in the same commit as its row, so the head read after the rows is ahead."""
    last_row = session.scalar(
        select(func.max(CredentialAccessLog.seq)).where(CredentialAccessLog.chain == chain)
    )
    head_now = session.scalar(
        select(CredentialAuditHead.seq).where(CredentialAuditHead.id == chain)
    )
    if last_row is not None and head_now is not None and last_row > head_now:
        detail = f"rows {head_now + 1}..{last_row} lie past the head: an older head was put back"
        report.add(Finding("head-rewound", detail, chain, head_now + 1, last_row))


def _link_problem(row: CredentialAccessLog, seq: int, prev: str, key: bytes) -> str | None:
    if row.seq != seq:
        return f"rows {seq}..{row.seq - 1} are missing"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous row"
    if not hmac.compare_digest(row.row_hash, row_hash(key=key, prev_hash=prev, row=row)):
        return "row content does not match its hash"
    return None


def _find_rolled_back_credentials(session: Session, report: ChainReport) -> None:
    """A credential older than the newest version its log recorded had an older ciphertext
    put back; one with no log row at all had its history deleted."""
    newest = func.max(CredentialAccessLog.credential_version)
    rows = session.execute(
        select(IntegrationCredential.id, IntegrationCredential.version, newest)
        .outerjoin(
            CredentialAccessLog, CredentialAccessLog.credential_id == IntegrationCredential.id
        )
        .group_by(IntegrationCredential.id, IntegrationCredential.version)
        .having((newest.is_(None)) | (newest > IntegrationCredential.version))
        .order_by(IntegrationCredential.id)
    ).all()
    for credential_id, version, logged in rows:
        if logged is None:
            detail = f"credential {credential_id} has no access-log row: its history was deleted"
            report.add(Finding("history-missing", detail, credential_id=credential_id))
        else:
            detail = (
                f"credential {credential_id} is at version {version}, but the access log "
                f"recorded version {logged}: an older secret was put back"
            )
            report.add(Finding("rolled-back", detail, credential_id=credential_id))


def compare_with_checkpoint(
    *, session: Session, checkpoint: Checkpoint, report: ChainReport
) -> None:
    """Each chain must still hold, unchanged, every row the checkpoint recorded for it."""
    report.checkpoint_taken_at = checkpoint.taken_at
    last_rows = select(CredentialAccessLog.chain, func.max(CredentialAccessLog.seq)).group_by(
        CredentialAccessLog.chain
    )
    ends = {chain: end for chain, end in session.execute(last_rows)}
    heads = set(session.scalars(select(CredentialAuditHead.id)))
    when = checkpoint.taken_at.isoformat()
    for recorded in checkpoint.heads:
        if recorded.seq == 0:
            continue
        end = ends.get(recorded.chain, 0)
        if end < recorded.seq:
            gone = "" if recorded.chain in heads else "; its head row is gone too"
            detail = (
                f"chain {recorded.chain}: rows {end + 1}..{recorded.seq} are missing (the "
                f"checkpoint of {when} recorded {recorded.seq} rows, the chain ends at {end}){gone}"
            )
            report.add(Finding("rows-missing", detail, recorded.chain, end + 1, recorded.seq))
            continue
        _compare_recorded_row(
            session, recorded.chain, recorded.seq, recorded.last_hash, when, report
        )


def _compare_recorded_row(
    session: Session, chain: int, seq: int, last_hash: str, when: str, report: ChainReport
) -> None:
    stored = session.scalar(
        select(CredentialAccessLog.row_hash).where(
            CredentialAccessLog.chain == chain, CredentialAccessLog.seq == seq
        )
    )
    if stored is None or not hmac.compare_digest(stored, last_hash):
        detail = (
            f"chain {chain}: row {seq} is not the row the checkpoint of {when} recorded: "
            f"rows up to {seq} were replaced or renumbered"
        )
        report.add(Finding("rewritten", detail, chain, seq, seq))
