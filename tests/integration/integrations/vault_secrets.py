"""Secrets used by the vault tests and the capture of every log line and answer (leak search)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

# Every plaintext secret a vault test used; the leak test searches logs and answers for them.
SECRETS_USED: set[str] = set()
CAPTURED: list[str] = []
# Answers that are meant to carry plaintext (and only these).
PLAINTEXT_PATHS = ("/reveal", "/access-token")


def new_secret(label: str) -> str:
    """A unique plaintext secret, remembered for the leak search."""
    value = f"{label}-{secrets.token_hex(12)}"
    SECRETS_USED.add(value)
    return value


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


class _CaptureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + " " + repr(record.__dict__)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        CAPTURED.append(text)


_HANDLER = _CaptureHandler(level=logging.DEBUG)


def watch_logs() -> None:
    """(Re)attach the capture handler: create_app replaces the root handlers."""
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


def watch_responses(app: Flask) -> None:
    @app.after_request
    def _capture(response: Response) -> Response:
        if not request.path.endswith(PLAINTEXT_PATHS):
            CAPTURED.append(response.get_data(as_text=True) + repr(dict(response.headers)))
        return response


DEFAULT_FIELDS: dict[str, Callable[[], dict[str, Any]]] = {
    "api_key": lambda: {"api_key": new_secret("apikey"), "api_url": "https://acme.example"},
    "basic_auth": lambda: {"username": "svc-user", "password": new_secret("pw")},
    "oauth": lambda: {
        "client_id": "client-1",
        "client_secret": new_secret("cs"),
        "refresh_token": new_secret("rt"),
        "access_token": new_secret("at"),
        "token_url": "https://idp.example/token",
    },
}
