"""Fetching (and briefly caching) the ConnectWise callback signing key named by `key_url`."""

from __future__ import annotations

import threading
import time

import requests

from services.integrations.adapters import AuditHook, OutboundCall
from services.integrations.adapters.endpoints import EndpointRefused, parse_outbound_url
from services.integrations.adapters.pinned_http import pinned_session

KEY_TTL_SECONDS = 600.0
_keys: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget cached signing keys (tests, key rotation)."""
    with _lock:
        _keys.clear()


def fetch_signing_key(
    key_url: str, *, audit: AuditHook, timeout: float = 3.0, allow_local: bool = False
) -> str | None:
    """The `signing_key` at an (already allow-listed) key_url; never follows redirects.

    The URL is fetched in the one parsed form the allow-list judged, at an address checked
    to be public (unless `allow_local`), so `https://127.0.0.1:8443\\.myconnectwise.net/`
    or `https://x.myconnectwise.net@10.0.0.1/` never reach another host."""
    try:
        url = parse_outbound_url(key_url, allow_plain_http=allow_local).url
    except EndpointRefused:
        return None
    with _lock:
        cached = _keys.get(url)
    if cached and time.monotonic() - cached[1] < KEY_TTL_SECONDS:
        return cached[0]
    started = time.monotonic()
    status, key, error = None, None, None
    try:
        response = pinned_session(allow_local=allow_local).get(
            url, timeout=(2.0, timeout), allow_redirects=False
        )
        status = response.status_code
        body = response.json() if status == 200 else None
        key = body.get("signing_key") if isinstance(body, dict) else None
    except (requests.RequestException, ValueError, EndpointRefused) as exc:
        error = type(exc).__name__
    audit(
        OutboundCall(
            integration_type="connectwise",
            action="fetched",
            method="GET",
            url=url,
            request={},
            response={"signing_key": "[redacted]"} if key else None,
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )
    )
    if isinstance(key, str) and key:
        with _lock:
            _keys[url] = (key, time.monotonic())
        return key
    return None
