"""What may stop a running backup job from outside its thread, and the children it stops."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator

SHUTDOWN_REASON = "interrupted by shutdown"
LEASE_LOST_REASON = "lease lost: the backup was declared abandoned while it ran"

_current: contextvars.ContextVar[JobControl | None] = contextvars.ContextVar(
    "backup_job_control", default=None
)


class JobInterrupted(Exception):
    """The job was told to stop (shutdown, or its lease was taken over); str() says why."""


class JobControl:
    """What can stop one job from outside its thread; stopping kills the programs it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stoppers: dict[int, Callable[[], None]] = {}
        self.reason: str | None = None

    def stop(self, reason: str) -> None:
        """Record why the job must stop (the first reason wins) and stop what it runs now."""
        with self._lock:
            self.reason = self.reason or reason
            stoppers = list(self._stoppers.values())
        for stop_child in stoppers:
            with contextlib.suppress(OSError):
                stop_child()

    def check(self) -> None:
        """Raise JobInterrupted once the job was told to stop (called between phases)."""
        if self.reason is not None:
            raise JobInterrupted(self.reason)

    @contextlib.contextmanager
    def stopping(self, stop_child: Callable[[], None]) -> Iterator[None]:
        """While the block runs, a stop() calls `stop_child` (at once if already stopped)."""
        key = id(stop_child)
        with self._lock:
            self._stoppers[key] = stop_child
            stopped = self.reason is not None
        if stopped:
            stop_child()
        try:
            yield
        finally:
            with self._lock:
                self._stoppers.pop(key, None)


@contextlib.contextmanager
def running_under(control: JobControl) -> Iterator[None]:
    """Make `control` the job control of this thread's pipeline (children register with it)."""
    token = _current.set(control)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def stopped_with_job(stop_child: Callable[[], None]) -> Iterator[None]:
    """Let the current job's stop() call `stop_child`; a no-op outside a job (restores, CLI)."""
    control = _current.get()
    if control is None:
        yield
        return
    with control.stopping(stop_child):
        yield
