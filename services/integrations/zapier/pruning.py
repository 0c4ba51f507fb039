"""Keeping the Zapier tables small: the newest samples per event, finished rows for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.models import ZapierDelivery, ZapierSample, utcnow
from shared.models.zapier import ZAPIER_EVENTS

SAMPLES_KEPT = 25
FINISHED_KEPT_DAYS = 30


def prune_finished(*, session: Session, batch_size: int = 1000) -> int:
    """Delete up to `batch_size` finished deliveries older than FINISHED_KEPT_DAYS (their
    attempts stay in the integration audit log)."""
    cutoff = utcnow() - timedelta(days=FINISHED_KEPT_DAYS)
    ids = list(
        session.scalars(
            select(ZapierDelivery.id)
            .where(ZapierDelivery.status != "pending", ZapierDelivery.created_at < cutoff)
            .limit(batch_size)
        )
    )
    if ids:
        session.execute(delete(ZapierDelivery).where(ZapierDelivery.id.in_(ids)))
    session.commit()
    return len(ids)


def prune_samples(*, session: Session, keep: int = SAMPLES_KEPT) -> int:
    """Keep only the newest `keep` samples of each event; returns how many were deleted."""
    deleted = 0
    for event in ZAPIER_EVENTS:
        oldest_kept = session.scalar(
            select(ZapierSample.created_at)
            .where(ZapierSample.event == event)
            .order_by(ZapierSample.created_at.desc())
            .offset(keep - 1)
            .limit(1)
        )
        if oldest_kept is not None:
            deleted += _delete_older(session, event, oldest_kept)
    session.commit()
    return deleted


def _delete_older(session: Session, event: str, cutoff: datetime) -> int:
    result = session.execute(
        delete(ZapierSample).where(ZapierSample.event == event, ZapierSample.created_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
