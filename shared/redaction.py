"""Deterministic secret redaction for free text (commands, error output) and JSON payloads."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from shared.command_secrets import redact_command_secrets

REDACTED = "[REDACTED]"
# Version of these rules, stored beside every redacted row like the fingerprint's version:
# 1 = labelled values only; 2 = also positional and inline secrets read by each tool's syntax
# (shared/command_secrets.py), so rows redacted by an older version can be found again.
REDACTION_VERSION = 2

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
    # ConvertTo-SecureString is read by shared/command_secrets.py, switches in any order.
    # CLI arguments: -Password x, --password x, --password=x, /password:x, -p:x, --token x ...
    (
        re.compile(
            rf"(?i)((?:^|\s)(?:--?|/)(?:[a-z]*[-_]?)(?:{_SENSITIVE_LABELS})(?:\s*[=:]\s*|\s+))"
            # not `(sub-expression)` or `$variable`: the command reader looks inside those
            r"(\"[^\"]*\"|'[^']*'|(?![($])[^\s;&|]+)"
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
    (re.compile(r"(?i)((?:^|\s)(?:-u|--user)\s+[^\s:]+:)([^\s'\"]+)"), _keep_prefix),
    # net use \\srv\share PASSWORD /user:x   and   net user name PASSWORD /add
    (re.compile(r"(?i)(\bnet\s+use\s+(?:[a-z]:\s+)?\\\\\S+\s+)(?!/)(\S+)"), _keep_prefix),
    (re.compile(r"(?i)(\bnet\s+user\s+\S+\s+)(?!/)(?!\*)(\S+)(?=.*?/add\b|\s*$)"), _keep_prefix),
    # "the signing key is 9fQ2...": a random-looking token right after a secret's name
    (
        re.compile(
            r"(?i)(\b(?:secret|password|passwd|pwd|token|api[ _-]?key|signing[ _-]?key|"
            r"private[ _-]?key|client[ _-]?secret|shared[ _-]?secret)\s+(?:is\s+|was\s+)?)"
            r"([^\s\"',;]{16,})"
        ),
        lambda m: f"{m.group(1)}{REDACTED}" if looks_random(m.group(2)) else m.group(0),
    ),
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
    text = redact_command_secrets(text, REDACTED)
    # Tools the command parser does not know keep the labelled-value rules.
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _collapse_repeats(text)


def _collapse_repeats(text: str) -> str:
    """Rules can overlap; never leave fragments like ``[REDACTED]REDACTED]``."""
    return re.sub(r"\[REDACTED\](?:REDACTED\]|\[REDACTED\])+", REDACTED, text)


# Names of secrets, compared on a key's words joined without case or separators, so that
# signingKey, signing-key, SIGNING_KEY and signingkey are one name (and x_api_key ends in one).
_SECRET_NAMES = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "pass", "secret", "token", "apikey",
        "accesskey", "secretkey", "privatekey", "signingkey", "clientsecret", "sharedsecret",
        "authorization", "proxyauthorization", "auth", "cookie", "setcookie", "credential",
        "credentials", "signature", "sig", "sas", "sastoken", "connectionstring", "connstr",
        "integrationcode", "accountkey", "sharedaccesskey", "encryptionkey", "hmackey",
        "masterkey", "webhookkey", "otp", "totp", "bearer", "jwt",
    }
)  # fmt: skip
# Words that name a secret only when the value looks like one (an idempotency key, a postcode
# and a sort key are not): such a value is masked when it is long and high in entropy.
_MAYBE_SECRET_WORDS = frozenset({"key", "code", "hmac", "salt", "seed"})
# Members that say what a sibling "value" holds: {"name": "X-Api-Key", "value": "..."}.
_LABEL_MEMBERS = ("name", "key", "header", "field", "param", "parameter", "label", "type")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_HIGH_ENTROPY_MIN_LENGTH = 16
_HIGH_ENTROPY_BITS = 3.0


def _key_words(key: str) -> list[str]:
    """``signingKey``, ``signing-key``, ``SIGNING_KEY`` -> ``["signing", "key"]``."""
    return [word.lower() for word in _WORDS.findall(key)]


# Long names also end a run-together word (accesstoken, dbpassword); short ones (pass, sig,
# sas) only a whole word, or bypass and compass would be secrets.
_LONG_SECRET_NAMES = tuple(name for name in _SECRET_NAMES if len(name) >= 5)


def _names_secret(words: list[str]) -> bool:
    collapsed = "".join(words)
    for candidate in (collapsed, collapsed.removesuffix("s")):
        if candidate.endswith(_LONG_SECRET_NAMES):
            return True
    for start in range(len(words)):
        joined = "".join(words[start:])
        if joined in _SECRET_NAMES or joined.removesuffix("s") in _SECRET_NAMES:
            return True
    return False


def is_secret_key(key: str) -> bool:
    """True when a mapping key names a secret (``api_key``, ``accessToken``, ``X-Api-Key``...)."""
    return _names_secret(_key_words(key))


def looks_random(value: str) -> bool:
    """A long token of mixed letters and digits with high entropy (a key, not a word or id)."""
    if len(value) < _HIGH_ENTROPY_MIN_LENGTH or any(c.isspace() for c in value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return bits >= _HIGH_ENTROPY_BITS


def _maybe_secret_key(key: str) -> bool:
    words = _key_words(key)
    return bool(words) and words[-1] in _MAYBE_SECRET_WORDS


def redact_json(obj: Any, known: Iterable[str] = ()) -> Any:
    """Return a copy of `obj` with secrets masked: under secret-looking keys, by value shape,
    and wherever one of the `known` secrets (those of the credential in use) appears."""
    return _redact_value(obj, KnownSecrets.of(known))


def _redact_value(obj: Any, known: KnownSecrets) -> Any:
    if isinstance(obj, dict):
        return _redact_mapping(obj, known)
    if isinstance(obj, list | tuple):
        return [_redact_value(value, known) for value in obj]
    if isinstance(obj, str):
        return redact_text(known.mask(obj))
    if (
        isinstance(obj, int | float)
        and not isinstance(obj, bool)
        and known.mask(str(obj)) != str(obj)
    ):
        return REDACTED
    return obj


def _redact_mapping(obj: dict[Any, Any], known: KnownSecrets) -> dict[str, Any]:
    labelled = _labels_a_secret(obj)
    clean: dict[str, Any] = {}
    for key, value in obj.items():
        name = str(key)
        masked = (labelled and name.lower() == "value") or _secret_item(name, value)
        clean[redact_text(known.mask(name))] = REDACTED if masked else _redact_value(value, known)
    return clean


def _secret_item(key: str, value: Any) -> bool:
    """A value that is masked whole: a secret key's, or a random-looking one under a key word."""
    if value in (None, "", True, False):
        return False
    if is_secret_key(key):
        return True
    return isinstance(value, str) and _maybe_secret_key(key) and looks_random(value)


