"""The HTTP client services use to call each other: timeouts, safe retries, typed problems."""

from __future__ import annotations

import http.cookiejar
import threading
import weakref
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from shared.errors import DomainError, GatewayTimeout, ServiceUnavailable
from shared.observability import current_request_id

# Only methods that are safe to repeat are retried; a POST may already have taken effect.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class PeerUnavailable(ServiceUnavailable):
    """The peer could not be reached or said it is unavailable."""

    slug, title = "peer-unavailable", "A service this request needs is unavailable"


class PeerTimeout(GatewayTimeout):
    """The peer did not answer within the read timeout."""

    slug, title = "peer-timeout", "A service this request needs did not answer in time"


class PeerError(DomainError):
    """The peer answered with a problem; `peer_status` and `problem` say which."""

    status, slug, title = 502, "peer-error", "A service this request needs refused it"

    def __init__(self, peer: str, peer_status: int, problem: dict[str, Any]) -> None:
        detail = f"{peer} answered {peer_status}: {problem.get('detail') or problem.get('title')}"
        super().__init__(detail)
        self.peer_status = peer_status
        self.problem = problem


class PeerNotFound(PeerError):
    """The peer says the thing asked for does not exist."""


class PeerConflict(PeerError):
    """The peer refused a write that conflicts with its state."""


_POOLS: dict[tuple[str, str | None, int], requests.Session] = {}
_POOLS_LOCK = threading.Lock()


def _pooled_session(base_url: str, token: str | None, retries: int) -> requests.Session:
    """One session (so one connection pool) per peer, token and retry policy for the whole
    process: a ServiceClient made per request reuses its peer's open connections."""
    key = (base_url, token, retries)
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = _new_session(token, retries)
        return _POOLS[key]


# Every process-wide session, so a forked worker can find the connections it inherited.
_PROCESS_SESSIONS: weakref.WeakSet[requests.Session] = weakref.WeakSet()


def cookieless_session() -> requests.Session:
    """A requests session that keeps no cookies. Pooled sessions serve every caller of the
    process: a cookie one call was given must never ride on another's."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    _PROCESS_SESSIONS.add(session)
    return session


def drop_inherited_connections() -> None:
    """Close the pooled connections of every session in this process (call it after a fork).

    A forked worker holds copies of its parent's sockets: two processes writing to one TLS
    connection corrupt it. Closing only releases this process's copies (nothing is sent), and
    the sessions stay usable: their pools open new connections on the next call."""
    for session in list(_PROCESS_SESSIONS):
        session.close()


def _new_session(token: str | None, retries: int) -> requests.Session:
    session = cookieless_session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    retry = Retry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=IDEMPOTENT_METHODS,
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


class ServiceClient:
    """Calls one peer service with this service's token, passing X-Request-ID along."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        name: str = "peer",
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = (connect_timeout, read_timeout)
        self._http = _pooled_session(self.base_url, token, retries)

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, *, json: Any = None, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json=json, idempotency_key=idempotency_key)

    def patch(self, path: str, *, json: Any = None) -> Any:
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request; answer its JSON, or raise a typed peer error."""
        headers = self._headers(idempotency_key)
        try:
            response = self._http.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if _is_read_timeout(exc):
                raise PeerTimeout(f"{self.name} did not answer in time", retry_after=5) from None
            raise PeerUnavailable(f"{self.name} cannot be reached", retry_after=5) from None
        return self._answer(response)

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json, application/problem+json"}
        request_id = current_request_id()
        if request_id:
            headers["X-Request-ID"] = request_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _answer(self, response: requests.Response) -> Any:
        if response.status_code < 400:
            return response.json() if response.content else None
        problem = _problem_of(response)
        if response.status_code in (502, 503, 504):
            retry_after = _retry_after(response)
            raise PeerUnavailable(f"{self.name} is unavailable", retry_after=retry_after)
        kind = {404: PeerNotFound, 409: PeerConflict}.get(response.status_code, PeerError)
        raise kind(self.name, response.status_code, problem)


def _is_read_timeout(exc: Exception) -> bool:
    # With retries mounted, urllib3 wraps a read timeout in MaxRetryError and requests then
    # raises ConnectionError; the peer was reached but did not answer, which is a 504.
    if isinstance(exc, requests.ReadTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ReadTimeoutError)


def _problem_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"title": response.reason or "error"}
    return body if isinstance(body, dict) else {"title": response.reason or "error"}


def _retry_after(response: requests.Response) -> int:
    try:
        return max(1, int(response.headers.get("Retry-After", "5")))
    except ValueError:
        return 5
