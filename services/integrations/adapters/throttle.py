"""Client-side rate budgets: Syncro's 180/min per IP, Autotask's hourly budget per tenant."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.integrations import telemetry
from services.integrations.adapters.errors import PsaRateLimited
from shared.models.integrations import PsaRateWindow

Clock = Callable[[], float]
LOCK_ROW = -1  # window_start of the row every check-and-count of a budget locks first
BUCKETS_PER_WINDOW = 12


class RateWindows:
    """Call counts per vendor and scope in `psa_rate_windows`, shared by every worker and
    replica on the database.

    A window of W seconds is counted in buckets of W/12 seconds (window_start: the bucket's
    start in milliseconds since the epoch). A call is let through only
    when the buckets that touch the last W seconds hold fewer than `limit` calls, so no rolling
    W seconds ever hold more than `limit` (the oldest bucket is counted whole: up to W/12
    seconds of calls are counted longer than needed, never shorter). The lock row orders the
    check and the count of concurrent processes; the time is the database's (MariaDB), so the
    replicas' clocks do not matter.
    """

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock

    def take(self, integration_type: str, scope: str, *, limit: int, window: float) -> float:
        """Count one call and answer 0, or count nothing and answer the seconds to wait."""
        bucket = max(1, round(window * 1000 / BUCKETS_PER_WINDOW))  # milliseconds
        with self.engine.begin() as conn:
            self._upsert(conn, integration_type, scope, LOCK_ROW)
            now = round(self._now(conn) * 1000)
            current = now // bucket * bucket
            first = (now - round(window * 1000)) // bucket * bucket
            counts = self._buckets(conn, integration_type, scope)
            stale = [start for start in counts if start < first]
            if stale:
                conn.execute(
                    delete(PsaRateWindow).where(
                        PsaRateWindow.integration_type == integration_type,
                        PsaRateWindow.scope == scope,
                        PsaRateWindow.window_start.in_(stale),
                    )
                )
            live = sorted((start, n) for start, n in counts.items() if start >= first)
            wait = _wait_for_room(live, limit, now=now, bucket=bucket, window=round(window * 1000))
            if wait <= 0:
                self._upsert(conn, integration_type, scope, current)
            return max(wait / 1000, 0.0)

    def _now(self, conn: Connection) -> float:
        if self.clock is not None:
            return self.clock()
        if conn.dialect.name in ("mysql", "mariadb"):
            return float(conn.execute(text("SELECT UNIX_TIMESTAMP(NOW(6))")).scalar_one())
        return time.time()  # SQLite: the embedded mode runs on one machine

    @staticmethod
    def _buckets(conn: Connection, integration_type: str, scope: str) -> dict[int, int]:
        rows = conn.execute(
            select(PsaRateWindow.window_start, PsaRateWindow.calls).where(
                PsaRateWindow.integration_type == integration_type,
                PsaRateWindow.scope == scope,
                PsaRateWindow.window_start > LOCK_ROW,
            )
        )
        return {int(start): int(calls) for start, calls in rows}

    @staticmethod
    def _upsert(conn: Connection, integration_type: str, scope: str, start: int) -> None:
        """Add one to a bucket (the lock row: one more check), creating it at 1."""
        values = {
            "integration_type": integration_type,
            "scope": scope,
            "window_start": start,
            "calls": 1,
        }
        statement: Any
        if conn.dialect.name in ("mysql", "mariadb"):
            statement = mysql_insert(PsaRateWindow).values(values)
            statement = statement.on_duplicate_key_update(calls=PsaRateWindow.calls + 1)
        else:
            statement = sqlite_insert(PsaRateWindow).values(values)
            statement = statement.on_conflict_do_update(
                index_elements=["integration_type", "scope", "window_start"],
                set_={"calls": PsaRateWindow.calls + 1},
            )
        conn.execute(statement)


def _wait_for_room(
    live: list[tuple[int, int]], limit: int, *, now: int, bucket: int, window: int
) -> float:
    """Milliseconds until the counted buckets hold fewer than `limit` calls (0 or less: now).

    A bucket stops being counted once the window's start has passed its end."""
    total = sum(n for _, n in live)
    if total < limit:
        return 0.0
    for start, n in live:
        total -= n
        if total < limit:
            return start + bucket + window - now
    return window + bucket  # a limit below one: never room


class RollingWindowLimiter:
    """At most `limit` calls per rolling `window` seconds; waits briefly or refuses.

    Given `windows`, the count is the database's, shared by every process with the same
    `scope`; without, it is this process's own (the embedded mode, tests of one adapter)."""

    def __init__(
        self,
        *,
        integration_type: str,
        limit: int,
        window: float,
        max_wait: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        windows: RateWindows | None = None,
        scope: str = "deployment",
    ) -> None:
        self.integration_type = integration_type
        self.limit = limit
        self.window = window
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self.windows = windows
        self.scope = scope
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one slot, sleeping up to `max_wait` for it; raise PsaRateLimited otherwise."""
        if self.windows is not None:
            self._acquire_shared(self.windows)
            return
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

    def _acquire_shared(self, windows: RateWindows) -> None:
        waited = 0.0
        while True:
            wait = windows.take(
                self.integration_type, self.scope, limit=self.limit, window=self.window
            )
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise PsaRateLimited(
                    self.integration_type, wait, "client-side request budget spent"
                )
            telemetry.count_rate_limit_wait(self.integration_type, "client", wait)
            self.sleep(wait)
            waited += wait

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
