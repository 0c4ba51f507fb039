"""One sync stores plan states at a time, across workers and replicas (MariaDB GET_LOCK).

Row locks alone let concurrent syncs deadlock on plans both see for the first time (each
takes a gap lock looking for the row, then both insert it); waiting for the other sync's
turn costs a second or two and leaves it nothing to do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from shared.errors import ServiceUnavailable

LOCK_NAME = "msp:msp360-sync"
_LOCAL = threading.Lock()


@contextmanager
def sync_turn(engine: Engine, timeout: int = 20) -> Iterator[None]:
    """Hold the sync lock on a connection of its own; 503 when another sync keeps it longer
    than `timeout` seconds (under the database's statement time limit)."""
    if engine.dialect.name == "sqlite":  # the embedded default is one process
        if not _LOCAL.acquire(timeout=timeout):
            raise _busy()
        try:
            yield
        finally:
            _LOCAL.release()
        return
    with engine.connect() as connection:
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": LOCK_NAME, "timeout": timeout}
        ).scalar()
        if got != 1:
            raise _busy()
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
            connection.rollback()


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable("another MSP360 sync is storing plan states", retry_after=30)
