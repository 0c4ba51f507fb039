"""Fixtures every test shares: a real MariaDB, this run's migrated database, sessions, tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shared.db import make_engine
from tests.mariadb import (
    HOW_TO_GET_ONE,
    MariaDBServer,
    NoMariaDB,
    ThrowawayMariaDB,
    docker_answers,
    server_from_url,
)
from tests.tokens import TokenMaker


@pytest.fixture(scope="session", autouse=True)
def _files_stay_out_of_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Apps built with defaults keep generated keys and backups in a temp dir, not ./var."""
    scratch = tmp_path_factory.mktemp("service-files")
    os.environ.setdefault("VAULT_DEV_DIR", str(scratch / "vault"))
    os.environ.setdefault("BACKUP_FOLDER", str(scratch / "backups"))


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """Docker (testcontainers) if an engine answers; else TEST_DATABASE_URL; else a throwaway mariadbd."""
    if docker_answers():
        yield from _containerised()
    elif os.environ.get("TEST_DATABASE_URL"):
        server = server_from_url(os.environ["TEST_DATABASE_URL"])
        yield server
        server.drop_all_created()
    else:
        yield from _throwaway()


def _containerised() -> Iterator[MariaDBServer]:
    try:
        from testcontainers.community.mysql import MySqlContainer  # type: ignore[import-not-found]
    except ImportError:
        from testcontainers.mysql import MySqlContainer
    with MySqlContainer(
        "mariadb:10.11", dialect="pymysql", username="root", password="test", root_password="test"
    ) as container:
        port = int(container.get_exposed_port(3306))
        yield MariaDBServer(
            container.get_container_host_ip(),
            port,
            "root",
            "test",
            origin="testcontainers mariadb:10.11",
        )


def _throwaway() -> Iterator[MariaDBServer]:
    try:
        throwaway = ThrowawayMariaDB()
        throwaway.start()
    except NoMariaDB as exc:
        pytest.exit(str(exc) if str(exc) else HOW_TO_GET_ONE, returncode=3)
    try:
        yield throwaway.server()
    finally:
        throwaway.remove()


@pytest.fixture(scope="session")
def database_url(mariadb_server: MariaDBServer) -> str:
    """This run's own database, its schema made by `alembic upgrade head`."""
    return mariadb_server.migrated_database("msp_test")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back: service functions may commit."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def token_factory(engine: Engine) -> TokenMaker:
    """token_factory(*scopes) -> a live bearer token with exactly those scopes (cached)."""
    return TokenMaker(engine)


@pytest.fixture(scope="session")
def bearer(token_factory: TokenMaker) -> Callable[..., dict[str, str]]:
    """bearer(*scopes) -> request headers carrying a token with those scopes."""

    return token_factory.headers
