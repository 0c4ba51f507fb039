"""End-to-end fixtures: the whole system as real processes on this run's MariaDB database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(
    database_url: str, token_factory: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    with running_stack(database_url, token_factory, workdir) as running:
        yield running
