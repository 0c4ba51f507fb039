"""Keeping the Zapier tables small: the newest samples per event, finished rows for a while.

Written against the tables (SQLAlchemy Core), not the mapped classes: a worker's in-service run
prunes even when Zapier is unused, and a first ORM query would configure every mapper in a
worker that otherwise never used the ORM (measured: 7 MiB of its private memory).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from shared.models import ZapierDelivery, ZapierSample, utcnow
from shared.models.zapier import ZAPIER_EVENTS

SAMPLES_KEPT = 25
FINISHED_KEPT_DAYS = 30
SAMPLES_TABLE = cast(Table, ZapierSample.__table__)
DELIVERIES_TABLE = cast(Table, ZapierDelivery.__table__)
_SAMPLES, _DELIVERIES = SAMPLES_TABLE.c, DELIVERIES_TABLE.c


def prune_finished(*, session: Session, batch_size: int = 1000) -> int:
    """Delete up to `batch_size` finished deliveries older than FINISHED_KEPT_DAYS (their
    attempts stay in the integration audit log)."""
    cutoff = utcnow() - timedelta(days=FINISHED_KEPT_DAYS)
    ids = list(
        session.scalars(
            select(_DELIVERIES.id)
            .where(_DELIVERIES.status != "pending", _DELIVERIES.created_at < cutoff)
            .limit(batch_size)
        )
    )
    if ids:
        session.execute(delete(DELIVERIES_TABLE).where(_DELIVERIES.id.in_(ids)))
    session.commit()
    return len(ids)


def prune_samples(*, session: Session, keep: int = SAMPLES_KEPT) -> int:
    """Keep only the newest `keep` samples of each event; returns how many were deleted."""
    deleted = 0
    for event in ZAPIER_EVENTS:
        oldest_kept = session.scalar(
            select(_SAMPLES.created_at)
            .where(_SAMPLES.event == event)
            .order_by(_SAMPLES.created_at.desc())
            .offset(keep - 1)
            .limit(1)
        )
        if oldest_kept is not None:
            deleted += _delete_older(session, event, oldest_kept)
    session.commit()
    return deleted


def _delete_older(session: Session, event: str, cutoff: datetime) -> int:
    result = session.execute(
        delete(SAMPLES_TABLE).where(_SAMPLES.event == event, _SAMPLES.created_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
