"""When checkpoints are written: by each worker after N appends or T minutes, and on demand."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response
from sqlalchemy import Engine

from services.integrations.access_log.chain import APPENDS
from services.integrations.access_log.checkpoint_sinks import (
    S3_SETTINGS,
    CheckpointSink,
    sinks_from_settings,
)
from services.integrations.access_log.checkpoints import Checkpoint, take_checkpoint
from shared.config import Setting, parse_optional_text, parse_positive_int
from shared.observability import carrying_request_id
from shared.web.db import engine_of

log = logging.getLogger(__name__)

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
    *S3_SETTINGS,
)


def write_checkpoint(
    *, engine: Engine, key: bytes, sinks: tuple[CheckpointSink, ...]
) -> Checkpoint:
    """Take a checkpoint and write it to the log (one JSON line) and every sink."""
    with engine.connect() as connection:
        checkpoint = take_checkpoint(connection=connection, key=key)
    signed = checkpoint.signed(key)
    log.info("credential audit checkpoint", extra={"checkpoint": signed})
    for sink in sinks:
        sink.keep(signed)
    return checkpoint


@dataclass
class CheckpointSchedule:
    """When this worker writes its next checkpoint: after `every` appends, or `interval`
    seconds after the last one if anything was appended since."""

    every: int
    interval: float
    sinks: tuple[CheckpointSink, ...]
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
        sinks=sinks_from_settings(settings),
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
            write_checkpoint(engine=engine, key=key, sinks=schedule.sinks)
        except Exception:  # after the answer: nobody to tell but the log
            log.exception("writing the credential audit checkpoint failed")

    return work
