"""A local stand-in for a PSA's REST API, and the stack's Syncro credential that calls it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from pytest_httpserver import HTTPServer

from tests.e2e.stack import Stack
from tests.tokens import TokenMaker as Tokens


@contextmanager
def psa_stand_in() -> Iterator[HTTPServer]:
    """A local HTTP server that a test tells what Syncro's REST API would answer."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def add_syncro_credential(
    stack: Stack, tokens: Tokens, psa: HTTPServer, *, name: str, api_key: str
) -> dict[str, Any]:
    """A Syncro API-key credential in the vault whose calls go to `psa`."""
    answer = requests.post(
        stack.url("integrations") + "/v1/credentials",
        headers=tokens.headers("credentials:write"),
        json={
            "integration_name": name,
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_url": psa.url_for("/").rstrip("/"),
            "api_key": api_key,
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body
