"""The one outside call of the refresh broker: an OAuth 2.0 refresh_token grant."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from services.integrations.adapters.endpoints import EndpointPolicy, EndpointRefused
from services.integrations.adapters.pinned_http import pinned_session
from services.integrations.adapters.shapes import AuditHook, OutboundCall
from shared.redaction import redact_json

# Ten years: the stored expiry stays far inside the API's date window.
MAX_TOKEN_LIFETIME = 10 * 365 * 86_400


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint granted (refresh_token only when it rotated it)."""

    access_token: str
    expires_in: int | None
    refresh_token: str | None

    def __repr__(self) -> str:  # tokens never reach a traceback or a log
        return (
            f"TokenGrant(expires_in={self.expires_in!r}, rotated={self.refresh_token is not None})"
        )


class InvalidGrant(Exception):
    """The token endpoint refused the refresh token (`invalid_grant`)."""


class TokenEndpointFailed(Exception):
    """The token endpoint could not be used (network, 5xx, unexpected answer); safe message."""


@dataclass(frozen=True)
class RefreshRequest:
    """Everything a refresh needs; repr hides the secrets."""

    token_url: str
    client_id: str
    client_secret: str | None
    refresh_token: str
    integration_type: str

    def __repr__(self) -> str:
        return f"RefreshRequest(token_url={self.token_url!r}, client_id={self.client_id!r})"


def refresh_grant(
    request: RefreshRequest,
    *,
    timeout: float,
    audit: AuditHook,
    endpoints: EndpointPolicy | None = None,
) -> TokenGrant:
    """POST grant_type=refresh_token; every attempt is reported (redacted) to `audit`."""
    policy = endpoints or EndpointPolicy()
    try:
        # The refresh token and client secret go only to a host of the credential's vendor,
        # at the address that was checked, in the one form of the URL that was checked.
        token_url = policy.check(request.token_url, request.integration_type).url
    except EndpointRefused as exc:
        raise TokenEndpointFailed(f"token_url refused: {exc}") from None
    form = {
        "grant_type": "refresh_token",
        "refresh_token": request.refresh_token,
        "client_id": request.client_id,
    }
    if request.client_secret:
        form["client_secret"] = request.client_secret
    started = time.monotonic()
    try:
        answer = pinned_session(allow_local=policy.allow_local).post(
            token_url,
            data=form,
            timeout=timeout,
            headers={"Accept": "application/json"},
            allow_redirects=False,
        )
    except EndpointRefused as exc:
        raise TokenEndpointFailed(f"token_url refused: {exc}") from None
    except requests.RequestException as exc:
        _report(audit, request, None, {"error": type(exc).__name__}, started)
        raise TokenEndpointFailed(f"token endpoint unreachable ({type(exc).__name__})") from None
    body = _json(answer)
    _report(audit, request, answer.status_code, body, started)
    return _grant_from(answer.status_code, body)


def _grant_from(status: int, body: dict[str, Any]) -> TokenGrant:
    if status in (400, 401) and body.get("error") == "invalid_grant":
        raise InvalidGrant()
    token = body.get("access_token")
    if status != 200 or not isinstance(token, str) or not token:
        raise TokenEndpointFailed(f"token endpoint answered HTTP {status} without a token")
    expires = body.get("expires_in")
    rotated = body.get("refresh_token")
    return TokenGrant(
        token,
        _lifetime(expires),
        rotated if isinstance(rotated, str) and rotated else None,
    )


def _lifetime(expires_in: Any) -> int | None:
    """Seconds the token lives, at most MAX_TOKEN_LIFETIME (refreshing early is harmless)."""
    if not (isinstance(expires_in, int | float | str) and str(expires_in).isdigit()):
        return None
    # An endpoint's 10**15 overflowed the expiry datetime after the refresh token had rotated,
    # so the new refresh token was lost; a bounded lifetime keeps the expiry inside the window.
    return min(int(expires_in), MAX_TOKEN_LIFETIME)


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _report(
    audit: AuditHook,
    request: RefreshRequest,
    status: int | None,
    body: dict[str, Any],
    started: float,
) -> None:
    audit(
        OutboundCall(
            integration_type=request.integration_type,
            action="updated",
            method="POST",
            url=request.token_url,
            request={"grant_type": "refresh_token", "client_id": request.client_id},
            # The secrets sent and granted are masked wherever the endpoint put them.
            response=redact_json(body, _secrets_of(request, body)),
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    )


def _secrets_of(request: RefreshRequest, body: dict[str, Any]) -> list[str]:
    granted = [body.get("access_token"), body.get("refresh_token")]
    sent = [request.refresh_token, request.client_secret]
    return [value for value in sent + granted if isinstance(value, str) and value]
