"""A saturated gunicorn worker answers GET /healthz itself, and only that; and the config keeps
gunicorn's own slow-client defences."""

from __future__ import annotations

import runpy
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.deploy.conftest import DEPLOY

CONFIG = DEPLOY / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The config run in this process, with a metrics directory of its own, taken back after."""
    with pytest.MonkeyPatch.context() as patch:
        metrics = tmp_path_factory.mktemp("metrics")
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
        yield runpy.run_path(str(CONFIG))


def _exchange(config: dict[str, Any], sent: bytes) -> tuple[bool, bytes, bytes]:
    """(answered, what the client got, what is still unread on the server side)."""
    answer_liveness: Callable[[socket.socket], bool] = config["answer_liveness"]
    client, server = socket.socketpair()
    with client, server:
        client.sendall(sent)
        answered = answer_liveness(server)
        client.shutdown(socket.SHUT_WR)
        server.setblocking(False)
        try:
            left = server.recv(1 << 20)
        except BlockingIOError:
            left = b""
        server.close()
        got = client.recv(1 << 20)
    return answered, got, left


def test_a_complete_healthz_request_is_answered_with_the_apps_body(config: dict[str, Any]) -> None:
    answered, got, left = _exchange(
        config, b"GET /healthz HTTP/1.1\r\nHost: pod\r\nUser-Agent: kube-probe/1.31\r\n\r\n"
    )
    head, _, body = got.partition(b"\r\n\r\n")
    assert answered and left == b""
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Type: application/json" in head
    assert body == b'{"status":"ok"}\n'


@pytest.mark.parametrize(
    "sent",
    [
        b"GET /healthz HTTP/1.1\r\nHost: pod\r\n",  # head not complete yet
        b"GET /readyz HTTP/1.1\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /healthzz HTTP/1.1\r\n\r\n",
        b"GET /v1/clients HTTP/1.1\r\n\r\n",
        b"",
    ],
)
def test_anything_else_is_left_whole_for_the_app(config: dict[str, Any], sent: bytes) -> None:
    assert _exchange(config, sent) == (False, b"", sent)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_no_other_bytes_are_answered_or_consumed(config: dict[str, Any], sent: bytes) -> None:
    if sent.startswith(b"GET /healthz ") and b"\r\n\r\n" in sent:
        return
    assert _exchange(config, sent) == (False, b"", sent)


def test_gunicorn_keeps_its_own_slow_client_defences(config: dict[str, Any]) -> None:
    assert 0 < config["keepalive"] <= 5
    assert config["limit_request_line"] == 4094
    assert config["limit_request_fields"] == 100
    assert config["limit_request_field_size"] == 8190
    assert 0 < config["timeout"] <= 60


def test_the_nginx_front_is_no_more_lenient_than_gunicorn() -> None:
    front = (DEPLOY / "nginx" / "msp.conf").read_text(encoding="utf-8")
    # 4 buffers of 8 KiB: a request line or one header over 8 KiB is refused by nginx (414/400).
    assert "large_client_header_buffers 4 8k;" in front
    assert "client_max_body_size 1m;" in front
