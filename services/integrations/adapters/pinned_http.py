"""HTTP that connects only to the address it checked: resolve, refuse local, then pin."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from services.integrations.adapters.endpoints import (
    EndpointRefused,
    is_public_address,
    parse_outbound_url,
)
from shared.client import cookieless_session

Resolver = Callable[[str, int], list[str]]


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise EndpointRefused(f"{host} does not resolve") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_address(host: str, port: int, *, allow_local: bool, resolve: Resolver) -> str:
    """One address of the host, after every address it resolves to was checked: a name with
    one public and one private address could otherwise be sent to the private one."""
    addresses = resolve(host, port)
    if not addresses:
        raise EndpointRefused(f"{host} does not resolve")
    if not allow_local:
        local = [a for a in addresses if not is_public_address(a)]
        if local:
            raise EndpointRefused(f"{host} resolves to a non-public address")
    return addresses[0]


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the checked address of a request's host; TLS still verifies the name."""

    def __init__(self, *, allow_local: bool, resolve: Resolver = resolve_addresses) -> None:
        super().__init__()
        self.allow_local = allow_local
        self.resolve = resolve

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        # The URL is parsed by the same rules as every check before: what the caller
        # checked is what this connects to (no second parser reading another host).
        url = parse_outbound_url(str(request.url), allow_plain_http=self.allow_local)
        address = checked_address(
            url.host, url.port, allow_local=self.allow_local, resolve=self.resolve
        )
        pinned = request.copy()
        netloc = f"[{address}]" if ":" in address else address
        pinned.url = f"{url.scheme}://{netloc}:{url.port}{url.target}"
        pinned.headers["Host"] = urlsplit(url.origin).netloc
        if url.scheme == "https":
            pinned.server_hostname = url.host  # type: ignore[attr-defined]
        response = super().send(pinned, **kwargs)
        response.url, response.request = str(request.url), request
        return response

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        server_hostname = getattr(request, "server_hostname", None)
        if server_hostname:
            # SNI and certificate checks are for the name; the socket goes to the address.
            pool_kwargs["server_hostname"] = server_hostname
            pool_kwargs["assert_hostname"] = server_hostname
        return dict(host_params), pool_kwargs


_sessions: dict[bool, requests.Session] = {}
_sessions_lock = threading.Lock()


def pinned_session(*, allow_local: bool) -> requests.Session:
    """The process's pooled, cookieless session for credential-bearing calls."""
    with _sessions_lock:
        if allow_local not in _sessions:
            session = cookieless_session()
            adapter = PinnedAddressAdapter(allow_local=allow_local)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions[allow_local] = session
        return _sessions[allow_local]
