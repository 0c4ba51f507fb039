"""A Zapier REST hook receiver written from Zapier's contract, not from our code.

Zapier's REST hooks (docs.zapier.com/platform/build/hook-trigger): the app POSTs JSON to the
`target_url` Zapier gave at subscribe time; Zapier answers 2xx when it took the item, and
410 Gone when the hook no longer exists (the app must then drop the subscription); anything
else is a failure the sender should retry with backoff. This server answers each hook's
scripted statuses in turn (the last one repeats) and records what arrived, raw.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class ZapierReceiver:
    """Hooks at /hooks/standard/1234/<name>/ on 127.0.0.1, each with its scripted answers."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: dict[str, list[Received]] = defaultdict(list)
        self._scripts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def hook_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/standard/1234/{name}/"

    def answer(self, name: str, *statuses: int) -> str:
        """Script the hook's answers; returns its URL."""
        with self._lock:
            self._scripts[name] = list(statuses)
        return self.hook_url(name)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_status(self, name: str) -> int:
        with self._lock:
            script = self._scripts.get(name) or [404]
            return script.pop(0) if len(script) > 1 else script[0]

    def _handler(self) -> Any:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = self.path.rstrip("/").rsplit("/", 1)[-1]
                with receiver._lock:
                    receiver.received[name].append(
                        Received(self.path, dict(self.headers.items()), body)
                    )
                time.sleep(receiver.delay)
                status = receiver._next_status(name)
                answer = b'{"status": "success"}' if status < 300 else b'{"status": "error"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
