"""A hard bound on a hook's wait: a socket timeout bounds each read, not a trickling answer."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def hard_deadline(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block once `seconds` of wall time have passed."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not on_main_thread:
        yield  # Windows, or not the main thread: the per-read socket timeout is the bound
        return

    def expire(_signal: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"no answer within {seconds * 1000:.0f} ms")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
