"""A stack on a database of its own (so other suites' rows, e.g. PSA credentials, cannot leak in)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session

from shared.auth import create_user, issue_token
from shared.db import make_engine
from shared.migrate import upgrade_to_head
from tests.e2e.stack import Stack, running_stack
from tests.mariadb import MariaDBServer

T = TypeVar("T")


class Tokens:
    """Bearer tokens with exactly the scopes asked for, stored in one database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._issued: dict[tuple[str, ...], str] = {}

    def __call__(self, *scopes: str) -> str:
        key = tuple(sorted(scopes))
        if key not in self._issued:
            self._issued[key] = self._issue(key)
        return self._issued[key]

    def headers(self, *scopes: str, request_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self(*scopes)}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return headers

    def _issue(self, scopes: tuple[str, ...]) -> str:
        engine = make_engine(self.database_url)
        try:
            with Session(bind=engine, expire_on_commit=False) as session:
                user = create_user(
                    session=session, username=f"e2e-{os.urandom(6).hex()}", role="technician"
                )
                _, plaintext = issue_token(session=session, user=user, name="e2e", scopes=scopes)
                session.commit()
        finally:
            engine.dispose()
        return plaintext


def migrated_database(server: MariaDBServer, prefix: str) -> str:
    """A new database on the harness server at the Alembic head (dropped with the run's others)."""
    url = server.url(server.create_database(prefix))
    upgrade_to_head(url)
    return url


@contextmanager
def private_stack(database_url: str, workdir: Path, **extra: str) -> Iterator[tuple[Stack, Tokens]]:
    """The three services on this database, and a token maker for the same database."""
    tokens = Tokens(database_url)
    (workdir / "backups").mkdir(parents=True, exist_ok=True)
    env = {"BACKUP_FOLDER": str(workdir / "backups"), **extra}
    with running_stack(database_url, tokens, workdir, **env) as stack:
        yield stack, tokens


def eventually(probe: Callable[[], T | None], *, within: float = 60.0, every: float = 0.2) -> T:
    """Poll until probe returns something truthy; fail (not hang) after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {within} s (last: {last!r})")
