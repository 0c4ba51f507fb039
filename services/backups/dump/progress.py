"""Progress of a running backup or restore: bytes, current table, rate and ETA."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from shared.observability import carrying_request_id

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """One snapshot of a pipeline's progress, as the API and the CLI show it."""

    phase: str
    bytes_processed: int = 0
    bytes_stored: int = 0
    current_table: str | None = None
    tables_seen: int = 0
    rate_bytes_per_s: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0


ProgressCallback = Callable[[Progress], None]


class ProgressTracker:
    """Counts bytes, derives rate and ETA, and reports to a callback from a ticker thread.

    The ticker guarantees a report at least every `interval` seconds even while the dump
    stalls (for example behind a metadata lock), so a watcher never sees a frozen row.
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        phase: str,
        expected_bytes: int | None = None,
        interval: float = 1.0,
    ) -> None:
        self._callback = callback
        self._interval = interval
        self._expected = expected_bytes
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._window: deque[tuple[float, int]] = deque(maxlen=16)
        self._state = Progress(phase=phase)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ProgressTracker:
        """Begin periodic reporting."""
        if self._callback is not None:
            # Its warnings belong to the backup's request, like the job's own lines.
            ticker = carrying_request_id(self._tick)
            self._thread = threading.Thread(target=ticker, name="backup-progress", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> Progress:
        """Stop the ticker, send one final report and return the last snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        final = self.snapshot()
        self._emit(final)
        return final

    def add(self, *, raw: int, stored: int, current_table: str | None, tables: int) -> None:
        """Record bytes read from the source and bytes written to storage."""
        with self._lock:
            self._state = replace(
                self._state,
                bytes_processed=self._state.bytes_processed + raw,
                bytes_stored=self._state.bytes_stored + stored,
                current_table=current_table,
                tables_seen=tables,
            )

    def snapshot(self) -> Progress:
        """The current progress with rate and ETA computed now."""
        now = time.monotonic()
        with self._lock:
            state = self._state
            self._window.append((now, state.bytes_processed))
            first_t, first_b = self._window[0]
        elapsed = now - self._started
        rate = (state.bytes_processed - first_b) / (now - first_t) if now > first_t else 0.0
        if rate <= 0 and elapsed > 0:
            rate = state.bytes_processed / elapsed
        return replace(
            state,
            rate_bytes_per_s=round(rate, 1),
            eta_seconds=self._eta(state.bytes_processed, elapsed),
            elapsed_seconds=round(elapsed, 3),
        )

    def _eta(self, done: int, elapsed: float) -> float | None:
        # The average over the whole run is steadier than the window rate for an estimate.
        if not self._expected or done <= 0 or elapsed <= 0:
            return None
        expected = max(self._expected, int(done * 1.02))
        return round((expected - done) / (done / elapsed), 1)

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self._emit(self.snapshot())

    def _emit(self, progress: Progress) -> None:
        if self._callback is None:
            return
        try:
            self._callback(progress)
        except Exception:  # a failed progress write must never fail the backup
            _log.warning("progress report failed", exc_info=True)
