"""When deliveries run inside the service: after a request, at most every N seconds per worker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response

from services.integrations.zapier.delivery import DeliveryRules, OutboundAudit, deliver_due
from services.integrations.zapier.poll import PeerReader, forget_cursors, poll_insights
from services.integrations.zapier.pruning import prune_finished, prune_samples
from services.integrations.zapier.subscriptions import any_active
from shared.client import ServiceClient
from shared.observability import carrying_request_id

log = logging.getLogger(__name__)


@dataclass
class DeliverySchedule:
    """This worker's next in-service delivery run (the CLI command runs them on its own).

    `busy` keeps a worker's threads from running two at once; it is taken by the run itself,
    so a run that never started (an answer nobody closed) cannot hold it."""

    interval: float
    last_at: float = 0.0
    busy: threading.Lock = field(default_factory=threading.Lock)

    def take_if_due(self) -> bool:
        now = time.monotonic()
        if self.interval <= 0 or now - self.last_at < self.interval:
            return False
        self.last_at = now
        return True


def install_delivery(app: Flask, settings: Mapping[str, Any], *, audit: OutboundAudit) -> None:
    """Run due Zapier deliveries after the answer of a request, when this worker's turn came
    (like the audit checkpoints): published events go out without a separate process, and
    `zapier-deliver` from a CronJob covers a service that gets no requests."""
    rules = DeliveryRules.from_settings(settings)
    schedule = DeliverySchedule(interval=settings["ZAPIER_DELIVER_EVERY_SECONDS"])
    app.extensions["zapier_delivery"] = schedule
    # Without a service token insights would refuse the poll: only deliveries run then.
    insights = insights_reader(settings) if settings.get("SERVICE_TOKEN") else None
    run = ZapierRun(app, schedule, rules, audit, insights)

    @app.after_request
    def _deliver_when_due(response: Response) -> Response:
        if schedule.take_if_due():
            response.call_on_close(carrying_request_id(run))
        return response


def insights_reader(settings: Mapping[str, Any]) -> ServiceClient:
    """The insights service as the poll reads it, with this service's token."""
    return ServiceClient(
        settings["INSIGHTS_URL"],
        settings.get("SERVICE_TOKEN"),
        name="insights",
        connect_timeout=settings.get("HTTP_CONNECT_TIMEOUT", 2.0),
        read_timeout=settings.get("HTTP_READ_TIMEOUT", 10.0),
    )


@dataclass
class ZapierRun:
    """One in-service run: poll insights for its events, then send what is due.

    Most deployments never subscribe a Zap, so a run first asks (one query on the table, no ORM)
    whether any subscription is active; without one it only prunes, and forgets the poll
    cursors so that the first poll after a subscription starts from then (no flood of what
    happened while nobody listened)."""

    app: Flask
    schedule: DeliverySchedule
    rules: DeliveryRules
    audit: OutboundAudit
    insights: PeerReader | None

    def __call__(self) -> None:
        if not self.schedule.busy.acquire(blocking=False):
            return
        session = self.app.extensions["session_factory"]()
        try:
            if any_active(session=session):
                self._deliver(session)
            else:
                forget_cursors(session=session)
                prune_samples(session=session)
                prune_finished(session=session)
        except Exception:  # after the answer: nobody to tell but the log
            log.exception("running zapier deliveries failed")
        finally:
            session.close()
            self.schedule.busy.release()

    def _deliver(self, session: Any) -> None:
        self._poll(session)
        keyring = self.app.extensions["vault"].keyring
        report = deliver_due(session=session, keyring=keyring, rules=self.rules, audit=self.audit)
        if report.counts:
            log.info("zapier deliveries: %s", report)

    def _poll(self, session: Any) -> None:
        if self.insights is None:
            return
        try:
            poll_insights(session=session, insights=self.insights)
        except Exception as exc:  # insights down: its events wait for the next run
            session.rollback()
            log.warning("polling insights for zapier events failed: %s", type(exc).__name__)
