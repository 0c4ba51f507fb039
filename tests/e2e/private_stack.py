"""A stack on a database of its own (so other suites' rows, e.g. PSA credentials, cannot leak in)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from shared.auth import create_user, issue_token
from shared.db import make_engine
from shared.migrate import upgrade_to_head
from tests.e2e.stack import Stack, running_stack
from tests.mariadb import MariaDBServer


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
    with running_stack(database_url, tokens, workdir, **extra) as stack:
        yield stack, tokens
