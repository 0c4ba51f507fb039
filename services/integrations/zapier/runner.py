"""When deliveries run inside the service: after a request, at most every N seconds per worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response

from services.integrations.zapier.delivery import DeliveryRules, OutboundAudit, deliver_due
from shared.observability import carrying_request_id

log = logging.getLogger(__name__)


@dataclass
class DeliverySchedule:
    """This worker's next in-service delivery run (the CLI command runs them on its own)."""

    interval: float
    last_at: float = 0.0
    running: bool = False

    def take_if_due(self) -> bool:
        now = time.monotonic()
        if self.interval <= 0 or self.running or now - self.last_at < self.interval:
            return False
        self.last_at, self.running = now, True
        return True


def install_delivery(app: Flask, settings: Mapping[str, Any], *, audit: OutboundAudit) -> None:
    """Run due Zapier deliveries after the answer of a request, when this worker's turn came
    (like the audit checkpoints): published events go out without a separate process, and
    `zapier-deliver` from a CronJob covers a service that gets no requests."""
    rules = DeliveryRules.from_settings(settings)
    schedule = DeliverySchedule(interval=settings["ZAPIER_DELIVER_EVERY_SECONDS"])
    app.extensions["zapier_delivery"] = schedule

    @app.after_request
    def _deliver_when_due(response: Response) -> Response:
        if schedule.take_if_due():
            response.call_on_close(carrying_request_id(_work(app, schedule, rules, audit)))
        return response


def _work(
    app: Flask, schedule: DeliverySchedule, rules: DeliveryRules, audit: OutboundAudit
) -> Callable[[], None]:
    def work() -> None:
        session = app.extensions["session_factory"]()
        try:
            keyring = app.extensions["vault"].keyring
            report = deliver_due(session=session, keyring=keyring, rules=rules, audit=audit)
            if report.counts:
                log.info("zapier deliveries: %s", report)
        except Exception:  # after the answer: nobody to tell but the log
            log.exception("running zapier deliveries failed")
        finally:
            session.close()
            schedule.running = False

    return work
