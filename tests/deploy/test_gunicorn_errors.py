"""gunicorn's own answers (request line too long, headers too large, not HTTP) are problem+json."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import PROBLEM_BASE
from tests.deploy.conftest import DEPLOY
from tests.mariadb import free_port

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SECRET = "s3cr3t-value-in-the-request"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A bare Flask app under the services' gunicorn config, as the images run it."""
    workdir = tmp_path_factory.mktemp("gunicorn-errors")
    (workdir / "bare.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(workdir),
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    log = (workdir / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [GUNICORN, "--config", str(DEPLOY / "gunicorn.conf.py"), "bare:app"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn never listened")


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send bytes as they are; read the whole answer (gunicorn closes after an error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (f"GET /v1/clients?q={SECRET}{'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(
            f"X-H{i}: {SECRET}\r\n".encode() for i in range(150)
        ) + b"\r\n", 431),
        (f"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {SECRET}{'b' * 9000}\r\n\r\n".encode(), 431),
        (f"NOT HTTP AT ALL {SECRET}\r\n\r\n".encode(), 400),
        (f"GET / HTTP/1.1\r\nHost: x\r\nBad Header{SECRET}: 1\r\n\r\n".encode(), 400),
    ],
    ids=["request line too long", "too many headers", "header too large", "not HTTP", "bad header"],
)  # fmt: skip
def test_gunicorns_own_error_is_a_problem_that_quotes_nothing_of_the_request(
    server: int, request_bytes: bytes, status: int
) -> None:
    answered, headers, problem = _raw(server, request_bytes)
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    assert problem["status"] == status and problem["type"].startswith(PROBLEM_BASE)
    assert problem["title"] and problem["detail"]
    assert SECRET not in json.dumps(problem)


def test_a_normal_request_still_reaches_the_app(server: int) -> None:
    answered, _, _ = _raw_status(server, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answered == 404  # Flask's own answer: the worker serves apps as before


def _raw_status(port: int, request: bytes) -> tuple[int, bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body
