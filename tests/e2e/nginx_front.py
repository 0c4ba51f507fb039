"""Debian's nginx with the compose front's config (deploy/nginx/msp.conf), as the test user.

Only the addresses change: each upstream points at a port given here and each server listens
on a free loopback port; every timeout, buffer and limit is the deployed file's own.
"""

from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.mariadb import free_port

REPO = Path(__file__).resolve().parents[2]
FRONT_CONFIG = REPO / "deploy" / "nginx" / "msp.conf"
HOW_TO_GET_IT = "no nginx for the slow-client test: ./dev test installs it (apt-get install nginx)"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
SERVICES = ("insights", "integrations", "backups")


class NoNginx(RuntimeError):
    """Debian's nginx is not installed."""


class ThrowawayNginx:
    """An nginx in its own temp prefix (pid, logs, temp files), in the foreground."""

    def __init__(self, workdir: Path, upstream_ports: dict[str, int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise NoNginx(HOW_TO_GET_IT)
        self.binary = binary
        self.workdir = workdir
        self.ports: dict[str, int] = {}
        self._write_config(upstream_ports)
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self, upstream_ports: dict[str, int]) -> None:
        front = FRONT_CONFIG.read_text()
        # Upstreams not given point at a closed port: nginx resolves every name at start-up.
        upstream_ports = {name: upstream_ports.get(name, 1) for name in SERVICES}
        self.ports = {name: free_port() for name in upstream_ports}
        for name, port in upstream_ports.items():
            # The compose front publishes each service on the service's own port.
            published = re.search(rf"server {name}:(\d+);", front)
            assert published, f"no upstream for {name} in {FRONT_CONFIG}"
            front = front.replace(published.group(0), f"server 127.0.0.1:{port};")
            listen = f"listen {published.group(1)};"
            assert front.count(listen) == 1, f"no server block publishes {name}"
            front = front.replace(listen, f"listen 127.0.0.1:{self.ports[name]};")
        (self.workdir / "msp.conf").write_text(front)
        (self.workdir / "nginx.conf").write_text(self._main_config())

    def _main_config(self) -> str:
        built_in = subprocess.run([self.binary, "-V"], capture_output=True, text=True).stderr
        temp_paths = "".join(
            f"    {module}_temp_path {self.workdir / module};\n"
            for module in TEMP_PATHS
            if f"--without-http_{module}_module" not in built_in
        )
        return (
            f"user {getpass.getuser()};\n"  # ignored (with a warning) unless started as root
            f"pid {self.workdir / 'nginx.pid'};\n"
            f"error_log {self.workdir / 'error.log'} warn;\n"
            "worker_processes 1;\n"
            "events { worker_connections 1024; }\n"
            "http {\n    access_log off;\n"
            f"{temp_paths}    include {self.workdir / 'msp.conf'};\n}}\n"
        )

    def start(self) -> None:
        """Start nginx in the foreground and wait until every server port accepts."""
        command = [self.binary, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")]
        subprocess.run([*command, "-t", "-q"], check=True, capture_output=True)
        self.process = subprocess.Popen([*command, "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while not all(_accepts(port) for port in self.ports.values()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError((self.workdir / "error.log").read_text()[-800:])
            time.sleep(0.05)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            self.process.wait(timeout=10)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
