"""The peer client: request ids passed on, safe retries only, typed problems, bounded waits."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from shared.client import (
    PeerConflict,
    PeerNotFound,
    PeerTimeout,
    PeerUnavailable,
    ServiceClient,
    drop_inherited_connections,
)
from shared.observability import request_id_var


def _client(server: HTTPServer, **kwargs: float) -> ServiceClient:
    return ServiceClient(server.url_for(""), "svc-token", name="insights", **kwargs)


def test_the_token_and_the_current_request_id_travel_with_the_call(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/v1/sessions/s1",
        headers={"Authorization": "Bearer svc-token", "X-Request-ID": "req-42"},
    ).respond_with_json({"id": "s1", "client_id": "c1"})
    token = request_id_var.set("req-42")
    try:
        assert _client(httpserver).get("/v1/sessions/s1") == {"id": "s1", "client_id": "c1"}
    finally:
        request_id_var.reset(token)


def test_a_problem_answer_becomes_a_typed_error(httpserver: HTTPServer) -> None:
    problem = {
        "type": "x",
        "title": "Not found",
        "status": 404,
        "detail": "session s9 does not exist",
    }
    httpserver.expect_request("/v1/sessions/s9").respond_with_json(
        problem, status=404, content_type="application/problem+json"
    )
    httpserver.expect_request("/v1/things", method="POST").respond_with_json(
        {"detail": "exists"}, status=409
    )
    with pytest.raises(PeerNotFound) as raised:
        _client(httpserver).get("/v1/sessions/s9")
    assert raised.value.peer_status == 404
    assert raised.value.problem["detail"] == "session s9 does not exist"
    with pytest.raises(PeerConflict):
        _client(httpserver).post("/v1/things", json={})


def _counting_handler(calls: list[str], status: int) -> object:
    def handler(request: Request) -> Response:
        calls.append(request.method)
        return Response("{}", status=status, content_type="application/json")

    return handler


def test_a_get_is_retried_on_503_but_a_post_is_not(httpserver: HTTPServer) -> None:
    gets: list[str] = []
    posts: list[str] = []
    httpserver.expect_request("/flaky", method="GET").respond_with_handler(
        _counting_handler(gets, 503)
    )
    httpserver.expect_request("/flaky", method="POST").respond_with_handler(
        _counting_handler(posts, 503)
    )
    client = _client(httpserver)
    with pytest.raises(PeerUnavailable):
        client.get("/flaky")
    with pytest.raises(PeerUnavailable):
        client.post("/flaky", json={})
    assert (len(gets), len(posts)) == (3, 1)


def test_a_peer_that_is_down_is_unavailable_with_retry_after() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ServiceClient(f"http://127.0.0.1:{port}", None, name="backups", retries=0)
    with pytest.raises(PeerUnavailable) as raised:
        client.get("/v1/backups")
    assert raised.value.status == 503
    assert raised.value.headers()["Retry-After"]


@pytest.fixture
def silent_peer() -> Iterator[int]:
    """A peer that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_peer_that_never_answers_is_a_timeout_not_a_hang(silent_peer: int, method: str) -> None:
    client = ServiceClient(f"http://127.0.0.1:{silent_peer}", None, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(PeerTimeout) as raised:
        client.request(method, "/v1/tickets", json={} if method == "POST" else None)
    assert raised.value.status == 504
    assert raised.value.headers()["Retry-After"]
    assert time.monotonic() - started < 5


class _KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # connections stay open between requests
    peers: set[tuple[str, int]] = set()

    def do_GET(self) -> None:
        _KeepAliveHandler.peers.add(self.client_address)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def keep_alive_peer() -> Iterator[str]:
    """A peer that keeps connections open; _KeepAliveHandler.peers holds the ones it saw."""
    _KeepAliveHandler.peers.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_clients_made_per_request_reuse_the_peers_open_connection(keep_alive_peer: str) -> None:
    for _ in range(3):  # what a service does: a new client for each request it serves
        ServiceClient(keep_alive_peer, "svc-token", name="insights").get("/v1/sessions/s1")
    assert len(_KeepAliveHandler.peers) == 1, "each call opened a new TCP connection"


def test_a_forked_worker_drops_the_inherited_connection_and_still_calls_the_peer(
    keep_alive_peer: str,
) -> None:
    # A client made by the app in gunicorn's master, before the workers were forked from it.
    client = ServiceClient(keep_alive_peer, "svc-token", name="backups")
    client.get("/v1/sessions/s1")
    drop_inherited_connections()  # what post_fork does in each worker
    assert client.get("/v1/sessions/s1") == {}
    assert len(_KeepAliveHandler.peers) == 2, "the worker reused its parent's connection"
