"""A bounded, per-process memo for briefing work that repeats briefing after briefing."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, each made once; emptied all at once when full.

    Clearing beats LRU bookkeeping here: it runs for every candidate of every briefing, and a
    key carries the version of what it stands for, so an old entry is never wrong, only unused.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: dict[K, V] = {}

    def get(self, key: K, make: Callable[[], V]) -> V:
        found = self._values.get(key)
        if found is None:
            if len(self._values) >= self._size:
                self._values.clear()
            found = self._values[key] = make()
        return found
