"""Secrets used by the vault tests and the capture of every log line and answer (leak search)."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask

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


SECRET_FIELDS = ("client_secret", "access_token", "refresh_token", "api_key", "password")


class _CaptureMiddleware:
    """WSGI middleware: remembers every answer (but reveals) and the secrets callers sent."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1/credentials"):
            _remember_sent_secrets(body)
        statuses: list[Any] = []

        def capturing_start(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append((status, headers))
            return start_response(status, headers, exc_info)

        return _CapturedBody(self.wsgi_app(environ, capturing_start), path, statuses)


class _CapturedBody:
    """Passes the app's body through unchanged, records it, and keeps the WSGI close()."""

    def __init__(self, iterable: Any, path: str, statuses: list[Any]) -> None:
        self.iterable, self.path, self.statuses = iterable, path, statuses
        self.chunks: list[bytes] = []

    def __iter__(self) -> Any:
        for chunk in self.iterable:
            self.chunks.append(chunk)
            yield chunk

    def close(self) -> None:
        if not self.path.endswith(PLAINTEXT_PATHS):
            text = b"".join(self.chunks).decode("utf-8", "replace")
            CAPTURED.append(text + repr(self.statuses))
        if hasattr(self.iterable, "close"):
            self.iterable.close()


def _remember_sent_secrets(body: bytes) -> None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return
    if isinstance(data, dict):
        SECRETS_USED.update(
            v for k, v in data.items() if k in SECRET_FIELDS and isinstance(v, str) and len(v) >= 6
        )


def _remember_secret_settings(app: Flask) -> None:
    from services.integrations.config import SETTINGS
    from services.integrations.webhooks.settings import WEBHOOK_SETTINGS

    for setting in (*SETTINGS, *WEBHOOK_SETTINGS):
        value = app.config.get(setting.name)
        if not setting.secret or setting.name == "DATABASE_URL" or not value:
            continue
        parts = [p.partition("=")[2] for p in str(value).split(",")] if "=" in str(value) else []
        SECRETS_USED.update(p for p in parts or [str(value)] if len(p) >= 6)


def watch_responses(app: Flask) -> None:
    """Capture this app's answers and register its secrets (once per app)."""
    if isinstance(app.wsgi_app, _CaptureMiddleware):
        return
    app.wsgi_app = _CaptureMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    _remember_secret_settings(app)


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


# The fake PSA servers listen on plain http on this machine: the development setting, and
# their host names added to every vendor's allow-list.
LOCAL_PSA_SERVERS = {
    "OUTBOUND_ALLOW_LOCAL": "true",
    "OUTBOUND_ALLOWED_HOSTS": "*=127.0.0.1,*=localhost",
}
