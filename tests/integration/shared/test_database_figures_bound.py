"""A scrape whose database never answers still answers within the readiness bound, and says so."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from services.insights.app import create_app
from shared.web.health import READYZ_TIMEOUT_SECONDS


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a frozen mariadbd's shape)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


def test_a_scrape_against_a_database_that_never_answers_ends_within_the_readiness_bound(
    silent_server: int,
) -> None:
    app = create_app(
        {"DATABASE_URL": f"mysql+pymysql://msp@127.0.0.1:{silent_server}/msp", "LOG_LEVEL": "ERROR"}
    )
    started = time.monotonic()

    answer = app.test_client().get("/metrics")

    assert time.monotonic() - started < READYZ_TIMEOUT_SECONDS + 1
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "metrics_database_read_ok 0.0" in text
    assert "http_requests_total" in text  # the process's own metrics are still served
