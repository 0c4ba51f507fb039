"""Per-vendor webhook authentication: Autotask HMAC-SHA1, ConnectWise HMAC-SHA256, URL tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from fnmatch import fnmatchcase

from services.integrations.adapters.endpoints import EndpointRefused, parse_outbound_url

# Characters .NET's JSON writer escapes as \uXXXX; Autotask seems to sign that form.
_DOTNET_ESCAPED = "&<>'\"`+"


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a configured URL token; an unset token matches nothing."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def dotnet_escaped(raw: bytes) -> bytes | None:
    """The body re-serialised the way Autotask's .NET signer appears to see it (None: not JSON)."""
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # unsigned input: deep nesting must not be a 500
        return None
    text = json.dumps(parsed, separators=(",", ":"), ensure_ascii=True)
    text = text.replace('\\"', "\\u0022")
    for char in _DOTNET_ESCAPED.replace('"', ""):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode()


def autotask_signature_valid(secret: str | None, raw: bytes, header: str | None) -> bool:
    """`X-Hook-Signature: sha1=<base64(HMAC-SHA1(secret, body))>`: raw body, then .NET form."""
    if not secret or not header or not header.startswith("sha1="):
        return False
    given = header.removeprefix("sha1=").strip().encode()
    for body in (raw, dotnet_escaped(raw)):
        if body is None:
            continue
        digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest), given):
            return True
    return False


def key_url_allowed(key_url: str, allowed_origins: str) -> bool:
    """Whether a ConnectWise `Metadata.key_url` points at an allow-listed origin (SSRF guard).

    Judged on the same parse the key fetch connects with, so a backslash or `user@` spelling
    cannot show this check one host and the HTTP library another."""
    try:
        origin = parse_outbound_url(key_url, allow_plain_http=True).origin
    except EndpointRefused:
        return False
    patterns = [p.strip().lower().rstrip("/") for p in allowed_origins.split(",") if p.strip()]
    return any(fnmatchcase(origin, pattern) for pattern in patterns)


def connectwise_signature_valid(
    raw: bytes, header: str | None, signing_key: Callable[[], str | None]
) -> bool:
    """`x-content-signature: base64(HMAC-SHA256(key=SHA256(signing_key), body))`."""
    if not header:
        return False
    key = signing_key()
    if not key:
        return False
    digest = hmac.new(hashlib.sha256(key.encode()).digest(), raw, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode())
