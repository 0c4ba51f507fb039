"""Fetching (and briefly caching) the ConnectWise callback signing key named by `key_url`."""

from __future__ import annotations

import threading
import time

import requests

from services.integrations.adapters import AuditHook, OutboundCall

KEY_TTL_SECONDS = 600.0
_keys: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget cached signing keys (tests, key rotation)."""
    with _lock:
        _keys.clear()


def fetch_signing_key(key_url: str, *, audit: AuditHook, timeout: float = 3.0) -> str | None:
    """The `signing_key` at an (already allow-listed) key_url; never follows redirects."""
    with _lock:
        cached = _keys.get(key_url)
    if cached and time.monotonic() - cached[1] < KEY_TTL_SECONDS:
        return cached[0]
    started = time.monotonic()
    status, key, error = None, None, None
    try:
        response = requests.get(key_url, timeout=(2.0, timeout), allow_redirects=False)
        status = response.status_code
        body = response.json() if status == 200 else None
        key = body.get("signing_key") if isinstance(body, dict) else None
    except (requests.RequestException, ValueError) as exc:
        error = type(exc).__name__
    audit(
        OutboundCall(
            integration_type="connectwise",
            action="fetched",
            method="GET",
            url=key_url,
            request={},
            response={"signing_key": "[redacted]"} if key else None,
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )
    )
    if isinstance(key, str) and key:
        with _lock:
            _keys[key_url] = (key, time.monotonic())
        return key
    return None
