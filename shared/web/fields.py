"""Bounded marshmallow fields: each kind of value declares its range once, from its column."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma

from shared.models.base import EARLIEST, LATEST

# Every instant a client may send lies in [EARLIEST, LATEST) (shared.models.base). Converting
# year 1 at +14:00 or year 9999 at -14:00 to UTC overflows, so the window is checked first;
# inside it, the durations the domain adds (staleness, retention) cannot overflow either.
FIRST_DAY = EARLIEST.date()
LAST_DAY = (LATEST - timedelta(days=1)).date()

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A TEXT column holds 65,535 bytes and utf8mb4 spends up to 4 on a character.
TEXT_CHARS = 16_383
# Lists the API stores (JSON columns) or acts on in one request.
LIST_ITEMS = 100
# Estimated, actual and billable minutes: a year and a day is more than any session lasts.
MAX_MINUTES = 527_040

ValidatorArg = Callable[[Any], Any] | Iterable[Callable[[Any], Any]] | None


def _validators(own: Sequence[Callable[[Any], Any]], given: ValidatorArg) -> list[Any]:
    """The field's own bounds first, then any validators the schema adds."""
    if given is None:
        return list(own)
    if callable(given):
        return [*own, given]
    return [*own, *given]


# What NotBlank accepts, as the OpenAPI document says it: at least one character that is not
# white space (Python's str.strip and JSON Schema's \s agree on the ASCII and Unicode spaces).
NOT_BLANK_PATTERN = r"\S"


def _has_pattern(given: ValidatorArg) -> bool:
    validators = [given] if callable(given) else list(given or ())
    return any(isinstance(validator, ma.validate.Regexp) for validator in validators)


# White space as the documented pattern `\S` means it (ECMA-262, which JSON Schema regexes
# follow): Python's str.strip() also trims U+001C-U+001F and U+0085, so a value the document
# accepts was refused as blank.
ECMA_WHITE_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class NotBlank(ma.validate.Validator):
    """Refuses a string that is empty once its white space is trimmed."""

    error = "Must not be blank."

    def __call__(self, value: str) -> str:
        if not value.strip(ECMA_WHITE_SPACE):
            raise ma.ValidationError(self.error)
        return value


class UtcDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 instant with an offset, inside the window, loaded as UTC.

    A naive value is refused (as everywhere in this API): the server cannot guess its zone.
    """

    default_error_messages = {
        "invalid_awareness": "Not a valid aware datetime: give an offset such as Z or +02:00.",
        "out_of_window": "Must be from 1970-01-01T00:00:00Z up to (not at) 2200-01-01T00:00:00Z.",
    }

    def __init__(self, *, validate: ValidatorArg = None, **kwargs: Any) -> None:
        # The Range never fails (_deserialize checks first); it puts the window in OpenAPI.
        window = ma.validate.Range(min=EARLIEST, max=LATEST, max_inclusive=False)
        kwargs["metadata"] = {"x-exclusiveMaximum": True, **kwargs.get("metadata", {})}
        super().__init__(validate=_validators([window], validate), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        # Aware comparisons work on the offset difference, so they cannot overflow;
        # astimezone() could, which is why it only runs on values inside the window.
        if not EARLIEST <= instant < LATEST:
            raise self.make_error("out_of_window")
        return instant.astimezone(UTC)


class UtcDate(ma.fields.Date):
    """An ISO 8601 calendar day (a UTC day) inside the window."""

    def __init__(self, *, validate: ValidatorArg = None, **kwargs: Any) -> None:
        window = ma.validate.Range(min=FIRST_DAY, max=LAST_DAY)
        super().__init__(validate=_validators([window], validate), **kwargs)


class Int32(ma.fields.Integer):
    """An integer kept in an INT column: strict (1.5, "3" and true are refused) and in range.

    Query strings only carry text, so query arguments pass strict=False; int() still refuses
    "1.5" there.
    """

    LOWEST, HIGHEST = INT32_MIN, INT32_MAX

    def __init__(
        self,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        strict: bool = True,
        validate: ValidatorArg = None,
        **kwargs: Any,
    ) -> None:
        low = self.LOWEST if minimum is None else minimum
        high = self.HIGHEST if maximum is None else maximum
        if not self.LOWEST <= low <= high <= self.HIGHEST:
            raise ValueError(f"{low}..{high} does not fit {type(self).__name__}")
        bounds = ma.validate.Range(min=low, max=high)
        super().__init__(strict=strict, validate=_validators([bounds], validate), **kwargs)

    def _validated(self, value: Any) -> int:
        # bool is an int subclass: JSON true would otherwise be stored as 1.
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Int64(Int32):
    """An integer kept in a BIGINT column (exit codes, byte counts)."""

    LOWEST, HIGHEST = INT64_MIN, INT64_MAX


class Count(Int32):
    """A non-negative count or size kept in an INT column."""

    LOWEST = 0


class Minutes(Int32):
    """A duration in whole minutes, 0 to MAX_MINUTES."""

    LOWEST, HIGHEST = 0, MAX_MINUTES


class Text(ma.fields.String):
    """A string no longer than its column: `max` for VARCHAR(max), TEXT_CHARS for TEXT.

    A required value may not be blank; `blank=False` says the same of an optional one
    (a PATCH that renames must give a name).
    """

    def __init__(
        self,
        *,
        max: int = TEXT_CHARS,  # the word Length uses
        min: int = 0,
        blank: bool | None = None,
        validate: ValidatorArg = None,
        **kwargs: Any,
    ) -> None:
        own: list[Callable[[Any], Any]] = [ma.validate.Length(min=min, max=max)]
        if not (blank if blank is not None else not kwargs.get("required", False)):
            own.append(NotBlank())
            # The document says so too, or a client (and a fuzzer) reads "  " as valid; a
            # Regexp among the validators documents its own, stricter pattern instead.
            if not _has_pattern(validate):
                kwargs["metadata"] = {"pattern": NOT_BLANK_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(validate=_validators(own, validate), **kwargs)


class Name(Text):
    """A title, name or label: never blank, 1 to `max` characters."""

    def __init__(self, *, max: int = 255, **kwargs: Any) -> None:
        super().__init__(max=max, min=1, blank=False, **kwargs)


class Flag(ma.fields.Boolean):
    """A boolean: in a JSON body only true or false (marshmallow also took 0, 1, "yes", "on").

    Query strings only carry text, so query arguments pass strict=False ("true", "false", ...).
    """

    def __init__(self, *, strict: bool = True, **kwargs: Any) -> None:
        self.strict = strict
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if self.strict and not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return bool(super()._deserialize(value, attr, data, **kwargs))


class Id(ma.fields.String):
    """A row id: the 36-character text form of a UUID."""

    def __init__(self, *, validate: ValidatorArg = None, **kwargs: Any) -> None:
        super().__init__(validate=_validators([ma.validate.Length(equal=36)], validate), **kwargs)


class Url(ma.fields.Url):
    """An http(s) URL no longer than its column."""

    def __init__(
        self,
        *,
        max: int,
        validate: ValidatorArg = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("schemes", {"http", "https"})
        own = [ma.validate.Length(max=max)]
        super().__init__(validate=_validators(own, validate), **kwargs)


class ListOf(ma.fields.List[Any]):
    """A list of at most `max` items (each bounded by its own field)."""

    def __init__(
        self,
        inner: ma.fields.Field[Any],
        *,
        max: int = LIST_ITEMS,
        min: int = 0,
        validate: ValidatorArg = None,
        **kwargs: Any,
    ) -> None:
        own = [ma.validate.Length(min=min, max=max)]
        super().__init__(inner, validate=_validators(own, validate), **kwargs)
