"""One refresh per credential at a time, across workers and replicas (MariaDB GET_LOCK)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from shared.errors import ServiceUnavailable

_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


@contextmanager
def refresh_lock(engine: Engine, credential_id: str, timeout: int = 30) -> Iterator[None]:
    """Hold the credential's refresh lock on a connection of its own (not the use case's)."""
    if engine.dialect.name == "sqlite":  # the embedded default is one process
        with _local_lock(credential_id):
            yield
        return
    name = f"msp:oauth-refresh:{credential_id}"
    with engine.connect() as connection:
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": timeout}
        ).scalar()
        if got != 1:
            raise ServiceUnavailable("another worker is refreshing this token", retry_after=2)
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            connection.rollback()


@contextmanager
def _local_lock(key: str) -> Iterator[None]:
    with _LOCAL_GUARD:
        lock = _LOCAL_LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield
