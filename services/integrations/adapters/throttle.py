"""Client-side rate budgets: Syncro's 180/min per IP, Autotask's hourly budget per tenant."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.integrations import telemetry
from services.integrations.adapters.errors import PsaRateLimited

Clock = Callable[[], float]


class RollingWindowLimiter:
    """At most `limit` calls per rolling `window` seconds per process; waits briefly or refuses."""

    def __init__(
        self,
        *,
        integration_type: str,
        limit: int,
        window: float,
        max_wait: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.integration_type = integration_type
        self.limit = limit
        self.window = window
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one slot, sleeping up to `max_wait` for it; raise PsaRateLimited otherwise."""
        with self._lock:
            wait = self._wait_needed()
            if wait > self.max_wait:
                raise PsaRateLimited(
                    self.integration_type, wait, "client-side request budget spent"
                )
            if wait > 0:
                telemetry.count_rate_limit_wait(self.integration_type, "client", wait)
                self.sleep(wait)
                self._wait_needed()
            self._calls.append(self.clock())

    def _wait_needed(self) -> float:
        now = self.clock()
        while self._calls and now - self._calls[0] >= self.window:
            self._calls.popleft()
        if len(self._calls) < self.limit:
            return 0.0
        return self._calls[0] + self.window - now


@dataclass
class ThresholdReading:
    """The last `GET /ThresholdInformation` answer plus the calls this process made since."""

    threshold: int
    used: int
    read_at: float
    calls_since: int = 0


class AutotaskBudget:
    """Keeps our use of a tenant's 10,000/hour budget under a ceiling, leaving room for others.

    The budget is shared by every integration on the tenant and at 100% Autotask blocks all of them,
    so we re-read the real count regularly and refuse calls once the estimate passes the ceiling.
    """

    def __init__(
        self,
        *,
        ceiling: float = 0.8,
        refresh_after_calls: int = 50,
        refresh_after_seconds: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ceiling = ceiling
        self.refresh_after_calls = refresh_after_calls
        self.refresh_after_seconds = refresh_after_seconds
        self.clock = clock
        self._readings: dict[str, ThresholdReading] = {}
        self._lock = threading.Lock()

    def needs_reading(self, tenant: str) -> bool:
        """True when the tenant's usage should be re-read before the next call."""
        with self._lock:
            reading = self._readings.get(tenant)
            if reading is None:
                return True
            stale = self.clock() - reading.read_at >= self.refresh_after_seconds
            return stale or reading.calls_since >= self.refresh_after_calls

    def record_reading(self, tenant: str, *, threshold: int, used: int) -> None:
        """Store a fresh ThresholdInformation answer."""
        with self._lock:
            self._readings[tenant] = ThresholdReading(threshold, used, self.clock())

    def spend(self, tenant: str) -> None:
        """Count one call, or raise PsaRateLimited when the estimated use is at the ceiling."""
        with self._lock:
            reading = self._readings.get(tenant)
            if reading is None:
                return
            known = reading.threshold > 0  # 0: the last reading failed; Autotask's 429s still apply
            if known and reading.used + reading.calls_since >= reading.threshold * self.ceiling:
                raise PsaRateLimited(
                    "autotask", 60.0, "Autotask hourly API budget nearly spent for this tenant"
                )
            reading.calls_since += 1

    def usage(self, tenant: str) -> float | None:
        """Estimated fraction of the hourly budget in use (None before the first reading)."""
        with self._lock:
            reading = self._readings.get(tenant)
            if reading is None or reading.threshold <= 0:
                return None
            return (reading.used + reading.calls_since) / reading.threshold


class ConcurrencyGate:
    """At most `limit` requests in flight per key in this process (Autotask: 3 per endpoint)."""

    def __init__(self, *, integration_type: str, limit: int = 3, wait: float = 10.0) -> None:
        self.integration_type = integration_type
        self.limit = limit
        self.wait = wait
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of the key's slots for the duration of a request."""
        with self._lock:
            semaphore = self._slots.setdefault(key, threading.BoundedSemaphore(self.limit))
        if not semaphore.acquire(timeout=self.wait):
            raise PsaRateLimited(self.integration_type, 1.0, "too many concurrent requests")
        try:
            yield
        finally:
            semaphore.release()
