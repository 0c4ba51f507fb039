"""Versioned failure fingerprint: command shape + exit code + normalised error signature.

A new algorithm gets a new version number; patterns keep the version they were made with and
ingest looks a failure up under every known version, so improving the algorithm never regroups
history (Sentry's grouping-config rule).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from services.insights.commands.shape import (
    CommandShape,
    same_reading,
    shape_command,
    simple_shapes,
)
from services.insights.commands.tokens import executable_name

MAX_SIGNATURE = 160

_ERROR_WORDS = re.compile(
    r"error|fail|denied|not found|cannot|can't|could not|couldn't|unable|refused|timed out|"
    r"timeout|invalid|not recognized|no such|unknown|fatal|exception|not permitted|"
    r"is not|does not|unreachable|unavailable|conflict|locked|missing|forbidden|"
    r"not supported|too many|expired|mismatch|already|e:",
    re.I,
)
_NOISE_LINE = re.compile(
    r"^(?:at line:\d|at [a-z]:\\|at <|\+ |~+$|\+$|\+ ~|usage:|try '|see '|hint:|warning:|"
    r"reading package lists|building dependency tree|reading state information|"
    r"-{3,}|={3,}|$)",
    re.I,
)
_FQEI = re.compile(r"FullyQualifiedErrorId\s*:\s*(\S+)", re.I)
_PROGRAM_PREFIX = re.compile(r"^(?:[\w.-]+:\s+)?line \d+:\s+", re.I)
# Order matters: composite shapes (timestamps, URLs, paths) before their parts (numbers).
_PLACEHOLDERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\[REDACTED\]"), "<secret>"),
    (re.compile(r"^[\w.\\-]+ is not in the sudoers file"), "<user> is not in the sudoers file"),
    (
        re.compile(
            r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:z|[+-]\d{2}:?\d{2})?", re.I
        ),
        "<ts>",
    ),
    (re.compile(r"\b\d{4}/\d{1,2}/\d{1,2}\b"), "<ts>"),
    (
        re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:am|pm)?)?", re.I),
        "<ts>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<ts>"),
    (
        re.compile(
            r"\b(?:mon|tue|wed|thu|fri|sat|sun)\w* +(?:jan|feb|mar|apr|may|jun|jul|aug|sep"
            r"|oct|nov|dec)\w* +\d{1,2}\b",
            re.I,
        ),
        "<ts>",
    ),
    (
        re.compile(r"\{?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b\}?", re.I),
        "<guid>",
    ),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b", re.I), "<ip>"),
    (re.compile(r"(?:\b[a-z]:)?\\\\?(?:[^\\\s'\"]+\\)+[^\\\s'\":]*", re.I), "<path>"),
    (re.compile(r"\b[a-z]:\\", re.I), "<path>"),
    (re.compile(r"(?<![\w<])(?:~|\.{1,2})?/(?:[\w.@-]+/?)+"), "<path>"),
    (re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”|`[^`']*'"), "<str>"),  # noqa: RUF001
    (re.compile(r"\b0x(?![8c][0-9a-f]{7}\b)[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (
        re.compile(
            r"\b(?:[\w-]+\.)+(?:local|lan|corp|com|net|org|io|internal|intra|"
            r"priv|home|arpa)\b",
            re.I,
        ),
        "<host>",
    ),
    (re.compile(r"\b\d+(?:\.\d+)+\b"), "<ver>"),
    # instance names such as docker's project-service-1
    (re.compile(r"\b[a-z][\w.]*(?:-[\w.]+)*-\d+\b", re.I), "<name>"),
]
# Numbers that name the error class stay; other numbers are values.
_KEPT_NUMBER = re.compile(
    r"(?:error|errno|code|failed|status|exit|hresult|result|event id|system error)[\s:=#(]*"
    r"(-?\d+)(?!\s*(?:times|attempts|retries|tries|seconds|secs|ms|minutes|bytes|files)\b)",
    re.I,
)
_COMMAND_MISSING = re.compile(
    r"command not found|is not recognized as|commandnotfoundexception", re.I
)
_NUMBER = re.compile(r"(?<![<\w])\d+(?![\w>])")


@dataclass(frozen=True)
class FailureSignature:
    """Everything that identifies a failure class, and its hash for a scope."""

    version: int
    command_key: str
    command_display: str
    exit_code: int | None
    error_signature: str

    def digest(self, scope: str | None) -> str:
        """SHA-256 hex of the signature within a scope (a client id, or None for global)."""
        parts = [
            f"v{self.version}",
            scope or "-",
            self.command_key,
            str(self.exit_code),
            self.error_signature,
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def fingerprint_v1(
    command: str, error_output: str | None, exit_code: int | None
) -> FailureSignature:
    """Version 1: command shape (wrappers unwrapped) + exit code + first meaningful error line."""
    shape = _shape(command, 1)
    signature = error_signature(error_output or "", shape.values)
    # When the program itself is missing, its arguments cannot matter.
    key = shape.executable_key if _COMMAND_MISSING.search(signature) else shape.key
    return FailureSignature(1, key, shape.display, exit_code, signature)


def fingerprint_v2(
    command: str, error_output: str | None, exit_code: int | None
) -> FailureSignature:
    """Version 2: bundled short flags read as a set (`curl -fsS` == `curl -f -s -S`), and a
    missing program named by the error is the key on its own (`... | jq` -> `jq`)."""
    return _signed_on_reading(2, command, error_output, exit_code)


def fingerprint_v3(
    command: str, error_output: str | None, exit_code: int | None
) -> FailureSignature:
    """Version 3: version 2 on the third reading: sudo's and ssh's options read as getopt does
    (`sudo -iu root x` runs `x`) and ssh's left out of the key (`ssh -p 22 h x` == `ssh h x`)."""
    return _signed_on_reading(3, command, error_output, exit_code)


