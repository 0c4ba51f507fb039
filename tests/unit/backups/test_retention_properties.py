"""GFS retention over random histories (hypothesis): what it may and may never delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.backups.retention.policy import (
    BackupRecord,
    RetentionPolicy,
    backups_to_keep,
    plan_prune,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def histories(draw: st.DrawFn) -> list[BackupRecord]:
    count = draw(st.integers(min_value=0, max_value=60))
    records = []
    for i in range(count):
        status = draw(
            st.sampled_from(["succeeded", "succeeded", "succeeded", "failed", "in_progress"])
        )
        records.append(
            BackupRecord(
                id=f"b{i:03d}",
                started_at=START + timedelta(hours=draw(st.integers(0, 24 * 400))),
                status=status,
                verified=status == "succeeded" and draw(st.booleans()),
                pinned=draw(st.integers(0, 9)) == 0,
                pruned=draw(st.integers(0, 9)) == 0,
            )
        )
    return records


policies = st.builds(
    RetentionPolicy,
    keep_daily=st.integers(0, 10),
    keep_weekly=st.integers(0, 6),
    keep_monthly=st.integers(0, 12),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)


def _latest(history: list[BackupRecord]) -> BackupRecord:
    return max(history, key=lambda b: (b.started_at, b.id))


@settings(max_examples=300, deadline=None)
@given(histories(), policies)
def test_the_newest_verified_backup_is_never_pruned(history, policy) -> None:
    verified = [b for b in history if b.status == "succeeded" and b.verified and not b.pruned]
    if verified:
        newest = max(verified, key=lambda b: (b.started_at, b.id))
        assert newest.id not in plan_prune(history, policy)


@settings(max_examples=300, deadline=None)
@given(histories(), policies)
def test_pinned_backups_are_never_pruned(history, policy) -> None:
    pinned = {b.id for b in history if b.pinned}
    assert pinned.isdisjoint(plan_prune(history, policy))


@settings(max_examples=300, deadline=None)
@given(histories(), policies)
def test_nothing_is_pruned_unless_the_latest_run_is_a_verified_success(history, policy) -> None:
    if history and not (_latest(history).status == "succeeded" and _latest(history).verified):
        assert plan_prune(history, policy) == []


@settings(max_examples=300, deadline=None)
@given(histories(), policies)
def test_only_live_successful_backups_are_pruned(history, policy) -> None:
    by_id = {b.id: b for b in history}
    for doomed in plan_prune(history, policy):
        assert by_id[doomed].status == "succeeded"
        assert not by_id[doomed].pruned


@settings(max_examples=300, deadline=None)
@given(histories(), policies)
def test_kept_and_pruned_split_the_live_backups(history, policy) -> None:
    live = {b.id for b in history if b.status == "succeeded" and not b.pruned}
    pruned = set(plan_prune(history, policy))
    if pruned:
        assert pruned | (backups_to_keep(history, policy) & live) == live
        assert not pruned & backups_to_keep(history, policy)


@settings(max_examples=200, deadline=None)
@given(histories(), policies)
def test_the_dry_run_is_what_a_second_call_deletes(history, policy) -> None:
    assert plan_prune(history, policy) == plan_prune(list(reversed(history)), policy)


@settings(max_examples=200, deadline=None)
@given(histories(), policies)
def test_pruning_is_idempotent(history, policy) -> None:
    doomed = set(plan_prune(history, policy))
    after = [
        BackupRecord(b.id, b.started_at, b.status, b.verified, b.pinned, b.pruned or b.id in doomed)
        for b in history
    ]
    assert plan_prune(after, policy) == []


@settings(max_examples=200, deadline=None)
@given(histories(), policies)
def test_each_of_the_last_keep_daily_days_keeps_a_backup(history, policy) -> None:
    pruned = set(plan_prune(history, policy))
    live = [b for b in history if b.status == "succeeded" and not b.pruned]
    days = sorted({b.started_at.date() for b in live}, reverse=True)[: policy.keep_daily]
    if policy.timezone == "UTC":
        for day in days:
            assert any(b.started_at.date() == day and b.id not in pruned for b in live)


def test_fifteen_failed_nights_leave_every_good_backup_in_place() -> None:
    good = [BackupRecord(f"g{i}", START + timedelta(days=i), "succeeded", True) for i in range(10)]
    failed = [
        BackupRecord(f"f{i}", START + timedelta(days=10 + i), "failed", False) for i in range(15)
    ]
    assert plan_prune(good + failed, RetentionPolicy(1, 0, 0)) == []


def test_gfs_keeps_the_newest_of_each_day_week_and_month() -> None:
    # One backup a day from 2026-01-01 to 2026-02-28 (a Saturday).
    history = [
        BackupRecord(f"d{i:02d}", START + timedelta(days=i), "succeeded", True) for i in range(59)
    ]
    policy = RetentionPolicy(keep_daily=3, keep_weekly=2, keep_monthly=2)
    keep = backups_to_keep(history, policy)
    assert keep == {"d58", "d57", "d56", "d52", "d30"}  # 3 days, Sunday 22 Feb, 31 Jan
    assert set(plan_prune(history, policy)) == {b.id for b in history} - keep
