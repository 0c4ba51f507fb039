"""Run a service the way its image does, as a plain child process, and wait for its probes."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

READY_DEADLINE_SECONDS = 90.0


@dataclass
class RunningService:
    """A started process, its port and the file its stdout and stderr go to."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (what every platform sends), then wait; kill only if it overstays."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def vault_env(workdir: Path) -> dict[str, str]:
    """Production-shaped vault keys for integrations, so it never falls back to generating one."""
    key = base64.b64encode(os.urandom(32)).decode()
    audit = base64.b64encode(os.urandom(32)).decode()
    return {"VAULT_KEYS": f"v1={key}", "VAULT_AUDIT_KEY": audit, "VAULT_DEV_DIR": str(workdir)}


def start(command: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> RunningService:
    """Start the command with exactly this environment, output to log_path."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return RunningService(process=process, port=int(env["PORT"]), log_path=log_path)


@dataclass(frozen=True)
class Answer:
    """What an HTTP GET got back."""

    status: int
    content_type: str
    body: bytes


def get(url: str, timeout: float = 5.0) -> Answer:
    """GET a URL; error statuses are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return Answer(
                response.status, response.headers.get("Content-Type", ""), response.read()
            )
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get("Content-Type", ""), exc.read())


def wait_for_status(service: RunningService, path: str, wanted: int = 200) -> Answer:
    """Poll until path answers `wanted`; fail with the log if the process dies or never gets there."""
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    last = Answer(0, "", b"")
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"exited with {service.process.returncode}:\n{service.log()}")
        try:
            last = get(service.base_url + path, timeout=2)
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
            continue
        if last.status == wanted:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{path} never answered {wanted} (last {last}):\n{service.log()}")