def _signed_on_reading(
    reading: int, command: str, error_output: str | None, exit_code: int | None
) -> FailureSignature:
    """Versions 2 on: the version is the reading of the command line it signs with."""
    shape = _shape(command, reading)
    signature = error_signature(error_output or "", shape.values)
    key = shape.key
    if _COMMAND_MISSING.search(signature):
        key = _missing_program(command, error_output or "", reading) or shape.executable_key
    return FailureSignature(reading, key, shape.display, exit_code, signature)


@lru_cache(maxsize=8)
def _shaped(command: str, reading: int) -> CommandShape:
    """The command's shape under a reading; ingest signs a failure under every version, and
    versions whose readings read this command alike share one shaping (a few entries: the
    failure being signed, not a cache of traffic)."""
    return shape_command(command, reading)


def _shape(command: str, reading: int) -> CommandShape:
    return _shaped(command, same_reading(command, reading))


_MISSING_NAMES = re.compile(
    r"([\w.+-]+): (?:command )?not found|'([^'\s]+)' is not recognized|"
    r"The term '([^'\s]+)' is not recognized",
    re.I,
)


def _missing_program(command: str, error_output: str, reading: int) -> str | None:
    """The one program of the command line the error says is missing, if it names one."""
    named = {
        executable_name(name)
        for match in _MISSING_NAMES.finditer(error_output)
        for name in match.groups()
        if name
    }
    programs = {shape.executable_key for shape in simple_shapes(command, reading)}
    found = named & programs
    return found.pop() if len(found) == 1 else None


def names_missing_program(signature: str) -> bool:
    """The error says the program itself is missing (`command not found`, `not recognized`)."""
    return bool(_COMMAND_MISSING.search(signature))


FINGERPRINTERS: dict[int, Callable[[str, str | None, int | None], FailureSignature]] = {
    1: fingerprint_v1,
    2: fingerprint_v2,
    3: fingerprint_v3,
}


def current_version() -> int:
    """The newest registered algorithm: what new patterns are made with."""
    return max(FINGERPRINTERS)


def fingerprint_failure(
    command: str, error_output: str | None, exit_code: int | None, version: int | None = None
) -> FailureSignature:
    """The failure's signature under the given algorithm version (current by default)."""
    return FINGERPRINTERS[version or current_version()](command, error_output, exit_code)


def all_signatures(
    command: str, error_output: str | None, exit_code: int | None
) -> list[FailureSignature]:
    """The signature under every known version, current first (ingest looks up all of them)."""
    versions = sorted(FINGERPRINTERS, reverse=True)
    return [FINGERPRINTERS[v](command, error_output, exit_code) for v in versions]


def error_signature(error_output: str, command_values: list[str]) -> str:
    """Normalise the error text to the line that names the error, with values as placeholders."""
    return _error_signature(error_output, tuple(command_values))


# Ingest signs one failure under every version, and the readings mostly carry the same
# values: the error text is then normalised once, not once per version.
@lru_cache(maxsize=32)
def _error_signature(error_output: str, command_values: tuple[str, ...]) -> str:
    fqei = _FQEI.search(error_output)
    if fqei:
        return "fqid:" + fqei.group(1).lower()
    line = _signature_line(error_output)
    line = _PROGRAM_PREFIX.sub("", line)
    line = _mask_command_values(line, list(command_values))
    return normalise_message(line)[:MAX_SIGNATURE]


def _signature_line(error_output: str) -> str:
    """The first line that looks like an error (a traceback's last line), skipping noise."""
    lines = [ln.strip() for ln in error_output.splitlines()]
    lines = [ln for ln in lines if not _NOISE_LINE.match(ln)]
    if not lines:
        return ""
    if "Traceback (most recent call last)" in error_output:
        return lines[-1]
    return next((ln for ln in lines if _ERROR_WORDS.search(ln)), lines[0])


def _mask_command_values(line: str, values: list[str]) -> str:
    """Values the command carried (a service name, a package, a host) reappear in its error."""
    parts = {p for v in values for p in re.split(r"[@:/\\=,]", v)}
    for value in sorted({v for v in {*values, *parts} if len(v) >= 3}, key=len, reverse=True):
        line = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<v>", line, flags=re.I)
    return line


def normalise_message(text: str) -> str:
    """Lower-case, placeholders for dynamic values, collapsed whitespace."""
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    kept = {m.start(1) for m in _KEPT_NUMBER.finditer(text)}
    text = _NUMBER.sub(lambda m: m.group(0) if m.start() in kept else "<n>", text)
    return re.sub(r"\s+", " ", text).strip().lower()
