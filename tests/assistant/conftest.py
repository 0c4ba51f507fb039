"""The three services as real processes on a database of their own, for the assistant's hooks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.private_stack import private_stack
from tests.e2e.stack import Stack
from tests.mariadb import MariaDBServer
from tests.tokens import TokenMaker as Tokens


@pytest.fixture(scope="module")
def system(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Tokens]]:
    database_url = mariadb_server.migrated_database("e2e_assistant")
    with private_stack(database_url, tmp_path_factory.mktemp("assistant")) as running:
        yield running
