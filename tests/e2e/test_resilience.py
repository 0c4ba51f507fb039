"""Shutdowns and outages survived: SIGTERM drains, a peer down or slow is a quick 503/504, a
database outage is 503 with /readyz failing, the services recover alone and lose no answered write.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from sqlalchemy.engine import make_url
from werkzeug import Request, Response

from tests.deploy.processes import get
from tests.e2e.private_stack import Tokens, private_stack
from tests.e2e.stack import Stack
from tests.mariadb import MariaDBServer, NoMariaDB, ThrowawayMariaDB
from tests.polling import eventually

# Peer timeouts of these stacks (seconds); a caller must answer well inside request timeouts.
CONNECT_TIMEOUT, READ_TIMEOUT = 1, 1
CALLER_TIMEOUT = 30  # far above what a timely answer needs; hitting it means a hang


def new_client(stack: Stack, tokens: Tokens, name: str, timeout: float = CALLER_TIMEOUT) -> int:
    answer = requests.post(
        stack.url("insights") + "/v1/clients",
        json={"name": name},
        headers=tokens.headers("insights:write"),
        timeout=timeout,
    )
    return answer.status_code


@pytest.fixture(scope="module")
def stack_and_db(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, Tokens, MariaDBServer, str]]:
    url = mariadb_server.migrated_database("e2e_resilience")
    workdir = tmp_path_factory.mktemp("resilience")
    env = {"HTTP_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT), "HTTP_READ_TIMEOUT": str(READ_TIMEOUT)}
    with private_stack(url, workdir, **env) as (stack, tokens):
        yield stack, tokens, mariadb_server, make_url(url).database or ""


def test_sigterm_lets_in_flight_requests_finish_and_the_process_exits_zero(
    stack_and_db: tuple[Stack, Tokens, MariaDBServer, str],
) -> None:
    stack, tokens, server, database = stack_and_db
    # No more than one worker's threads: a worker may accept them all, and a connection it
    # accepted but has no thread for yet is queued, not in flight.
    names = [f"inflight-{secrets.token_hex(4)}-{i}" for i in range(4)]
    blocker = server.connect(database)
    try:
        with blocker.cursor() as cursor:
            # Holds the writes inside the service: they are in flight when SIGTERM arrives.
            cursor.execute("LOCK TABLES clients WRITE")
        with ThreadPoolExecutor(len(names)) as pool:
            futures = [pool.submit(new_client, stack, tokens, name) for name in names]
            eventually(lambda: _waiting_on_lock(server, database) >= len(names), within=30)
            stack.services["insights"].process.send_signal(15)
            time.sleep(1.0)  # the master has begun its graceful stop with requests in flight
            with blocker.cursor() as cursor:
                cursor.execute("UNLOCK TABLES")
            statuses = [future.result() for future in futures]
    finally:
        blocker.close()
    assert statuses == [201] * len(names)
    assert stack.services["insights"].process.wait(timeout=60) == 0
    assert set(names) <= _client_names(server, database)
    stack.launch("insights")


def _waiting_on_lock(server: MariaDBServer, database: str) -> int:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND STATE LIKE %s",
            (database, "%metadata lock%"),
        )
        (count,) = cursor.fetchone()
    return int(count)


def _client_names(server: MariaDBServer, database: str) -> set[str]:
    with server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name FROM clients")
        return {row[0] for row in cursor.fetchall()}


def _work_session(stack: Stack, tokens: Tokens) -> str:
    client = requests.post(
        stack.url("insights") + "/v1/clients",
        json={"name": f"peer-{secrets.token_hex(4)}"},
        headers=tokens.headers("insights:write"),
        timeout=CALLER_TIMEOUT,
    ).json()
    session = requests.post(
        stack.url("insights") + "/v1/sessions",
        json={"client_id": client["id"], "title": "peer outage"},
        headers=tokens.headers("insights:write"),
        timeout=CALLER_TIMEOUT,
    ).json()
    return str(session["id"])


def _link(stack: Stack, tokens: Tokens, session_id: str) -> requests.Response:
    return requests.post(
        stack.url("integrations") + "/v1/ticket-links",
        json={"session_id": session_id, "integration_type": "syncro", "ticket_id": "1"},
        headers=tokens.headers("integrations:write"),
        timeout=CALLER_TIMEOUT,
    )


@pytest.fixture(scope="module")
def syncro_credential(stack_and_db: tuple[Stack, Tokens, MariaDBServer, str]) -> None:
    stack, tokens, _, _ = stack_and_db
    answer = requests.post(
        stack.url("integrations") + "/v1/credentials",
        headers=tokens.headers("credentials:write"),
        json={
            "integration_name": "resilience-syncro",
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_url": "http://127.0.0.1:9",
            "api_key": secrets.token_hex(16),
        },
        timeout=CALLER_TIMEOUT,
    )
    assert answer.status_code == 201, answer.text


def _assert_problem(answer: requests.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) >= 1
    assert "Traceback" not in answer.text


def test_a_peer_that_is_down_gives_the_caller_a_prompt_503_with_retry_after(
    stack_and_db: tuple[Stack, Tokens, MariaDBServer, str], syncro_credential: None
) -> None:
    stack, tokens, _, _ = stack_and_db
    session_id = _work_session(stack, tokens)
    assert stack.services["insights"].stop() == 0
    try:
        _assert_problem(_link(stack, tokens, session_id), 503)
        assert get(stack.url("integrations") + "/readyz").status == 200  # its own DB is fine
    finally:
        stack.launch("insights")


def test_a_peer_that_hangs_gives_the_caller_a_504_instead_of_a_hang(
    stack_and_db: tuple[Stack, Tokens, MariaDBServer, str], syncro_credential: None
) -> None:
    stack, tokens, _, _ = stack_and_db
    release = threading.Event()

    def never_answers(request: Request) -> Response:
        release.wait(timeout=60)
        return Response("{}", content_type="application/json")

    slow = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    slow.expect_request(f"/v1/sessions/{'0' * 8}-0000-0000-0000-{'0' * 12}").respond_with_handler(
        never_answers
    )
    slow.start()
    original = stack.envs["integrations"]["INSIGHTS_URL"]
    stack.envs["integrations"]["INSIGHTS_URL"] = slow.url_for("/").rstrip("/")
    try:
        stack.restart("integrations")
        _assert_problem(_link(stack, tokens, f"{'0' * 8}-0000-0000-0000-{'0' * 12}"), 504)
    finally:
        release.set()
        slow.stop()
        stack.envs["integrations"]["INSIGHTS_URL"] = original
        stack.restart("integrations")


@pytest.fixture
def own_mariadb(tmp_path: Path) -> Iterator[ThrowawayMariaDB]:
    """A private mariadbd this test may stop and start (never the shared server)."""
    try:
        throwaway = ThrowawayMariaDB()
    except NoMariaDB as exc:
        pytest.fail(f"this test needs mariadbd binaries: {exc}")
    throwaway.start()
    try:
        yield throwaway
    finally:
        throwaway.remove()


def _ready(base_url: str) -> Callable[[], bool]:
    return lambda: get(base_url + "/readyz").status == 200


class Load:
    """Keeps creating clients from a few threads and remembers every answer."""

    def __init__(self, stack: Stack, tokens: Tokens) -> None:
        self.stack, self.tokens = stack, tokens
        self.answers: list[tuple[str, int | str, float]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(4)]

    def _run(self) -> None:
        while not self.stopping.is_set():
            name = f"load-{secrets.token_hex(6)}"
            started = time.monotonic()
            try:
                status: int | str = new_client(self.stack, self.tokens, name, timeout=15)
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self.lock:
                self.answers.append((name, status, time.monotonic() - started))
            time.sleep(0.02)

    def statuses_since(self, index: int) -> list[int | str]:
        with self.lock:
            return [status for _, status, _ in self.answers[index:]]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_database_outage_is_503_and_the_services_recover_without_losing_answered_writes(
    own_mariadb: ThrowawayMariaDB, tmp_path: Path
) -> None:
    server = own_mariadb.server()
    url = server.migrated_database("e2e_outage")
    database = make_url(url).database or ""
    with (
        private_stack(url, tmp_path, HTTP_CONNECT_TIMEOUT="1") as (stack, tokens),
        Load(stack, tokens) as load,
    ):
        tokens("insights:write")  # issued while the database is up
        eventually(lambda: 201 in load.statuses_since(0), within=30)
        mark = len(load.answers)
        own_mariadb.stop()
        eventually(lambda: 503 in load.statuses_since(mark), within=60)
        for name in ("insights", "integrations", "backups"):
            not_ready = get(stack.url(name) + "/readyz")
            assert not_ready.status == 503 and "problem+json" in not_ready.content_type
        outage = load.statuses_since(mark)
        own_mariadb.start()
        recovered = len(load.answers)
        eventually(lambda: 201 in load.statuses_since(recovered), within=90)
        for name in ("insights", "integrations", "backups"):
            eventually(_ready(stack.url(name)))
    assert set(outage) <= {201, 503}, f"outage answers: {sorted(set(map(str, outage)))}"
    answered = {name for name, status, _ in load.answers if status == 201}
    stored = _client_names(server, database)
    assert answered <= stored, f"{len(answered - stored)} answered writes were lost"
