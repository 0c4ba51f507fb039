"""A TCP proxy in front of the real MariaDB that can refuse every connection for a while."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from tests.mariadb import free_port


class OutageProxy:
    """Forwards 127.0.0.1:<port> to the server; while `down`, closes each connection at once."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.down = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.down.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for end in (source, sink):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def outage_proxy(host: str, port: int) -> Iterator[OutageProxy]:
    """A proxy for the test's duration."""
    proxy = OutageProxy(host, port)
    try:
        yield proxy
    finally:
        proxy.close()
