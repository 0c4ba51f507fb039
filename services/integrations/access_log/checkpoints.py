"""Signed checkpoints of the access-log chain heads, kept where the database cannot rewrite them.

A checkpoint is each chain's head (position = row count, since positions run 1..n without
gaps, and the hash of its newest row) and the time, signed with an HMAC under the audit key.
It goes to the JSON log (one line) and to the sinks configured (checkpoint_sinks). `verify`
given the newest one names every chain that lost or changed rows it recorded, even when the
rows and the head were put back consistently (an older copy of the head).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from services.integrations.access_log.chain import head_is_sealed
from shared.models import utcnow

log = logging.getLogger(__name__)

KIND = "credential-audit-checkpoint"
_READ_HEADS = text("SELECT id, seq, last_hash, mac FROM credential_audit_head ORDER BY id")


class CheckpointInvalid(ValueError):
    """A checkpoint that does not parse or whose signature does not verify."""


@dataclass(frozen=True)
class RecordedHead:
    """One chain as a checkpoint saw it: its row count and the hash of its newest row."""

    chain: int
    seq: int
    last_hash: str


@dataclass(frozen=True)
class Checkpoint:
    """The chain heads at one moment."""

    taken_at: datetime
    heads: tuple[RecordedHead, ...]

    def unsigned(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "taken_at": self.taken_at.isoformat(),
            "chains": [
                {"chain": h.chain, "rows": h.seq, "last_hash": h.last_hash} for h in self.heads
            ],
        }

    def signed(self, key: bytes) -> dict[str, Any]:
        body = self.unsigned()
        return body | {"mac": _mac(key, body)}


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, b"checkpoint|" + canonical, hashlib.sha256).hexdigest()


def parse_checkpoint(document: Mapping[str, Any], key: bytes) -> Checkpoint:
    """A checkpoint from its signed form (or a log line carrying one); refused unless signed
    under this audit key."""
    signed = document.get("checkpoint", document)
    if not isinstance(signed, Mapping) or signed.get("kind") != KIND:
        raise CheckpointInvalid("not a credential-audit checkpoint")
    body = {k: v for k, v in signed.items() if k != "mac"}
    if not hmac.compare_digest(str(signed.get("mac", "")), _mac(key, body)):
        raise CheckpointInvalid("the checkpoint's signature does not verify under the audit key")
    try:
        heads = tuple(
            RecordedHead(int(c["chain"]), int(c["rows"]), str(c["last_hash"]))
            for c in body["chains"]
        )
        return Checkpoint(datetime.fromisoformat(body["taken_at"]), heads)
    except (KeyError, TypeError, ValueError):
        raise CheckpointInvalid("a signed checkpoint with a malformed body") from None


def newest_checkpoint(lines: Iterable[str], key: bytes) -> Checkpoint | None:
    """The newest checkpoint among JSON lines that verify (other lines, log lines of another
    kind among them, are skipped); a line that claims to be one and fails is refused."""
    newest: Checkpoint | None = None
    for line in lines:
        document = _json_object(line)
        if document is None or KIND not in line:
            continue
        checkpoint = parse_checkpoint(document, key)
        if newest is None or checkpoint.taken_at > newest.taken_at:
            newest = checkpoint
    return newest


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        document = json.loads(line)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def read_checkpoint_file(path: str | Path, key: bytes) -> Checkpoint | None:
    """The newest checkpoint in a file of JSON lines (a sink file, or log lines grepped)."""
    with open(path, encoding="utf-8") as lines:
        return newest_checkpoint(lines, key)


def take_checkpoint(*, connection: Connection, key: bytes) -> Checkpoint:
    """The heads as they are now; a head whose MAC fails is left out (signing it would vouch
    for a forgery) and logged."""
    heads = []
    for row in connection.execute(_READ_HEADS):
        if head_is_sealed(key=key, chain=row.id, seq=row.seq, last_hash=row.last_hash, mac=row.mac):
            heads.append(RecordedHead(int(row.id), int(row.seq), str(row.last_hash)))
        else:
            log.error(
                "audit chain head fails its MAC; left out of the checkpoint",
                extra={"chain": row.id},
            )
    return Checkpoint(utcnow(), tuple(heads))
