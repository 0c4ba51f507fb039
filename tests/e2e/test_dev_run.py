"""`./dev run` twice in a row: the second start is quick, serves loopback only, mints no token."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from sqlalchemy import text

from shared.db import make_engine
from tests.mariadb import MariaDBServer, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
READY_LINE = "Ctrl-C stops all three."
# The first start may build .venv-run from uv's cache; a later one must not sync at all.
FIRST_START_DEADLINE_SECONDS = 300.0
SECOND_START_DEADLINE_SECONDS = 30.0
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@dataclass
class DevRun:
    """One `./dev run` process group and the file its output goes to."""

    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, within: float) -> float:
        """Seconds from start until ./dev said all three answer /readyz; fail with its output."""
        started = time.monotonic()
        while READY_LINE not in self.text():
            assert self.process.poll() is None, f"./dev run ended:\n{self.text()}"
            assert time.monotonic() - started < within, f"not ready in {within} s:\n{self.text()}"
            time.sleep(0.1)
        return time.monotonic() - started

    def listening_addresses(self) -> set[str]:
        """The addresses every process ./dev started is listening on."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        return {
            conn.laddr.ip
            for child in children
            for conn in child.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        }

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C or a supervisor would; ./dev stops its services and exits."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group: only what it started
            self.process.wait()
            raise


def _python_behind_a_shim(tmp_path: Path) -> str:
    """A directory whose python3.13 is a pyenv-style shim: a script that execs the real one.

    ./dev takes the first of python3.13, 3.12, 3.11, 3 it finds, so this shim is the one it
    finds; uv used to rebuild the venv on every call when handed a shim's path.
    """
    shims = tmp_path / "shims"
    shims.mkdir()
    real = os.path.realpath(sys.executable)  # the interpreter behind this test's venv
    shim = shims / "python3.13"
    shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return str(shims)


@pytest.fixture
def dev_env(mariadb_server: MariaDBServer, tmp_path: Path) -> dict[str, str]:
    """A fresh MariaDB database, private files and free ports: nothing shared with a real run."""
    return {
        "PATH": f"{_python_behind_a_shim(tmp_path)}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DATABASE_URL": mariadb_server.url(mariadb_server.create_database("dev_run")),
        "BACKUP_FOLDER": str(tmp_path / "backups"),
        "VAULT_DEV_DIR": str(tmp_path / "vault"),
        "DEV_TOKEN_FILE": str(tmp_path / "var" / "dev-token"),
        "INSIGHTS_PORT": str(free_port()),
        "INTEGRATIONS_PORT": str(free_port()),
        "BACKUPS_PORT": str(free_port()),
    }


@pytest.fixture
def start_dev_run(dev_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    started: list[DevRun] = []

    def start(label: str) -> DevRun:
        output = tmp_path / f"{label}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [str(REPO / "dev"), "run"],
                cwd=REPO,
                env=dev_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(DevRun(process, output))
        return started[-1]

    yield start
    for run in started:
        if run.process.poll() is None:
            run.stop()


def _live_dev_tokens(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    text(
                        "SELECT COUNT(*) FROM api_tokens t JOIN api_users u ON u.id = t.user_id"
                        " WHERE u.username = 'dev-admin' AND t.revoked_at IS NULL"
                        " AND t.expires_at > UTC_TIMESTAMP()"
                    )
                )
            )
    finally:
        engine.dispose()


def _clients_status(port: str, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/clients", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return int(answer.status)


def test_a_second_dev_run_starts_in_seconds_on_loopback_with_the_same_single_token(
    start_dev_run, dev_env: dict[str, str]
) -> None:
    token_file = Path(dev_env["DEV_TOKEN_FILE"])
    first = start_dev_run("first")
    first.wait_ready(FIRST_START_DEADLINE_SECONDS)
    token = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert f"export TOKEN={token}" in first.text()
    first.stop()

    second = start_dev_run("second")
    seconds = second.wait_ready(SECOND_START_DEADLINE_SECONDS)

    assert "syncing" not in second.text(), "the second start synced a virtual environment"
    assert "reusing the development admin token" in second.text()
    assert token_file.read_text().strip() == token
    assert _live_dev_tokens(dev_env["DATABASE_URL"]) == 1
    assert _clients_status(dev_env["INSIGHTS_PORT"], token) == 200
    assert second.listening_addresses() == {"127.0.0.1"}
    second.stop()
    stamps = [json.loads(line)["time"] for line in second.text().splitlines() if line[:1] == "{"]
    assert stamps and all(RFC3339_UTC.match(stamp) for stamp in stamps), stamps
    print(f"second start ready in {seconds:.1f} s")
