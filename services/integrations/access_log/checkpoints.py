"""Signed checkpoints of the access-log chain heads, kept where the database cannot rewrite them.

A checkpoint is each chain's head (position = row count, since positions run 1..n without
gaps, and the hash of its newest row) and the time, signed with an HMAC under the audit key.
It goes to the JSON log (one line) and, when AUDIT_CHECKPOINT_FILE is set, is appended to that
file. `verify` given the newest one names every chain that lost or changed rows it recorded,
even when the rows and the head were put back consistently (an older copy of the head).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response
from sqlalchemy import Connection, Engine, text

from services.integrations.access_log.chain import APPENDS, head_is_sealed
from shared.config import Setting, parse_optional_text, parse_positive_int
from shared.models import utcnow
from shared.observability import carrying_request_id
from shared.web.db import engine_of

log = logging.getLogger(__name__)

KIND = "credential-audit-checkpoint"
CHECKPOINT_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AUDIT_CHECKPOINT_FILE",
        parse_optional_text,
        None,
        "append each signed checkpoint of the access-log chain heads to this file (JSON lines)",
    ),
    Setting(
        "AUDIT_CHECKPOINT_EVERY",
        parse_positive_int,
        500,
        "a worker writes a checkpoint after this many access-log rows",
    ),
    Setting(
        "AUDIT_CHECKPOINT_MINUTES",
        parse_positive_int,
        10,
        "... or this many minutes after its last one, if it appended a row since",
    ),
)
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


def write_checkpoint(*, engine: Engine, key: bytes, sink: str | None) -> Checkpoint:
    """Take a checkpoint and write it to the log and, when configured, the sink file."""
    with engine.connect() as connection:
        checkpoint = take_checkpoint(connection=connection, key=key)
    signed = checkpoint.signed(key)
    log.info("credential audit checkpoint", extra={"checkpoint": signed})
    if sink:
        _append_line(sink, json.dumps(signed, separators=(",", ":")))
    return checkpoint


def _append_line(path: str, line: str) -> None:
    # O_APPEND: writers in several workers each add whole lines, none overwrites another.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass
class CheckpointSchedule:
    """When this worker writes its next checkpoint: after `every` appends, or `interval`
    seconds after the last one if anything was appended since."""

    every: int
    interval: float
    sink: str | None
    appends_at_last: int = 0
    last_at: float = 0.0

    def take_if_due(self) -> bool:
        """True (and the clock reset) when a checkpoint is due now."""
        appended = APPENDS.count - self.appends_at_last
        now = time.monotonic()
        if appended < self.every and not (appended and now - self.last_at >= self.interval):
            return False
        self.appends_at_last, self.last_at = APPENDS.count, now
        return True


def install_checkpoints(app: Flask, settings: Mapping[str, Any]) -> None:
    """Write a checkpoint after the answer of a request that made one due."""
    schedule = CheckpointSchedule(
        every=settings["AUDIT_CHECKPOINT_EVERY"],
        interval=settings["AUDIT_CHECKPOINT_MINUTES"] * 60.0,
        sink=settings["AUDIT_CHECKPOINT_FILE"],
        last_at=time.monotonic(),
    )
    app.extensions["audit_checkpoints"] = schedule

    @app.after_request
    def _checkpoint_when_due(response: Response) -> Response:
        if schedule.take_if_due():
            response.call_on_close(carrying_request_id(_checkpoint_work(app, schedule)))
        return response


def _checkpoint_work(app: Flask, schedule: CheckpointSchedule) -> Callable[[], None]:
    engine, key = engine_of(app), app.extensions["vault"].audit_key

    def work() -> None:
        try:
            write_checkpoint(engine=engine, key=key, sink=schedule.sink)
        except Exception:  # after the answer: nobody to tell but the log
            log.exception("writing the credential audit checkpoint failed")

    return work
