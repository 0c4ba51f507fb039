"""The CLI's progress bar: live on a terminal (rich); off one, only a final line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

_log = logging.getLogger(__name__)
BAR_WIDTH = 30
POLL_SECONDS = 0.5

Snapshot = Callable[[], dict[str, Any]]


def progress_line(row: dict[str, Any]) -> str:
    """`[#####-----]  45%  123.4 MB  95.1 MB/s  ETA 12 s  dumping clients` for one snapshot."""
    done = row.get("bytes_processed") or 0
    rate = row.get("rate_bytes_per_s") or 0.0
    eta = row.get("eta_seconds")
    share = _share(row)
    filled = int(BAR_WIDTH * share) if share is not None else 0
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    percent = f"{share:4.0%}" if share is not None else "  ? "
    eta_text = f"ETA {eta:.0f} s" if eta is not None else "ETA ?"
    table = row.get("current_table") or ""
    return (
        f"[{bar}] {percent} {done / 1e6:8.1f} MB {rate / 1e6:6.1f} MB/s {eta_text:>10} "
        f"{row.get('phase') or ''} {table}"
    ).rstrip()


def _share(row: dict[str, Any]) -> float | None:
    done = row.get("bytes_processed") or 0
    rate = row.get("rate_bytes_per_s") or 0.0
    eta = row.get("eta_seconds")
    if eta is None or rate <= 0 or not done:
        return None
    return float(done / (done + eta * rate))


class ProgressBar:
    """Polls `snapshot` while a job runs; rich draws and finally clears the bar on a terminal.

    Off a terminal rich is disabled, so a log file gets no carriage-return frames, only the
    final line `close` prints.
    """

    def __init__(self, snapshot: Snapshot, console: Console | None = None) -> None:
        self._snapshot = snapshot
        self._console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[figures]}"),
            console=self._console,
            transient=True,  # the bar's line is cleared when it stops, no stale characters
            disable=not self._console.is_terminal,
        )
        self._task: TaskID | None = None
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="cli-progress", daemon=True)

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        self._task = self._progress.add_task("queued", total=None, figures="")
        self._poller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        self._progress.stop()
        if kind is None:
            click.echo(progress_line(self._snapshot()), err=True)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._show(self._snapshot())
            except Exception:  # a failed read of the row must never stop the job
                _log.debug("progress read failed", exc_info=True)

    def _show(self, row: dict[str, Any]) -> None:
        assert self._task is not None
        done = row.get("bytes_processed") or 0
        share = _share(row)
        rate = row.get("rate_bytes_per_s") or 0.0
        eta = row.get("eta_seconds")
        figures = f"{done / 1e6:.1f} MB  {rate / 1e6:.1f} MB/s  " + (
            f"ETA {eta:.0f} s" if eta is not None else "ETA ?"
        )
        phase = f"{row.get('phase') or ''} {row.get('current_table') or ''}".strip()
        self._progress.update(
            self._task,
            description=phase,
            completed=done,
            total=done / share if share else None,
            figures=figures,
        )
