"""The dump-size estimate counts --hex-blob's doubling of binary bytes, so the ETA holds."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.backups.adapters.dump_estimate import TableSize, dump_size_estimate
from services.backups.dump.progress import ProgressTracker

MB = 1 << 20


def test_a_table_without_binary_columns_is_its_data_length() -> None:
    assert dump_size_estimate([TableSize("notes", 10 * MB, 1000)]) == 10 * MB


def test_binary_bytes_count_twice() -> None:
    # 10,000 rows of 1 KiB blobs in a 12 MiB table: the hex adds one more 1 KiB per row.
    table = TableSize("files", 12 * MB, 10_000, binary_bytes_per_row=1024)
    assert dump_size_estimate([table]) == 12 * MB + 10_000 * 1024


def test_blobs_stored_off_page_are_counted_even_when_data_length_misses_them() -> None:
    # InnoDB keeps big blobs in overflow pages; a stale DATA_LENGTH may be far below them.
    table = TableSize("files", 16 * 1024, 1_000, binary_bytes_per_row=50_000)
    assert dump_size_estimate([table]) == 2 * 1_000 * 50_000


@given(
    st.lists(
        st.builds(
            TableSize,
            name=st.text(min_size=1, max_size=8),
            data_length=st.integers(0, 1 << 40),
            rows=st.integers(0, 1 << 30),
            binary_bytes_per_row=st.floats(0, 1 << 20),
        ),
        max_size=20,
    )
)
def test_the_estimate_is_never_below_the_data_nor_below_twice_the_binary_bytes(
    tables: list[TableSize],
) -> None:
    estimate = dump_size_estimate(tables)
    assert estimate >= sum(t.data_length for t in tables)
    assert estimate >= sum(2 * int(t.rows * t.binary_bytes_per_row) for t in tables)


def _eta_after_half(expected: int, real_total: int) -> float:
    """Feed half of a `real_total`-byte dump at a steady pace; the ETA as a share of the
    time taken so far (half way through, the right answer is 1.0)."""
    tracker = ProgressTracker(None, phase="dumping", expected_bytes=expected)
    step, steps = real_total // 20, 10
    for _ in range(steps):
        tracker.add(raw=step, stored=step // 4, current_table="files", tables=1)
        time.sleep(0.02)
    now = tracker.snapshot()
    assert now.eta_seconds is not None
    return now.eta_seconds / now.elapsed_seconds


@pytest.mark.parametrize("blob_share", [0.5, 0.9])
def test_the_eta_of_a_blob_heavy_dump_is_right_within_a_fifth_at_half_way(
    blob_share: float,
) -> None:
    data_length, rows = 100 * MB, 100_000
    per_row = blob_share * data_length / rows
    real_dump = int(data_length + rows * per_row)  # what --hex-blob actually writes
    estimate = dump_size_estimate([TableSize("files", data_length, rows, per_row)])
    assert _eta_after_half(estimate, real_dump) == pytest.approx(1.0, rel=0.2)
    # DATA_LENGTH alone says the dump is nearly done when it is half way.
    assert _eta_after_half(data_length, real_dump) < 0.8
