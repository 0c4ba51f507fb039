"""Waiting for something that happens in another thread or process, without hanging."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, within: float = 60.0, every: float = 0.2) -> T:
    """Poll until probe returns something truthy; fail (not hang) after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {within} s (last: {last!r})")
