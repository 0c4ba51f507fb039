"""Binds every keyset cursor of a request to its endpoint and filters (see shared.pagination)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, has_request_context, request

from shared.pagination import CursorBinding, bind_cursors, unbind_cursors

# Arguments that move along a list rather than choose it: a cursor survives a new page size.
NOT_BOUND = frozenset({"cursor", "limit"})
_KEY = "cursor_key"


def cursor_key(settings: Mapping[str, Any]) -> bytes:
    """CURSOR_SECRET, or (unset) a key derived from DATABASE_URL, which every replica shares."""
    secret = settings.get("CURSOR_SECRET") or f"database:{settings.get('DATABASE_URL', '')}"
    return hashlib.sha256(b"msp cursor key v1\0" + secret.encode()).digest()


def init_cursor_binding(app: Flask) -> None:
    """Keep the app's cursor key; every request's binding ends with the request."""
    app.extensions[_KEY] = cursor_key(app.config)

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        token = g.pop("cursor_binding_token", None)
        if token is not None:
            unbind_cursors(token)


def bind_request_cursors(arguments: Mapping[str, Any]) -> None:
    """Seal this request's cursors to its endpoint, path and parsed query arguments."""
    if not has_request_context() or _KEY not in current_app.extensions:
        return
    filters = {name: value for name, value in arguments.items() if name not in NOT_BOUND}
    resource = f"{current_app.name}:{request.endpoint}:{sorted((request.view_args or {}).items())}"
    binding = CursorBinding.of(current_app.extensions[_KEY], resource, filters)
    previous = g.pop("cursor_binding_token", None)
    if previous is not None:
        unbind_cursors(previous)
    g.cursor_binding_token = bind_cursors(binding)
