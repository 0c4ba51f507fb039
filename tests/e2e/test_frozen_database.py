"""A database that freezes (alive, not answering): requests are a quick 503, liveness stays 200,
/readyz says not ready within its own timeout, and the service recovers alone when it thaws.

The frozen server is a throwaway mariadbd of this test's own: SIGSTOP on the shared server
would freeze every other suite running against it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shared.db import make_engine
from tests.deploy.processes import RunningService, start, wait_for_status
from tests.e2e.stack import REPO, gunicorn_command, stack_environments
from tests.mariadb import NoMariaDB, ThrowawayMariaDB
from tests.polling import eventually
from tests.tokens import TokenMaker

READ_TIMEOUT = 2  # DATABASE_READ_TIMEOUT of the service under test, seconds
# The slowest honest path to a 503: a pool pre-ping that times out, then a fresh connection
# whose handshake times out too (two reads), plus gunicorn and HTTP overhead.
ANSWER_WITHIN = 3 * READ_TIMEOUT + 2
THREADS = 8  # 2 workers x 4 threads: the burst below holds every one of them


@pytest.fixture(scope="module")
def frozen_setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ThrowawayMariaDB, RunningService, TokenMaker]]:
    try:
        mariadb = ThrowawayMariaDB()
    except NoMariaDB as exc:
        pytest.fail(f"this test needs mariadbd binaries: {exc}")
    mariadb.start()
    url = mariadb.server().migrated_database("e2e_frozen")
    engine = make_engine(url)
    tokens = TokenMaker(engine, label="frozen")
    workdir: Path = tmp_path_factory.mktemp("frozen")
    (workdir / "backups").mkdir()
    extra = {"DATABASE_READ_TIMEOUT": str(READ_TIMEOUT), "DATABASE_STATEMENT_TIMEOUT": "1"}
    env = stack_environments(url, tokens, workdir, **extra)["insights"]
    service = start(gunicorn_command("insights"), env, cwd=REPO, log_path=workdir / "insights.log")
    try:
        wait_for_status(service, "/readyz")
        yield mariadb, service, tokens
    finally:
        _thaw(mariadb)
        service.stop()
        engine.dispose()
        mariadb.remove()


def _freeze(mariadb: ThrowawayMariaDB) -> None:
    assert mariadb.process is not None
    mariadb.process.send_signal(signal.SIGSTOP)


def _thaw(mariadb: ThrowawayMariaDB) -> None:
    if mariadb.process is not None and mariadb.process.poll() is None:
        mariadb.process.send_signal(signal.SIGCONT)


def _timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[requests.Response, float]:
    began = time.monotonic()
    answer = requests.get(url, headers=headers, timeout=60)
    return answer, time.monotonic() - began


def test_a_frozen_database_gives_quick_503s_live_healthz_and_recovery(
    frozen_setup: tuple[ThrowawayMariaDB, RunningService, TokenMaker],
) -> None:
    mariadb, service, tokens = frozen_setup
    clients = service.base_url + "/v1/clients"
    headers = tokens.headers("insights:read")
    assert requests.get(clients, headers=headers, timeout=10).status_code == 200

    _freeze(mariadb)
    try:
        with ThreadPoolExecutor(THREADS + 4) as pool:
            burst = [pool.submit(_timed_get, clients, headers) for _ in range(THREADS + 4)]
            time.sleep(0.5)  # every thread of the service is now waiting on the frozen server
            liveness, liveness_took = _timed_get(service.base_url + "/healthz")
            answers = [future.result() for future in burst]
        readiness, readiness_took = _timed_get(service.base_url + "/readyz")
    finally:
        _thaw(mariadb)

    assert (liveness.status_code, liveness.json()) == (200, {"status": "ok"})
    assert liveness_took < 1.0
    for answer, took in answers:
        assert answer.status_code == 503
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == 503
        # Those queued behind the first eight waited for a thread, then for their own timeout.
        assert took < 2 * ANSWER_WITHIN
    assert min(took for _, took in answers) < ANSWER_WITHIN
    assert readiness.status_code == 503
    assert readiness.headers["Content-Type"] == "application/problem+json"
    assert readiness_took < ANSWER_WITHIN

    eventually(
        lambda: requests.get(service.base_url + "/readyz", timeout=10).status_code == 200,
        within=30,
    )
    assert requests.get(clients, headers=headers, timeout=10).status_code == 200
    written = requests.post(
        clients,
        json={"name": "after the thaw"},
        headers=tokens.headers("insights:write"),
        timeout=10,
    )
    assert written.status_code == 201
