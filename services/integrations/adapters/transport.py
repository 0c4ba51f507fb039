"""HTTP to a PSA: timeouts, safe retries, 429/Retry-After, and one audit record per attempt."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from services.integrations import telemetry
from services.integrations.adapters.endpoints import EndpointPolicy, EndpointRefused
from services.integrations.adapters.errors import (
    PsaAuthFailed,
    PsaEndpointRefused,
    PsaOutcomeUnknown,
    PsaRateLimited,
    PsaRejected,
    PsaUnavailable,
)
from services.integrations.adapters.pinned_http import pinned_session
from services.integrations.adapters.shapes import AuditHook, JsonValue, OutboundCall
from shared.client import IDEMPOTENT_METHODS
from shared.redaction import REDACTED, is_secret_key, redact_url

# Strict by default: https, the vendor's own hosts, public addresses only.
STRICT_ENDPOINTS = EndpointPolicy()


@dataclass(frozen=True)
class TransportSettings:
    """Timeouts and retry bounds; waits above `max_retry_wait` are handed back to the caller."""

    connect_timeout: float = 3.05
    read_timeout: float = 20.0
    max_attempts: int = 3
    max_retry_wait: float = 10.0
    backoff_base: float = 0.5
    endpoints: EndpointPolicy = STRICT_ENDPOINTS


@dataclass(frozen=True)
class PsaResponse:
    """A PSA answer the adapter still has to interpret (2xx or 404)."""

    status: int
    body: JsonValue
    headers: Mapping[str, str]


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers fit for the audit log (the same secret-key rule as every other payload)."""
    return {k: REDACTED if is_secret_key(k) else v for k, v in headers.items()}


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _never_reached_server(exc: requests.RequestException) -> bool:
    """True when the request provably was not sent, so even a POST may be retried."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _decode(response: requests.Response) -> JsonValue:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:2000]}


def vendor_messages(body: JsonValue) -> list[str]:
    """Messages from the documented Syncro, Autotask and ConnectWise error bodies."""
    if not isinstance(body, dict):
        return []
    messages: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        messages += [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    elif isinstance(errors, dict):
        messages += [f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()]
    for key in ("error", "message"):
        if isinstance(body.get(key), str):
            messages.append(body[key])
    return messages


class PsaTransport:
    """Sends requests to one PSA with its auth headers; reports every attempt to the audit hook."""

    def __init__(
        self,
        *,
        integration_type: str,
        headers: Mapping[str, str],
        audit: AuditHook,
        settings: TransportSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        self.integration_type = integration_type
        self.headers = dict(headers)
        self.audit = audit
        self.settings = settings or TransportSettings()
        self.sleep = sleep
        # One connection pool for every PSA call of this process (TLS set-up is reused),
        # keeping no cookies (one credential's session cookie must never ride on another's)
        # and connecting only to addresses the endpoint rules allow.
        self.http = http or pinned_session(allow_local=self.settings.endpoints.allow_local)

    def send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        params: Mapping[str, Any] | None = None,
        json: JsonValue = None,
        idempotent: bool | None = None,
        external_id: str | None = None,
        attempts: int | None = None,
    ) -> PsaResponse:
        """Send with safe retries; return a 2xx or 404 answer, raise a PsaError otherwise."""
        try:
            # Every URL, whoever built it, is checked against the vendor's hosts and sent in
            # the one form that was checked.
            checked = self.settings.endpoints.check(url, self.integration_type).url
            return self._send_checked(
                method, checked, action, params, json, idempotent, external_id, attempts
            )
        except EndpointRefused as exc:
            raise PsaEndpointRefused(self.integration_type, str(exc)) from None

    def _send_checked(
        self,
        method: str,
        url: str,
        action: str,
        params: Mapping[str, Any] | None,
        json: JsonValue,
        idempotent: bool | None,
        external_id: str | None,
        attempts: int | None,
    ) -> PsaResponse:
        safe = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        limit = attempts or self.settings.max_attempts
        for attempt in range(1, limit + 1):
            last = attempt == limit
            outcome = self._attempt(method, url, action, params, json, external_id, attempt)
            if isinstance(outcome, requests.RequestException):
                wait = self._after_exception(outcome, safe=safe, last=last, attempt=attempt)
            else:
                response, body = outcome
                result = self._after_response(response, body, safe=safe, last=last, attempt=attempt)
                if isinstance(result, PsaResponse):
                    return result
                wait = result
            self.sleep(wait)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _attempt(
        self,
        method: str,
        url: str,
        action: str,
        params: Mapping[str, Any] | None,
        json: JsonValue,
        external_id: str | None,
        attempt: int,
    ) -> tuple[requests.Response, JsonValue] | requests.RequestException:
        """One try, audited; the answer's body is decoded once, here."""
        started = time.monotonic()
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            response: requests.Response | requests.RequestException = self.http.request(
                method,
                url,
                params=params,
                json=json,
                headers=self.headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            response = exc
        duration_ms = int((time.monotonic() - started) * 1000)
        is_response = isinstance(response, requests.Response)
        telemetry.count_psa_attempt(self.integration_type, getattr(response, "status_code", None))
        body = _decode(response) if isinstance(response, requests.Response) else None
        self.audit(
            OutboundCall(
                integration_type=self.integration_type,
                action=action,
                method=method.upper(),
                url=redact_url(response.url if isinstance(response, requests.Response) else url),
                request={
                    "params": dict(params or {}),
                    "json": json,
                    "headers": redact_headers(self.headers),
                },
                response=body,
                status=response.status_code if isinstance(response, requests.Response) else None,
                duration_ms=duration_ms,
                external_id=external_id,
                attempt=attempt,
                error=None if is_response else type(response).__name__,
            )
        )
        return (response, body) if isinstance(response, requests.Response) else response

    def _after_exception(
        self, exc: requests.RequestException, *, safe: bool, last: bool, attempt: int
    ) -> float:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        if not (safe or _never_reached_server(exc)):
            raise PsaOutcomeUnknown(
                self.integration_type, f"request {kind} after it may have been received"
            ) from None
        if last:
            raise PsaUnavailable(self.integration_type, f"request {kind}") from None
        return self._backoff(attempt)

    def _after_response(
        self,
        response: requests.Response,
        body: JsonValue,
        *,
        safe: bool,
        last: bool,
        attempt: int,
    ) -> PsaResponse | float:
        status = response.status_code
        if status < 300 or status == 404:
            return PsaResponse(status, body, response.headers)
        if status == 429:
            return self._after_rate_limit(response, last=last, attempt=attempt)
        if status in (401, 403):
            raise PsaAuthFailed(self.integration_type, f"credentials refused (HTTP {status})")
        if status < 500:
            raise PsaRejected(self.integration_type, status, vendor_messages(body))
        if not safe:
            detail = "; ".join(vendor_messages(body)) or "no detail"
            raise PsaOutcomeUnknown(
                self.integration_type, f"HTTP {status} on a non-idempotent call ({detail})"
            )
        if last:
            raise PsaUnavailable(self.integration_type, f"HTTP {status} after {attempt} attempts")
        hinted = parse_retry_after(response.headers.get("Retry-After"), time.time())
        return min(hinted, self.settings.max_retry_wait) if hinted else self._backoff(attempt)

    def _after_rate_limit(self, response: requests.Response, *, last: bool, attempt: int) -> float:
        # A 429 means the request was not processed, so retrying is safe for any method.
        hinted = parse_retry_after(response.headers.get("Retry-After"), time.time())
        wait = hinted if hinted is not None else self._backoff(attempt) * 2
        if last or wait > self.settings.max_retry_wait:
            raise PsaRateLimited(self.integration_type, max(wait, 1.0))
        telemetry.count_rate_limit_wait(self.integration_type, "vendor", wait)
        return wait

    def _backoff(self, attempt: int) -> float:
        return float(self.settings.backoff_base * (2 ** (attempt - 1)))
