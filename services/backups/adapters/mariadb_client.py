"""The `mariadb-dump` and `mariadb` programs, run with the password in a 0600 defaults file."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from services.backups.database_names import check_database_name

DUMP_FLAGS = (
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--default-character-set=utf8mb4",
    "--max-allowed-packet=1G",
)
BINLOG_FLAGS = ("--master-data=2", "--gtid")
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_PIPE_SIZE = 1 << 20


@dataclass(frozen=True)
class MariaDBTarget:
    """Where a database lives and how to log in; the password never appears in repr()."""

    host: str
    port: int
    user: str
    password: str | None
    database: str

    def __repr__(self) -> str:
        return f"MariaDBTarget({self.user}@{self.host}:{self.port}/{self.database})"

    @classmethod
    def from_url(cls, url: str, database: str | None = None) -> MariaDBTarget:
        """Build from a SQLAlchemy-style URL (mysql+pymysql://user:pw@host:port/db)."""
        parts = urlsplit(url)
        name = database or unquote(parts.path.lstrip("/"))
        if not name:
            raise ValueError("no database name in the URL and none given")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password) if parts.password is not None else None,
            database=name,
        )

    def with_database(self, database: str) -> MariaDBTarget:
        """The same server and login, another database."""
        return MariaDBTarget(self.host, self.port, self.user, self.password, database)


def _option_value(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@contextlib.contextmanager
def defaults_file(target: MariaDBTarget) -> Iterator[str]:
    """A [client] option file readable only by us, removed when the block ends."""
    fd, path = tempfile.mkstemp(prefix="msp-backup-", suffix=".cnf")
    try:
        os.fchmod(fd, 0o600)
        lines = ["[client]", f"host={target.host}", f"port={target.port}"]
        lines.append(f"user={_option_value(target.user)}")
        if target.password is not None:
            lines.append(f"password={_option_value(target.password)}")
        lines.append("protocol=TCP")
        os.write(fd, ("\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def dump_argv(defaults_path: str, database: str, with_binlog: bool = False) -> list[str]:
    """The mariadb-dump command line; --defaults-extra-file must come first.

    The name goes after `--`, where mariadb-dump reads only names (`--databases=x` is refused
    by 10.11, and `--databases -- x` would add CREATE DATABASE/USE, pinning a restore to x).
    """
    flags = [*DUMP_FLAGS, *(BINLOG_FLAGS if with_binlog else ())]
    name = check_database_name(database)  # again here: schemas are not the only callers
    return ["mariadb-dump", f"--defaults-extra-file={defaults_path}", *flags, "--", name]


def load_argv(defaults_path: str, database: str) -> list[str]:
    """The mariadb client command line that loads a dump into `database`.

    The name is the value of --database=, never a bare argument: a bare `-Dvictim` is the
    option -D and loaded the dump into (and over) the database `victim`.
    """
    return [
        "mariadb",
        f"--defaults-extra-file={defaults_path}",
        "--default-character-set=utf8mb4",
        "--max-allowed-packet=1G",
        "--batch",
        f"--database={check_database_name(database)}",
    ]


def programs_argv(defaults_path: str, database: str) -> list[str]:
    """mariadb-dump of a database's triggers, routines and events, without tables or data."""
    return [
        "mariadb-dump",
        f"--defaults-extra-file={defaults_path}",
        "--default-character-set=utf8mb4",
        "--skip-opt",  # no locks, no DROP/CREATE TABLE: the tables are moved, not rewritten
        "--no-create-info",
        "--no-data",
        "--routines",
        "--triggers",
        "--events",
        "--",
        check_database_name(database),
    ]


def views_argv(defaults_path: str, database: str, views: list[str]) -> list[str]:
    """mariadb-dump of the named views only (it orders them and writes them unqualified)."""
    return [
        "mariadb-dump",
        f"--defaults-extra-file={defaults_path}",
        "--default-character-set=utf8mb4",
        "--skip-opt",
        "--no-data",
        "--skip-triggers",
        "--",
        check_database_name(database),
        *views,  # after --: a view name is never an option either
    ]


class ClientFailed(Exception):
    """A mariadb or mariadb-dump run that exited non-zero or reported errors; says which."""


def run_client(argv: list[str], stdin: bytes | None = None) -> bytes:
    """Run a short mariadb/mariadb-dump command to the end; its stdout, or ClientFailed."""
    env = {k: v for k, v in os.environ.items() if k != "MYSQL_PWD"}
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
    errors = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 or any(is_error_line(line) for line in errors.splitlines()):
        raise ClientFailed(f"{argv[0]} exited with status {done.returncode}: {errors[-2000:]}")
    return done.stdout


class StderrCollector:
    """Drains a child's stderr in a thread, keeping the tail and noticing error lines."""

    def __init__(self, stream: object, *, keep_lines: int = 40) -> None:
        self._stream = stream
        self.lines: deque[str] = deque(maxlen=keep_lines)
        self.error_lines: list[str] = []
        self._thread = threading.Thread(target=self._drain, name="stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        for raw in iter(self._stream.readline, b""):  # type: ignore[attr-defined]
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            if is_error_line(line) and len(self.error_lines) < 20:
                self.error_lines.append(line)

    def join(self) -> None:
        """Wait until the child closed stderr."""
        self._thread.join(timeout=30)

    def tail(self) -> str:
        """The last lines the child wrote to stderr."""
        return "\n".join(self.lines)


def is_error_line(line: str) -> bool:
    """mariadb-dump prints `Got error` / `Couldn't ...` on failures that may still exit 0."""
    lowered = line.lower()
    return "error" in lowered or "couldn't" in lowered or "access denied" in lowered


class ClientProcess:
    """A running mariadb-dump or mariadb child with its stderr collected."""

    def __init__(self, argv: list[str], *, stdin: int | None = None, stdout: int | None = None):
        env = {k: v for k, v in os.environ.items() if k not in {"MYSQL_PWD"}}
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        for pipe in (self.proc.stdout, self.proc.stdin):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)
        self.stderr = StderrCollector(self.proc.stderr)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for exit and for stderr to be fully read; returns the exit status."""
        code = self.proc.wait(timeout=timeout)
        self.stderr.join()
        return code

    def kill(self) -> None:
        """Stop the child now (used when another stage failed)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