def _labels_a_secret(obj: dict[Any, Any]) -> bool:
    """``{"name": "Authorization", "value": ...}``: the value's name is a sibling member."""
    if "value" not in {str(key).lower() for key in obj}:
        return False
    labels = (v for k, v in obj.items() if str(k).lower() in _LABEL_MEMBERS)
    return any(isinstance(label, str) and is_secret_key(label) for label in labels)


# Shorter known values (a PIN, "1234") would mask ordinary words and numbers everywhere.
_KNOWN_SECRET_MIN_LENGTH = 4


@dataclass(frozen=True)
class KnownSecrets:
    """Plaintexts the caller knows are secret (a credential the vault just revealed): each is
    masked wherever it appears, also percent-encoded, even in text no other rule would catch."""

    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, secrets: Iterable[str]) -> KnownSecrets:
        """The secrets long enough to look for (a 1-3 character value would mask words)."""
        forms: set[str] = set()
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= _KNOWN_SECRET_MIN_LENGTH:
                forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        return cls(tuple(sorted(forms, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        """`text` with every known secret replaced by ``[REDACTED]``."""
        for secret in self.values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def redact_url(url: str, known: Iterable[str] = ()) -> str:
    """Mask secret-looking query parameters (Syncro's ?api_key=...), URL passwords and any
    `known` secret."""
    url = KnownSecrets.of(known).mask(url)
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
