"""Where a credential may be sent: one strict parse, a per-vendor host allow-list, https only."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from shared.config import Setting, parse_bool

# The hosts each vendor documents for its API, token and key endpoints. A host matches a
# pattern whole (`*` spans labels), so `*.syncromsp.com` takes `acme.syncromsp.com` but
# never `syncromsp.com.evil.net` or `evil.net/x.syncromsp.com`.
VENDOR_HOSTS: Mapping[str, tuple[str, ...]] = {
    "syncro": ("*.syncromsp.com",),
    "autotask": ("*.autotask.net",),
    "connectwise": ("*.myconnectwise.net", "api-staging.connectwisedev.com"),
    "msp_backups": ("api.mspbackups.com",),
    "zapier": ("hooks.zapier.com",),
}
ALL_VENDORS = "*"
# A DNS name as resolvers treat it: LDH labels and an alphabetic (or IDNA) top label, so the
# inet_aton spellings of an address (`2130706433`, `0x7f.1`, `127.1`) are never taken for names.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?:{_LABEL}\.)*(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$")
# Characters no endpoint URL needs and that parsers disagree about (`\` is `/` to browsers and
# urllib3 but part of the authority to urlsplit; whitespace and controls get stripped or kept).
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")


class EndpointRefused(Exception):
    """An outbound URL or address broke the endpoint rules; the message names the rule."""


@dataclass(frozen=True)
class OutboundUrl:
    """A URL parsed once: what was checked is what gets connected to (`url` is rebuilt)."""

    scheme: str
    host: str  # lower case, IDNA-encoded, no trailing dot, IPv6 without brackets
    port: int
    target: str  # path and query, as given

    @property
    def is_ip_literal(self) -> bool:
        return _ip_literal(self.host) is not None

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"https": 443, "http": 80}[self.scheme]
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def url(self) -> str:
        return self.origin + self.target


def parse_outbound_url(raw: str, *, allow_plain_http: bool = False) -> OutboundUrl:
    """The one parse of an outbound URL; refuses what parsers read differently."""
    if not isinstance(raw, str) or _AMBIGUOUS.search(raw):
        raise EndpointRefused("the URL holds a backslash, whitespace or a control character")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_plain_http):
        raise EndpointRefused("only https URLs may carry a credential")
    if "@" in parts.netloc:
        raise EndpointRefused("the URL names a user (user@host)")
    try:
        given_port = parts.port
    except ValueError:
        given_port = 0
    if given_port == 0:
        raise EndpointRefused("the URL's port is not a number from 1 to 65535")
    port = given_port or (443 if scheme == "https" else 80)
    host = _canonical_host(parts.hostname or "")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return OutboundUrl(scheme=scheme, host=host, port=port, target=target)


def _canonical_host(hostname: str) -> str:
    host = hostname.removesuffix(".")
    address = _ip_literal(host)
    if address is not None:
        return str(address)
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise EndpointRefused("the URL's host is not a valid DNS name") from None
    if not _HOSTNAME.match(ascii_host):
        raise EndpointRefused("the URL's host is not a valid DNS name or IP address")
    return ascii_host


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses
    (an IPv4 address mapped or embedded into IPv6 is judged as itself)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class EndpointPolicy:
    """Which hosts each vendor's credentials may go to, and whether local development
    (plain http, loopback and private addresses) is allowed."""

    extra_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_local: bool = False

    def hosts_for(self, vendor: str) -> tuple[str, ...]:
        """The documented hosts of the vendor plus the operator's additions."""
        return (
            VENDOR_HOSTS.get(vendor, ())
            + tuple(self.extra_hosts.get(vendor, ()))
            + tuple(self.extra_hosts.get(ALL_VENDORS, ()))
        )

    def check(self, raw: str, vendor: str) -> OutboundUrl:
        """The parsed URL when `vendor`'s credentials may be sent to it; EndpointRefused if not."""
        url = parse_outbound_url(raw, allow_plain_http=self.allow_local)
        if not any(fnmatchcase(url.host, pattern) for pattern in self.hosts_for(vendor)):
            raise EndpointRefused(f"{url.host} is not an allowed host for {vendor} credentials")
        if url.is_ip_literal and not (self.allow_local or is_public_address(url.host)):
            raise EndpointRefused(f"{url.host} is not a public address")
        return url


def parse_allowed_hosts(raw: str) -> dict[str, tuple[str, ...]]:
    """`syncro=psa.example.com,*=*.corp.example` -> hosts per vendor (`*`: every vendor)."""
    hosts: dict[str, list[str]] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        vendor, sep, pattern = (piece.strip().lower() for piece in item.partition("="))
        if not sep or not re.fullmatch(r"[a-z0-9.*:\[\]-]+", pattern):
            raise ValueError("expected vendor=host-pattern pairs separated by commas")
        if vendor != ALL_VENDORS and vendor not in VENDOR_HOSTS:
            raise ValueError(f"no vendor called {vendor!r}")
        hosts.setdefault(vendor, []).append(pattern.strip("[]").removesuffix("."))
    return {vendor: tuple(patterns) for vendor, patterns in hosts.items()}


ENDPOINT_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "OUTBOUND_ALLOWED_HOSTS",
        parse_allowed_hosts,
        {},
        "more hosts credentials may be sent to, as vendor=host-pattern pairs (* = any vendor)",
    ),
    Setting(
        "OUTBOUND_ALLOW_LOCAL",
        parse_bool,
        False,
        "development only: allow plain http and loopback, private and link-local addresses",
    ),
)


def endpoint_policy(config: Mapping[str, Any]) -> EndpointPolicy:
    """The endpoint rules of an app, from its settings."""
    return EndpointPolicy(
        extra_hosts=config.get("OUTBOUND_ALLOWED_HOSTS") or {},
        allow_local=bool(config.get("OUTBOUND_ALLOW_LOCAL", False)),
    )
