"""A real MariaDB for tests: testcontainers, TEST_DATABASE_URL, or a throwaway mariadbd.

Never SQLite or a mock in its place. Every database made here is uniquely named and dropped
by whoever made it; nothing here touches a database it did not create.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from sqlalchemy.engine import URL, make_url

HOW_TO_GET_ONE = (
    "no MariaDB for the tests: start Docker, set "
    "TEST_DATABASE_URL=mysql+pymysql://user:pw@host:port/, "
    "or install Debian's mariadb-server (apt-get install mariadb-server)"
)


class NoMariaDB(RuntimeError):
    """None of the ways to get a MariaDB worked."""


@dataclass
class MariaDBServer:
    """A reachable server and the databases this run created on it."""

    host: str
    port: int
    user: str
    password: str
    origin: str
    created: list[str] = field(default_factory=list)

    def url(self, database: str | None = None) -> str:
        """A SQLAlchemy URL (PyMySQL, utf8mb4) for a database on this server."""
        return URL.create(
            "mysql+pymysql",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=database,
            query={"charset": "utf8mb4"},
        ).render_as_string(hide_password=False)

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.Connection:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            **kwargs,
        )

    def create_database(self, prefix: str = "msp_test") -> str:
        """A new, uniquely named utf8mb4 database, remembered so it is dropped at the end."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        self.created.append(name)
        return name

    def migrated_database(self, prefix: str = "msp_test") -> str:
        """The URL of a new database (see create_database) upgraded to the Alembic head."""
        from shared.migrate import upgrade_to_head

        url = self.url(self.create_database(prefix))
        upgrade_to_head(url)
        return url

    def drop_database(self, name: str) -> None:
        """Drop a database this run created (refuses any other)."""
        if name not in self.created:
            raise ValueError(f"refusing to drop {name}: this run did not create it")
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        self.created.remove(name)

    def drop_all_created(self) -> None:
        for name in list(self.created):
            self.drop_database(name)

    def client_env(self) -> dict[str, str]:
        """Environment for the mariadb / mariadb-dump CLIs: the password never goes in argv."""
        return {**os.environ, "MYSQL_PWD": self.password}

    def client_args(self) -> list[str]:
        return [
            f"--host={self.host}",
            f"--port={self.port}",
            f"--user={self.user}",
            "--protocol=TCP",
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayMariaDB:
    """A private mariadbd in a temp dir on a free loopback port; stop/start keep its data."""

    def __init__(self) -> None:
        self.mariadbd = shutil.which("mariadbd") or _sbin("mariadbd")
        self.install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not self.mariadbd or not self.install_db:
            raise NoMariaDB(HOW_TO_GET_ONE)
        self.workdir = Path(tempfile.mkdtemp(prefix="msp-mariadb-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._initialise()

    def _initialise(self) -> None:
        command = [
            str(self.install_db),
            "--no-defaults",
            f"--datadir={self.workdir / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *self._user_flag(),
        ]
        result = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if result.returncode != 0:
            raise NoMariaDB(f"mariadb-install-db failed: {result.stderr.decode()[-500:]}")

    def _user_flag(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        log = open(self.workdir / "error.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [
                str(self.mariadbd),
                "--no-defaults",
                f"--datadir={self.workdir / 'data'}",
                f"--socket={self.workdir / 'mariadb.sock'}",
                f"--pid-file={self.workdir / 'mariadb.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=128M",
                "--innodb-flush-log-at-trx-commit=2",
                "--skip-log-bin",
                "--max-connections=400",
                *self._user_flag(),
            ],
            stdout=log,
            stderr=log,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = (self.workdir / "error.log").read_text(errors="replace")[-800:]
                raise NoMariaDB(f"mariadbd exited during start-up: {tail}")
            try:
                pymysql.connect(
                    host="127.0.0.1", port=self.port, user="root", connect_timeout=1
                ).close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.2)
        raise NoMariaDB("mariadbd did not accept connections within 60 s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then wait); its data stays for a later start()."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def server(self) -> MariaDBServer:
        return MariaDBServer("127.0.0.1", self.port, "root", "", origin="throwaway mariadbd")


def _sbin(name: str) -> str | None:
    candidate = Path("/usr/sbin") / name
    return str(candidate) if candidate.exists() else None


def docker_answers() -> bool:
    """True only when a Docker engine answers (the CLI alone is not enough)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def server_from_url(raw: str) -> MariaDBServer:
    url = make_url(raw)
    return MariaDBServer(
        url.host or "127.0.0.1",
        url.port or 3306,
        url.username or "root",
        url.password or "",
        origin="TEST_DATABASE_URL",
    )


@contextmanager
def migrated_scratch_database(url: str | None, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A migrated database of our own on the given server (or a throwaway mariadbd), for
    benchmarks and tools; dropped afterwards unless `keep`."""
    throwaway = None
    if url:
        server = server_from_url(url)
    else:
        throwaway = ThrowawayMariaDB()
        throwaway.start()
        server = throwaway.server()
    database_url = server.migrated_database(prefix)
    name = make_url(database_url).database or ""
    try:
        yield database_url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            server.drop_database(name)
        if throwaway is not None:
            throwaway.remove()
