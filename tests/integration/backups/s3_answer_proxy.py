"""An HTTP proxy in front of moto that can lose one answer and then stay down, like a dead endpoint.

Each request is forwarded on its own upstream connection with `Connection: close`; when the
`drop` predicate matches a request, moto still does the work but the answer never reaches the
client and every later connection is closed at once, until `up()` is called.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from tests.mariadb import free_port

Predicate = Callable[[str], bool]  # the request line, e.g. "POST /bucket/key?uploadId=x HTTP/1.1"


def complete_multipart(line: str) -> bool:
    """CompleteMultipartUpload: POST on a key with an uploadId."""
    return line.startswith("POST ") and "uploadId=" in line


def nth_upload_part(n: int) -> Predicate:
    """The n-th UploadPart request (PUT with partNumber)."""
    seen = [0]

    def matches(line: str) -> bool:
        if line.startswith("PUT ") and "partNumber=" in line:
            seen[0] += 1
            return seen[0] == n
        return False

    return matches


class AnswerDroppingProxy:
    """Forwards 127.0.0.1:<port> to the moto server at `upstream_url`."""

    def __init__(self, upstream_url: str, drop: Predicate) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drop = drop
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.down = threading.Event()
        self.dropped: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def up(self) -> None:
        """The endpoint answers again."""
        self.down.clear()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            while not self.down.is_set():
                request = _read_request(client)
                if request is None:
                    return
                line, head, body = request
                if self.down.is_set():
                    return
                answer = self._forward(head, body)
                if self.drop(line):
                    self.down.set()
                    self.dropped.append(line)
                    return  # moto did it; the client never hears
                client.sendall(answer)
                return  # Connection: close

    def _forward(self, head: list[str], body: bytes) -> bytes:
        with socket.create_connection(self.upstream) as upstream:
            upstream.sendall(("\r\n".join([*head, "Connection: close", "", ""])).encode() + body)
            chunks = []
            while data := upstream.recv(65536):
                chunks.append(data)
        return b"".join(chunks)


def _read_request(client: socket.socket) -> tuple[str, list[str], bytes] | None:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = client.recv(65536)
        if not data:
            return None
        buffer += data
    raw_head, rest = buffer.split(b"\r\n\r\n", 1)
    lines = raw_head.decode("latin-1").split("\r\n")
    head = [lines[0]]
    length, expect = 0, False
    for header in lines[1:]:
        name, _, value = header.partition(":")
        key = name.strip().lower()
        if key == "content-length":
            length = int(value.strip())
        if key == "expect":
            expect = True
            continue
        if key != "connection":
            head.append(header)
    if expect:
        client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    while len(rest) < length:
        data = client.recv(65536)
        if not data:
            return None
        rest += data
    return lines[0], head, rest[:length]


@contextlib.contextmanager
def answer_dropping_proxy(upstream_url: str, drop: Predicate) -> Iterator[AnswerDroppingProxy]:
    """The proxy for the test's duration."""
    proxy = AnswerDroppingProxy(upstream_url, drop)
    try:
        yield proxy
    finally:
        proxy.close()
