"""A stack on a database of its own (so other suites' rows, e.g. PSA credentials, cannot leak in)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.db import make_engine
from tests.e2e.stack import Stack, running_stack
from tests.tokens import TokenMaker as Tokens


@contextmanager
def private_stack(database_url: str, workdir: Path, **extra: str) -> Iterator[tuple[Stack, Tokens]]:
    """The three services on this database, and a token maker for the same database."""
    engine = make_engine(database_url)
    tokens = Tokens(engine, label="e2e")
    try:
        with running_stack(database_url, tokens, workdir, **extra) as stack:
            yield stack, tokens
    finally:
        engine.dispose()
