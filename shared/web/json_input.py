"""JSON request bodies parsed once, refusing what Python accepts but a database or a peer cannot."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import DomainError, ValidationFailed

# Every integer column (and every peer's JSON decoder we know of) stops at a signed 64-bit value.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A lone UTF-16 surrogate: json.loads makes one from "\ud800"; utf8mb4 and UTF-8 peers cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Longer than "-9223372036854775808" is out of range whatever the digits: never build that int.
_INT64_DIGITS = 20
_PATH_SEGMENT_CHARS = 64
BODY = "_body"


class MalformedJson(DomainError):
    # The type malformed bodies always had (webargs reported them as a plain 400).
    status, slug, title = 400, "bad-request", "Malformed JSON"


@dataclass(frozen=True)
class InputLimits:
    """The service-wide shape limits of a request (settings JSON_MAX_* and QUERY_MAX_*)."""

    max_depth: int = 32
    max_members: int = 1000
    max_query_params: int = 50
    max_query_value_length: int = 4096

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> InputLimits:
        """The limits of a service's settings; a setting left out keeps its default."""
        names = {
            "max_depth": "JSON_MAX_DEPTH",
            "max_members": "JSON_MAX_MEMBERS",
            "max_query_params": "QUERY_MAX_PARAMS",
            "max_query_value_length": "QUERY_MAX_VALUE_LENGTH",
        }
        given = {field: int(settings[key]) for field, key in names.items() if settings.get(key)}
        return cls(**given)


class _OutOfRange:
    """What parse_int returns for a literal too long to be a 64-bit integer."""


OUT_OF_RANGE = _OutOfRange()


def _bounded_int(literal: str) -> int | _OutOfRange:
    return OUT_OF_RANGE if len(literal.lstrip("-")) >= _INT64_DIGITS else int(literal)


def parse_json_body(data: bytes | str, limits: InputLimits) -> Any:
    """The body's JSON document, or a 400/422 naming the field path and what is wrong with it."""
    try:
        document = json.loads(data, parse_int=_bounded_int)
    except RecursionError:
        # The decoder recurses per level: a body of nested brackets ends here, not in a 500.
        raise _refused(BODY, f"nesting deeper than {limits.max_depth} levels") from None
    except ValueError:
        raise MalformedJson("the request body is not valid JSON") from None
    check_document(document, limits)
    return document


def check_document(document: Any, limits: InputLimits) -> None:
    """Walk the parsed document once (no recursion) and refuse the first unstorable value."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        reason = _scalar_problem(value) or _container_problem(value, len(path) + 1, limits)
        if reason:
            raise _refused(dotted(path), reason)
        pending.extend(_children(value, path))


def _children(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if _SURROGATE.search(key):
                raise _refused(dotted((*path, key)), "the name holds a lone UTF-16 surrogate")
            yield inner, (*path, key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield inner, (*path, index)


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return "holds a lone UTF-16 surrogate" if _SURROGATE.search(value) else None
    if isinstance(value, float) and not math.isfinite(value):
        # NaN and Infinity literals, and numbers such as 1e400 that only fit as infinity.
        return "is not a finite number (NaN and Infinity are not JSON)"
    if value is OUT_OF_RANGE or (isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX):
        return "is outside the signed 64-bit integer range"
    return None


def _container_problem(value: Any, depth: int, limits: InputLimits) -> str | None:
    if not isinstance(value, dict | list):
        return None
    if depth > limits.max_depth:
        return f"nesting deeper than {limits.max_depth} levels"
    if len(value) > limits.max_members:
        noun = "keys" if isinstance(value, dict) else "items"
        return f"more than {limits.max_members} {noun}"
    return None


def _refused(path: str, reason: str) -> ValidationFailed:
    return ValidationFailed({path: [reason]})


def dotted(path: tuple[str | int, ...]) -> str:
    """a.b.0.c, as flatten_field_errors names fields; a name is shown escaped and shortened."""
    return ".".join(printable(str(segment)) for segment in path) or BODY


def printable(name: str) -> str:
    """A caller's name made safe to echo: surrogates escaped, at most 64 characters."""
    safe = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= _PATH_SEGMENT_CHARS else safe[:_PATH_SEGMENT_CHARS] + "..."
