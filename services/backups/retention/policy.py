"""GFS retention as a pure function: which backups of a schedule may be deleted now."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BackupRecord:
    """What retention needs to know about one backup of a schedule."""

    id: str
    started_at: datetime
    status: str  # in_progress, succeeded, failed
    verified: bool
    pinned: bool = False
    pruned: bool = False


@dataclass(frozen=True)
class RetentionPolicy:
    """keep_daily / keep_weekly / keep_monthly periods, each keeping its newest backup."""

    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    timezone: str = "UTC"


def _newest_per_period(
    backups: Sequence[BackupRecord], count: int, period: Callable[[BackupRecord], Hashable]
) -> set[str]:
    kept: set[str] = set()
    seen: set[Hashable] = set()
    for backup in backups:  # newest first
        key = period(backup)
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.add(key)
        kept.add(backup.id)
    return kept


def backups_to_keep(history: Sequence[BackupRecord], policy: RetentionPolicy) -> set[str]:
    """Ids retention keeps: pinned, the newest verified, and the newest of each GFS period."""
    zone = ZoneInfo(policy.timezone)
    live = sorted(
        (b for b in history if b.status == "succeeded" and not b.pruned),
        key=lambda b: (b.started_at, b.id),
        reverse=True,
    )

    def local(b: BackupRecord) -> datetime:
        return b.started_at.astimezone(zone)

    keep = {b.id for b in live if b.pinned}
    verified = [b for b in live if b.verified]
    if verified:
        keep.add(verified[0].id)
    keep |= _newest_per_period(live, policy.keep_daily, lambda b: local(b).date())
    keep |= _newest_per_period(live, policy.keep_weekly, lambda b: local(b).isocalendar()[:2])
    keep |= _newest_per_period(live, policy.keep_monthly, lambda b: (local(b).year, local(b).month))
    return keep


def may_prune(history: Sequence[BackupRecord]) -> bool:
    """Prune only right after a new verified success: the latest run must be one."""
    if not history:
        return False
    latest = max(history, key=lambda b: (b.started_at, b.id))
    return latest.status == "succeeded" and latest.verified


def plan_prune(history: Sequence[BackupRecord], policy: RetentionPolicy) -> list[str]:
    """Ids of the backups retention would delete now (the dry run and the real run agree)."""
    if not may_prune(history):
        return []
    keep = backups_to_keep(history, policy)
    return sorted(
        b.id for b in history if b.status == "succeeded" and not b.pruned and b.id not in keep
    )
