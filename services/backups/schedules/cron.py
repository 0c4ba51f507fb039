"""Cron expressions in a time zone: validation, the next run, and the interval between runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, croniter


def check_cron(expression: str) -> str:
    """A five-field cron expression that fires, or ValueError.

    Every field of `0 2 30 2 *` is valid, but February has no 30th: croniter finds no next
    date, and next_run() on create, update or run-due would fail. Two fire times are asked
    for because staleness measures the interval between two.
    """
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError("not a valid five-field cron expression")
    try:
        interval(expression, "UTC", datetime.now(UTC))
    except CroniterBadDateError:
        raise ValueError("this cron expression never fires (no such date)") from None
    return expression


# The IANA names this machine's time zone database knows: the schemas offer exactly these, so
# the OpenAPI document lists them and a name it does not list is refused before any lookup.
TIMEZONES = sorted(available_timezones())


def check_timezone(name: str) -> str:
    """An IANA time zone name, or ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not a known IANA time zone") from exc
    return name


def next_run(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, evaluated in `timezone`, returned in UTC."""
    local = after.astimezone(ZoneInfo(timezone))
    fire: datetime = croniter(expression, local).get_next(datetime)
    return fire.astimezone(UTC)


def interval(expression: str, timezone: str, around: datetime) -> timedelta:
    """The gap between two consecutive runs near `around` (what staleness is measured in)."""
    first = next_run(expression, timezone, around)
    return next_run(expression, timezone, first) - first
