"""Progress parsing and reporting of the backup pipeline."""

from __future__ import annotations

import threading

import pytest

from services.backups.progress import DumpMarkerScanner, Progress, ProgressTracker

DUMP = (
    b"-- MariaDB dump\n--\n-- Table structure for table `clients`\n--\nCREATE TABLE ...;\n"
    b"--\n-- Dumping data for table `clients`\n--\nINSERT INTO `clients` VALUES (1);\n"
    b"--\n-- Table structure for table `work_items`\n--\nCREATE TABLE ...;\n"
    b"--\n-- Dumping data for table `work_items`\n--\nINSERT INTO `work_items` VALUES (2);\n"
    b"-- Dump completed on 2026-01-01\n"
)


@pytest.mark.parametrize("split", range(1, len(DUMP)))
def test_scanner_finds_every_table_whatever_the_chunk_boundary(split: int) -> None:
    scanner = DumpMarkerScanner()
    scanner.feed(DUMP[:split])
    scanner.feed(DUMP[split:])
    assert scanner.current_table == "work_items"
    assert scanner.tables_with_structure == 2


def test_scanner_handles_one_byte_chunks() -> None:
    scanner = DumpMarkerScanner()
    for i in range(len(DUMP)):
        scanner.feed(DUMP[i : i + 1])
    assert (scanner.current_table, scanner.tables_with_structure) == ("work_items", 2)


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
