"""Database pool metrics on MariaDB: connections in use, and the checkouts that waited for one,
counted the same after a worker's fork disposes of the pool it inherited."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text

from shared.db import make_engine
from shared.web.metrics import instrument_pool


def _value(name: str, service: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": service}) or 0.0


@pytest.fixture
def one_connection_engine(database_url: str) -> Iterator[tuple[Engine, str]]:
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=10)
    service = f"pool-test-{uuid4().hex[:8]}"  # a label of its own: other tests use the pool too
    instrument_pool(engine, service)
    yield engine, service
    engine.dispose()


@pytest.mark.parametrize("disposed_first", [False, True], ids=["as made", "after dispose"])
def test_a_checkout_that_finds_the_pool_full_is_counted_as_a_wait(
    one_connection_engine: tuple[Engine, str], disposed_first: bool
) -> None:
    engine, service = one_connection_engine
    if disposed_first:  # what each gunicorn worker does right after the fork
        engine.dispose(close=False)
    holder = engine.connect()
    holder.execute(text("SELECT 1"))
    assert _value("db_pool_connections_in_use", service) == 1
    waited: list[float] = []

    def second_request() -> None:
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        waited.append(time.perf_counter() - started)

    waiter = threading.Thread(target=second_request)
    waiter.start()
    time.sleep(0.3)  # the second request is now queued behind the held connection
    holder.close()
    waiter.join(timeout=10)

    assert waited and waited[0] >= 0.25
    assert _value("db_pool_waits_total", service) == 1
    assert _value("db_pool_wait_seconds_total", service) >= 0.25
    assert _value("db_pool_connections_in_use", service) == 0


def test_checkouts_with_a_free_connection_are_not_waits(
    one_connection_engine: tuple[Engine, str],
) -> None:
    engine, service = one_connection_engine
    for _ in range(5):
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            assert _value("db_pool_connections_in_use", service) == 1
    assert _value("db_pool_waits_total", service) == 0
    assert _value("db_pool_connections_in_use", service) == 0
