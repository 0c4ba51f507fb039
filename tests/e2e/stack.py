"""The three services as real gunicorn processes on free loopback ports, wired to each other."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.processes import RunningService, start, vault_env, wait_for_status
from tests.mariadb import free_port

REPO = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SERVICES = ("insights", "integrations", "backups")


def _deployed_service_scopes() -> dict[str, tuple[str, ...]]:
    """What each service may ask of its peers: the scopes the compose bootstrap grants it."""
    spec = importlib.util.spec_from_file_location(
        "compose_bootstrap", REPO / "deploy" / "compose" / "bootstrap.py"
    )
    assert spec is not None and spec.loader is not None
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    return {
        username.removeprefix("svc-"): tuple(scopes)
        for username, _role, _file, scopes in bootstrap.ACCOUNTS
        if username.removeprefix("svc-") in SERVICES
    }


SERVICE_SCOPES = _deployed_service_scopes()


@dataclass
class Stack:
    """Running services by name, and how to start one again."""

    services: dict[str, RunningService] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    workdir: Path = Path()

    def url(self, name: str) -> str:
        return self.services[name].base_url

    def restart(self, name: str) -> RunningService:
        self.services[name].stop()
        return self.launch(name)

    def launch(self, name: str) -> RunningService:
        log = self.workdir / f"{name}.log"
        service = start(gunicorn_command(name), self.envs[name], cwd=REPO, log_path=log)
        self.services[name] = service
        wait_for_status(service, "/readyz")
        return service


def gunicorn_command(name: str) -> list[str]:
    """The command the images run, from this checkout's virtualenv."""
    return [GUNICORN, "--config", "deploy/gunicorn.conf.py", f"services.{name}.wsgi:app"]


def stack_environments(
    database_url: str, token_factory: Callable[..., str], workdir: Path, **extra: str
) -> dict[str, dict[str, str]]:
    """Environment of each service: same database, peer URLs, its own scoped token."""
    ports = {name: free_port() for name in SERVICES}
    common = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "LOG_LEVEL": "INFO",
        "HTTP_CONNECT_TIMEOUT": "1",
        "HTTP_READ_TIMEOUT": "5",
        "BACKUP_FOLDER": str(workdir / "backups"),
        # The fake PSA servers are plain http on this machine (the development setting).
        "OUTBOUND_ALLOW_LOCAL": "true",
        "OUTBOUND_ALLOWED_HOSTS": "*=127.0.0.1,*=localhost",
        **{f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
        **vault_env(workdir),
        **extra,
    }
    return {
        name: {
            **common,
            "PORT": str(ports[name]),
            "SERVICE_NAME": name,
            "SERVICE_TOKEN": token_factory(*SERVICE_SCOPES[name]),
        }
        for name in SERVICES
    }


@contextmanager
def running_stack(
    database_url: str, token_factory: Callable[..., str], workdir: Path, **extra: str
) -> Iterator[Stack]:
    """Start all three, wait for /readyz on each, stop them with SIGTERM at the end."""
    (workdir / "backups").mkdir(parents=True, exist_ok=True)
    stack = Stack(
        envs=stack_environments(database_url, token_factory, workdir, **extra), workdir=workdir
    )
    try:
        for name in SERVICES:
            stack.launch(name)
        yield stack
    finally:
        for service in stack.services.values():
            if service.process.poll() is None:
                service.stop()
