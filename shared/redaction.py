"""Deterministic secret redaction for free text (commands, error output) and JSON payloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

_SENSITIVE_LABELS = (
    r"password|passwd|passphrase|pwd|pass|secret|client_?secret|token|access_?token|refresh_?token|"
    r"id_?token|auth_?token|session_?token|api_?key|apikey|access_?key|secret_?key|private_?key|"
    r"account_?key|shared_?access_?key|sas_?token|sig|signature|credentials?|auth"
)

# Each rule is (pattern, replacement). Order matters: specific shapes before generic key=value.
_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _keep_prefix(match: re.Match[str]) -> str:
    """Keep group 1 (the label), replace the secret that follows it."""
    return f"{match.group(1)}{REDACTED}"


_RULES: list[_Rule] = [
    # PEM private key blocks (multi-line)
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        REDACTED,
    ),
    # Authorization / API key style headers: redact everything after the colon on that line
    (
        re.compile(
            r"(?im)((?:proxy-)?authorization\s*[:=]\s*|x-api-key\s*:\s*|x-auth-token\s*:\s*|"
            r"cookie\s*:\s*|set-cookie\s*:\s*)[^\r\n\"']+"
        ),
        _keep_prefix,
    ),
    # Bearer / Basic credentials anywhere
    (re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"), _keep_prefix),
    # URL userinfo: scheme://user:pass@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)"), _keep_prefix),
    # Well-known token shapes
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}\b"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), REDACTED),
    # ConvertTo-SecureString 'x' -AsPlainText / -String 'x'
    (
        re.compile(r"(?i)(convertto-securestring\s+(?:-string\s+)?)(\"[^\"]*\"|'[^']*'|\S+)"),
        _keep_prefix,
    ),
    # CLI arguments: -Password x, --password x, --password=x, /password:x, -p:x, --token x ...
    (
        re.compile(
            rf"(?i)((?:^|\s)(?:--?|/)(?:[a-z]*[-_]?)(?:{_SENSITIVE_LABELS})(?:\s*[=:]\s*|\s+))"
            r"(\"[^\"]*\"|'[^']*'|[^\s;&|]+)"
        ),
        _keep_prefix,
    ),
    # mysql -pSECRET / sshpass -p SECRET / curl -u user:pass
    (
        re.compile(
            r"(?i)(\b(?:mysql|mariadb|mysqldump|mariadb-dump|mysqladmin)\b[^\n]*?\s-p)(?!\s)(\S+)"
        ),
        _keep_prefix,
    ),
    (re.compile(r"(?i)(\bsshpass\s+-p\s*)(\S+)"), _keep_prefix),
    (re.compile(r"(?i)((?:^|\s)(?:-u|--user)\s+[^\s:]+:)(\S+)"), _keep_prefix),
    # net use \\srv\share PASSWORD /user:x   and   net user name PASSWORD /add
    (re.compile(r"(?i)(\bnet\s+use\s+(?:[a-z]:\s+)?\\\\\S+\s+)(?!/)(\S+)"), _keep_prefix),
    (re.compile(r"(?i)(\bnet\s+user\s+\S+\s+)(?!/)(?!\*)(\S+)(?=.*?/add\b|\s*$)"), _keep_prefix),
    # key=value / key: value pairs (connection strings, env vars, JSON-ish, query strings)
    (
        re.compile(
            rf"(?i)((?:\$env:)?\b[\w.-]*?(?:{_SENSITIVE_LABELS})\b[\"']?\s*(?:=|:)\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s;&,\"'}<>]+)"
        ),
        _keep_prefix,
    ),
]


def redact_text(text: str) -> str:
    """Return `text` with every secret-looking value replaced by ``[REDACTED]``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _collapse_repeats(text)


def _collapse_repeats(text: str) -> str:
    """Rules can overlap; never leave fragments like ``[REDACTED]REDACTED]``."""
    return re.sub(r"\[REDACTED\](?:REDACTED\]|\[REDACTED\])+", REDACTED, text)


_SECRET_KEY = re.compile(
    r"^(?:.*_)?(?:password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|"
    r"secret_?key|private_?key|client_?secret|authorization|proxy_authorization|auth|cookie|"
    r"set_cookie|credentials?|signature|sas|connection_?string|conn_?str|integration_?code)$"
)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (``api_key``, ``accessToken``, ``X-Api-Key``...)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_").replace(" ", "_")
    return bool(_SECRET_KEY.match(snake))


def redact_json(obj: Any) -> Any:
    """Return a copy of `obj` with values under secret-looking keys masked and strings redacted."""
    if isinstance(obj, dict):
        return {key: _redact_item(str(key), value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_json(value) for value in obj]
    if isinstance(obj, str):
        return redact_text(obj)
    return obj


def _redact_item(key: str, value: Any) -> Any:
    """Mask a value whose key is secret; recurse otherwise."""
    if is_secret_key(key) and value not in (None, "", True, False):
        return REDACTED
    return redact_json(value)


def redact_url(url: str) -> str:
    """Mask secret-looking query parameters (Syncro's ?api_key=...) and URL passwords."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:REDACTED@{host}"
        query = [
            (k, REDACTED if is_secret_key(k) else redact_text(v))
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        clean = parts._replace(
            netloc=netloc, path=redact_text(parts.path), query=urlencode(query, safe="[]")
        )
        return urlunsplit(clean)
    except ValueError:  # not a URL we can take apart: treat it as text
        return redact_text(url)


def redact_query(query: str) -> str:
    """A query string with secret-looking parameters masked (for access logs)."""
    if not query:
        return query
    return redact_url(f"?{query}").lstrip("?")
