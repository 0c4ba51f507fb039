"""Every service connection to MariaDB is bounded: the server stops a statement that runs too
long, the client stops waiting on a server that stopped answering; migrations are exempt."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.db import DatabaseTimeouts, make_engine, timeouts_from_environment

BOUNDS = DatabaseTimeouts(statement_seconds=1, read_seconds=3)


def _scalar(url: str, sql: str, **engine_options: object) -> object:
    engine = make_engine(url, **engine_options)  # type: ignore[arg-type]
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_a_service_connection_carries_the_statement_time_limit(database_url: str) -> None:
    assert _scalar(database_url, "SELECT @@SESSION.max_statement_time", timeouts=BOUNDS) == 1


def test_a_statement_past_the_limit_is_stopped_by_the_server(database_url: str) -> None:
    began = time.monotonic()
    with pytest.raises(OperationalError, match="max_statement_time"):
        _scalar(
            database_url,
            "SELECT COUNT(*) FROM seq_1_to_100000 a, seq_1_to_100000 b WHERE a.seq + b.seq = 3",
            timeouts=BOUNDS,
        )
    assert time.monotonic() - began < BOUNDS.read_seconds


def test_the_client_gives_up_on_a_server_that_does_not_answer(database_url: str) -> None:
    # SLEEP is not a statement the server stops early (it returns 1 when interrupted), so a
    # limit above the read timeout leaves only the client's own bound to end the wait.
    patient_server = DatabaseTimeouts(statement_seconds=60, read_seconds=1)
    began = time.monotonic()
    with pytest.raises(OperationalError):
        _scalar(database_url, "SELECT SLEEP(10)", timeouts=patient_server)
    assert time.monotonic() - began < 5


def test_migrations_run_without_a_statement_limit(database_url: str) -> None:
    assert _scalar(database_url, "SELECT @@SESSION.max_statement_time", bounded=False) == 0


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf"])
def test_a_malformed_read_timeout_stops_start_up_naming_the_variable(
    raw: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_READ_TIMEOUT", raw)
    with pytest.raises(SystemExit):
        timeouts_from_environment()
    assert "DATABASE_READ_TIMEOUT" in capsys.readouterr().err
