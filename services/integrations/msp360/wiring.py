"""MSP360 monitoring put together from the running app: vault, PSA access, insights, Zapier."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters.options import adapter_options
from services.integrations.insights_peer import insights_client
from services.integrations.msp360.connection import Msp360Account
from services.integrations.msp360.follow_up import FollowUp
from services.integrations.msp360.insights_link import InsightsDirectory
from services.integrations.msp360.settings import AUTO, DEFAULT_CLOSED
from services.integrations.msp360.sync import SyncReport, run_sync
from services.integrations.msp360.tickets import TicketDesk
from services.integrations.psa.request_access import psa_access_for_app
from services.integrations.zapier.publish import publish


def directory() -> InsightsDirectory:
    """The insights service, called with this service's token."""
    return InsightsDirectory(insights_client())


def sync_for_app(app: Flask, session: Session, context: AccessContext) -> SyncReport:
    """One sync on behalf of `context` (a request's caller, or the CLI's operator)."""
    config = app.config
    account = Msp360Account(
        vault=app.extensions["vault"],
        session_factory=app.extensions["session_factory"],
        context=context,
        refresh_ahead=timedelta(seconds=config.get("OAUTH_REFRESH_AHEAD_SECONDS", 300)),
        adapter_options=adapter_options(app),
    )
    desk = TicketDesk(
        access=psa_access_for_app(app, context),
        psa_setting=config.get("MSP360_TICKET_PSA", AUTO),
        default_companies=config.get("PSA_DEFAULT_COMPANIES", {}),
        closed_statuses=config.get("MSP360_CLOSED_STATUSES", DEFAULT_CLOSED),
    )
    insights = directory()
    return run_sync(
        session=session,
        source=account.open(session),
        directory=insights,
        follow_up=FollowUp(desk, insights),
        publish=publish,
    )
