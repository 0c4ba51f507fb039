"""A vendor's rate budget is kept in the database: processes that share it never exceed it
together, a short wait is waited out (and counted), a long one is refused with its Retry-After."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, Table, select

from services.integrations import telemetry
from services.integrations.adapters.errors import PsaRateLimited
from services.integrations.adapters.throttle import RateWindows, RollingWindowLimiter
from shared.db import make_engine
from shared.models.integrations import PsaRateWindow

LIMIT, WINDOW = 12, 2.0


class RecordingWindows(RateWindows):
    """RateWindows that remembers the database time of each call it let through."""

    def __init__(self, engine: Engine, admitted: list[float]) -> None:
        super().__init__(engine)
        self.admitted = admitted
        self.local = threading.local()

    def _now(self, conn: Connection) -> float:
        self.local.now = super()._now(conn)
        return float(self.local.now)

    def take(self, integration_type: str, scope: str, *, limit: int, window: float) -> float:
        wait = super().take(integration_type, scope, limit=limit, window=window)
        if wait == 0:
            self.admitted.append(self.local.now)
        return wait


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    made = [make_engine(database_url) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def _most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for other in times if start - window < other <= start) for start in times)


def test_two_processes_with_their_own_engines_never_exceed_the_budget_together(
    engines: list[Engine],
) -> None:
    scope = f"test-{secrets.token_hex(6)}"
    admitted: list[float] = []
    refused = [0]
    stop = time.monotonic() + 3 * WINDOW + 0.5

    def hammer(windows: RateWindows) -> None:
        while time.monotonic() < stop:
            if windows.take("syncro", scope, limit=LIMIT, window=WINDOW):
                refused[0] += 1
                time.sleep(0.01)

    # Two "processes": each its own engine (own connections), four threads on each.
    workers = [
        threading.Thread(target=hammer, args=(RecordingWindows(engine, admitted),))
        for engine in engines
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert _most_in_any_window(admitted, WINDOW) <= LIMIT
    # The budget was spent and renewed (not merely refused): more than two windows' worth.
    assert len(admitted) > 2 * LIMIT
    assert refused[0] > 0


def _limiter(
    engine: Engine, clock: list[float], slept: list[float], **kw: float
) -> RollingWindowLimiter:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    return RollingWindowLimiter(
        integration_type="syncro",
        limit=int(kw.get("limit", 2)),
        window=kw.get("window", 60.0),
        max_wait=kw.get("max_wait", 5.0),
        sleep=sleep,
        windows=RateWindows(engine, clock=lambda: clock[0]),
        scope=f"test-{secrets.token_hex(6)}",
    )


def _waits() -> float:
    return float(telemetry.RATE_LIMIT_WAITS.labels("syncro", "client")._value.get())


def test_a_short_wait_for_the_shared_budget_is_waited_out_and_counted(engine: Engine) -> None:
    clock: list[float] = [1_000_000.0]
    slept: list[float] = []
    limiter = _limiter(engine, clock, slept, limit=2, window=3.0)
    before = _waits()

    for _ in range(3):
        limiter.acquire()

    assert len(slept) == 1 and 0 < slept[0] <= 3.0 + 3.0 / 12
    assert _waits() == before + 1


def test_a_long_wait_is_refused_with_the_time_until_the_budget_has_room(engine: Engine) -> None:
    clock: list[float] = [2_000_000.0]
    slept: list[float] = []
    limiter = _limiter(engine, clock, slept, limit=2, window=60.0)
    limiter.acquire()
    limiter.acquire()

    with pytest.raises(PsaRateLimited) as refused:
        limiter.acquire()

    assert slept == []
    assert 55 <= refused.value.retry_after <= 65
    assert "budget" in refused.value.detail


def test_another_process_sees_the_calls_of_the_first(engines: list[Engine]) -> None:
    clock: list[float] = [3_000_000.0]
    slept: list[float] = []
    first = _limiter(engines[0], clock, slept, limit=3, window=60.0)
    second = _limiter(engines[1], clock, slept, limit=3, window=60.0)
    second.scope = first.scope
    for _ in range(3):
        first.acquire()

    with pytest.raises(PsaRateLimited):
        second.acquire()


def test_buckets_older_than_the_window_are_deleted(engine: Engine) -> None:
    clock: list[float] = [4_000_000.0]
    slept: list[float] = []
    limiter = _limiter(engine, clock, slept, limit=5, window=60.0)
    limiter.acquire()
    clock[0] += 120
    limiter.acquire()

    with engine.connect() as conn:
        starts = conn.execute(
            select(PsaRateWindow.window_start).where(PsaRateWindow.scope == limiter.scope)
        ).scalars()
        live = [start for start in starts if start >= 0]
    assert live == [4_000_120_000]


def test_the_embedded_sqlite_mode_shares_the_budget_between_two_engines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    engines = [make_engine(url) for _ in range(2)]
    try:
        cast(Table, PsaRateWindow.__table__).create(engines[0])
        clock: list[float] = [5_000_000.0]
        slept: list[float] = []
        first = _limiter(engines[0], clock, slept, limit=2, window=60.0)
        second = _limiter(engines[1], clock, slept, limit=2, window=60.0)
        second.scope = first.scope
        first.acquire()
        second.acquire()
        with pytest.raises(PsaRateLimited):
            first.acquire()
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("raw", ["0", "181", "-5", "lots", "1.5"])
def test_a_syncro_budget_syncro_would_refuse_stops_the_process(
    raw: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.integrations.config import load

    with pytest.raises(SystemExit):
        load({"PSA_SYNCRO_CALLS_PER_MINUTE": raw})
    assert "PSA_SYNCRO_CALLS_PER_MINUTE" in capsys.readouterr().err


def test_the_syncro_budget_defaults_under_syncros_own_limit() -> None:
    from services.integrations.config import load

    assert load({})["PSA_SYNCRO_CALLS_PER_MINUTE"] == 170
    assert load({"PSA_SYNCRO_CALLS_PER_MINUTE": "180"})["PSA_SYNCRO_CALLS_PER_MINUTE"] == 180
