"""What every PSA adapter of an app is built with: the transport settings from its config
(PSA_* timeouts and retries, outbound endpoint rules), plus options the app was given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.integrations.adapters.endpoints import endpoint_policy
from services.integrations.adapters.throttle import RateWindows, RollingWindowLimiter
from services.integrations.adapters.transport import TransportSettings

SYNCRO_WINDOW_SECONDS = 60.0


def transport_settings(config: Mapping[str, Any]) -> TransportSettings:
    """The adapters' transport settings from the app config."""
    return TransportSettings(
        connect_timeout=config.get("PSA_CONNECT_TIMEOUT", 3.05),
        read_timeout=config.get("PSA_READ_TIMEOUT", 20.0),
        max_attempts=config.get("PSA_MAX_ATTEMPTS", 3),
        max_retry_wait=config.get("PSA_MAX_RETRY_WAIT", 10.0),
        endpoints=endpoint_policy(config),
    )


def adapter_options(app: Any) -> dict[str, Any]:
    """What every PSA adapter of this app is built with: the transport settings, plus any
    options the app was given (tests hand in a sleep that does not wait)."""
    return {
        "settings": transport_settings(app.config),
        "vendor_options": shared_budgets(app),
        **app.extensions.get("psa_adapter_options", {}),
    }


def shared_budgets(app: Any) -> dict[str, dict[str, Any]]:
    """The per-vendor rate budgets of this app, counted in the database so that every worker
    and replica on it shares them (Syncro: PSA_SYNCRO_CALLS_PER_MINUTE for the deployment,
    since Syncro counts per source address)."""
    budgets: dict[str, dict[str, Any]] | None = app.extensions.get("psa_rate_budgets")
    if budgets is None:
        syncro = RollingWindowLimiter(
            integration_type="syncro",
            limit=app.config.get("PSA_SYNCRO_CALLS_PER_MINUTE", 170),
            window=SYNCRO_WINDOW_SECONDS,
            windows=RateWindows(app.extensions["db_engine"]),
        )
        budgets = app.extensions["psa_rate_budgets"] = {"syncro": {"limiter": syncro}}
    return budgets
