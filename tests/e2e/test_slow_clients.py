"""Slow clients (a body trickled a byte at a time, headers a line at a time) against a real
gunicorn service: behind the compose nginx front a normal request and /healthz still answer at
once; the same attack on the bare gunicorn, same workers and threads, starves normal requests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.db import make_engine
from tests.deploy.processes import RunningService, start, wait_for_status
from tests.e2e.nginx_front import NoNginx, ThrowawayNginx
from tests.e2e.stack import REPO, SERVICES, gunicorn_command, stack_environments
from tests.mariadb import MariaDBServer, free_port
from tests.tokens import TokenMaker

# gunicorn's workers accept greedily, so 24 slow clients (three times the 2 workers x 4
# threads) may all land on one worker and leave the other free; the attack on the bare
# gunicorn adds STEP more until no thread is left, up to MOST, and nginx faces MOST at once.
FIRST, STEP, MOST = 24, 8, 96
TRICKLE_EVERY = 2.0  # seconds between two bytes (or two header lines) of one slow client
QUICK = 2.0  # what "answers at once" means here, seconds; the starved wait is 2.5 x this


@pytest.fixture(scope="module")
def insights(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, TokenMaker, Path]]:
    url = mariadb_server.migrated_database("e2e_slow_clients")
    engine = make_engine(url)
    tokens = TokenMaker(engine, label="slow-clients")
    workdir = tmp_path_factory.mktemp("slow-clients")
    (workdir / "backups").mkdir()
    env = stack_environments(url, tokens, workdir)["insights"]
    service = start(gunicorn_command("insights"), env, cwd=REPO, log_path=workdir / "insights.log")
    try:
        wait_for_status(service, "/readyz")
        yield service, tokens, workdir
    finally:
        service.stop()
        engine.dispose()


def _slow_body(port: int, token: str) -> socket.socket:
    """An authorised POST whose head arrives whole and whose body comes a byte at a time
    (with a valid token: a refused one is answered before its body is read)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/clients HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Length: 200\r\n\r\n{"
    )
    return sock


def _slow_head(port: int, _token: str) -> socket.socket:
    """A GET whose header lines will come one at a time, never ending."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /v1/clients HTTP/1.1\r\n")
    return sock


class SlowClients:
    """Connections of both kinds, fed a byte or a header line every TRICKLE_EVERY seconds."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.sockets: list[socket.socket] = []
        self.stop = threading.Event()
        self.feeder = threading.Thread(target=self._trickle, daemon=True)

    def open(self, count: int) -> None:
        """`count` more slow requests, then a second for them to reach the server."""
        for _ in range(count):
            kind = _slow_body if len(self.sockets) % 2 else _slow_head
            self.sockets.append(kind(self.port, self.token))
        time.sleep(1.0)

    def _trickle(self) -> None:
        line = 0
        while not self.stop.wait(TRICKLE_EVERY):
            line += 1
            for i, sock in enumerate(list(self.sockets)):
                # The server may drop one (what a front should do): the rest go on.
                with contextlib.suppress(OSError):
                    sock.sendall(b" " if i % 2 else f"X-Slow-{line}: 1\r\n".encode())

    def __enter__(self) -> SlowClients:
        self.feeder.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.feeder.join()
        for sock in self.sockets:
            sock.close()


def _started_front(workdir: Path, upstream_ports: dict[str, int]) -> ThrowawayNginx:
    try:
        front = ThrowawayNginx(workdir, upstream_ports)
    except NoNginx as exc:
        pytest.fail(str(exc))
    front.start()
    return front


def _answer_within(url: str, headers: dict[str, str] | None, seconds: float) -> int | None:
    """The status, or None when no answer came within `seconds`."""
    try:
        return requests.get(url, headers=headers, timeout=seconds).status_code
    except requests.exceptions.Timeout:
        return None


def test_behind_the_nginx_front_slow_clients_starve_nothing(
    insights: tuple[RunningService, TokenMaker, Path],
) -> None:
    service, tokens, workdir = insights
    ports = {name: service.port for name in SERVICES}
    front = _started_front(workdir, ports)
    try:
        with SlowClients(front.ports["insights"], tokens("insights:write")) as attack:
            attack.open(MOST)
            listed = _answer_within(
                front.url("insights") + "/v1/clients", tokens.headers("insights:read"), QUICK
            )
            alive = _answer_within(front.url("insights") + "/healthz", None, QUICK)
    finally:
        front.stop()
    assert (listed, alive) == (200, 200)


def test_the_same_attack_on_bare_gunicorn_starves_normal_requests(
    insights: tuple[RunningService, TokenMaker, Path],
) -> None:
    service, tokens, _ = insights
    headers = tokens.headers("insights:read")
    clients = service.base_url + "/v1/clients"
    with SlowClients(service.port, tokens("insights:write")) as attack:
        attack.open(FIRST)
        while len(attack.sockets) < MOST and _answer_within(clients, headers, 0.5) is not None:
            attack.open(STEP)
        listed = _answer_within(clients, headers, 2.5 * QUICK)
        # Liveness is answered by a saturated worker itself (deploy/gunicorn.conf.py).
        alive = _answer_within(service.base_url + "/healthz", None, QUICK)
    assert listed is None, "a bare gunicorn answered under the attack: the test proves nothing"
    assert alive == 200
    # Once the slow clients are gone the service is whole again.
    assert _answer_within(clients, headers, 10) == 200


def test_the_fronts_own_refusals_are_problem_json(
    insights: tuple[RunningService, TokenMaker, Path],
) -> None:
    service, tokens, workdir = insights
    # backups points at a port nobody listens on: nginx itself has to answer.
    front = _started_front(workdir, {"insights": service.port, "backups": free_port()})
    try:
        too_large = requests.post(
            front.url("insights") + "/v1/clients",
            data=b"x" * (1024 * 1024 + 1),
            headers={**tokens.headers("insights:write"), "Content-Type": "application/json"},
            timeout=10,
        )
        unreachable = requests.get(front.url("backups") + "/readyz", timeout=10)
    finally:
        front.stop()
    assert too_large.status_code == 413
    assert too_large.headers["Content-Type"] == "application/problem+json"
    assert too_large.json()["type"].endswith("/payload-too-large")
    assert unreachable.status_code == 503
    assert unreachable.headers["Content-Type"] == "application/problem+json"
    assert unreachable.json()["status"] == 503
