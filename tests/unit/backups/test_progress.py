"""Progress parsing and reporting of the backup pipeline."""

from __future__ import annotations

import threading

from services.backups.dump.progress import Progress, ProgressTracker


def test_tracker_reports_while_the_source_is_silent() -> None:
    seen: list[Progress] = []
    three = threading.Event()

    def record(progress: Progress) -> None:
        seen.append(progress)
        if len(seen) >= 3:
            three.set()

    tracker = ProgressTracker(record, phase="dumping", expected_bytes=1000, interval=0.01).start()
    tracker.add(raw=100, stored=10, current_table="clients", tables=1)
    assert three.wait(5)
    final = tracker.stop()
    assert final.bytes_processed == 100
    assert final.current_table == "clients"
    assert final.eta_seconds is not None and final.eta_seconds > 0


def test_a_failing_progress_callback_does_not_stop_the_work() -> None:
    def broken(_progress: Progress) -> None:
        raise RuntimeError("database went away")

    tracker = ProgressTracker(broken, phase="dumping", interval=0.01).start()
    tracker.add(raw=5, stored=5, current_table=None, tables=0)
    assert tracker.stop().bytes_processed == 5


def test_eta_is_unknown_without_an_estimate() -> None:
    tracker = ProgressTracker(None, phase="dumping")
    tracker.add(raw=5, stored=5, current_table=None, tables=0)
    assert tracker.snapshot().eta_seconds is None
