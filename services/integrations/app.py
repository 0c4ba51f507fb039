"""The integrations service: credential vault, integration audit log, tickets, webhooks."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from flask import Flask

from services.integrations import config
from services.integrations.access_log.checkpoint_schedule import install_checkpoints
from services.integrations.access_log.resources import blp as access_log_blp
from services.integrations.credentials.resources import blp as credentials_blp
from services.integrations.events.resources import blp as events_blp
from services.integrations.events.services import record_outbound_call
from services.integrations.keys.resources import blp as keys_blp
from services.integrations.msp360.resources import blp as msp360_blp
from services.integrations.oauth.services import Broker
from services.integrations.tickets.resources import blp as tickets_blp
from services.integrations.vault.keys_config import vault_keys_from_settings
from services.integrations.webhooks.resources import blp as webhooks_blp
from services.integrations.zapier.resources import blp as zapier_blp
from services.integrations.zapier.runner import install_delivery
from shared.crypto import KeyringError
from shared.crypto.keyring import RemoteKeyring
from shared.web import create_service_app, on_worker_fork

# One line per resource: add a blueprint here to serve it.
BLUEPRINTS = [
    credentials_blp,
    access_log_blp,
    keys_blp,
    events_blp,
    tickets_blp,
    webhooks_blp,
    zapier_blp,
    msp360_blp,
]


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` on top (tests pass their own)."""
    settings = config.load({**os.environ, **(overrides or {})})
    app = create_service_app(
        name="integrations",
        title="Integrations",
        description="Credential vault, integration audit log, PSA ticket links and webhooks.",
        settings=settings,
        blueprints=BLUEPRINTS,
        raw_body_prefixes=("/v1/webhooks/",),
    )
    try:
        app.extensions["vault"] = vault_keys_from_settings(settings)
        app.extensions["oauth_broker"] = Broker.from_settings(settings)
    except KeyringError as exc:  # one clear line, like every other configuration error
        print(f"configuration error: vault keyring: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    install_checkpoints(app, settings)
    install_delivery(app, settings, audit=record_outbound_call)
    keyring = app.extensions["vault"].keyring
    if isinstance(keyring, RemoteKeyring):  # KMS: its boto3 client must not cross a fork
        on_worker_fork(app, keyring.reconnect)
    return app
