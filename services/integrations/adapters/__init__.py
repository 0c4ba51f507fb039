"""PSA adapters (SyncroMSP, Autotask REST, ConnectWise Manage) behind one ticket shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.integrations.adapters.autotask import AutotaskAdapter
from services.integrations.adapters.connectwise import ConnectWiseAdapter
from services.integrations.adapters.errors import (
    PsaAuthFailed,
    PsaConfigurationError,
    PsaError,
    PsaOutcomeUnknown,
    PsaRateLimited,
    PsaRejected,
    PsaTicketNotFound,
    PsaUnavailable,
)
from services.integrations.adapters.shapes import (
    INTEGRATION_TYPES,
    AuditHook,
    OutboundCall,
    PsaAdapter,
    PsaCredentials,
    PsaNote,
    PsaTicket,
    TicketDraft,
    TicketNote,
    discard_call,
)
from services.integrations.adapters.syncro import SyncroAdapter
from services.integrations.adapters.transport import TransportSettings

ADAPTERS: dict[str, Any] = {
    "syncro": SyncroAdapter,
    "autotask": AutotaskAdapter,
    "connectwise": ConnectWiseAdapter,
}


def build_adapter(
    integration_type: str,
    credentials: PsaCredentials,
    *,
    audit: AuditHook = discard_call,
    vendor_options: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> PsaAdapter:
    """The adapter for a PSA type, wired to an audit hook that sees every outbound attempt;
    `vendor_options` adds what only one type takes (Syncro's shared rate budget)."""
    if integration_type not in ADAPTERS:
        raise PsaConfigurationError(integration_type, "no adapter for this integration type")
    own = (vendor_options or {}).get(integration_type, {})
    adapter: PsaAdapter = ADAPTERS[integration_type](
        credentials=credentials, audit=audit, **options, **own
    )
    return adapter


__all__ = [
    "INTEGRATION_TYPES",
    "AuditHook",
    "OutboundCall",
    "PsaAdapter",
    "PsaAuthFailed",
    "PsaConfigurationError",
    "PsaCredentials",
    "PsaError",
    "PsaNote",
    "PsaOutcomeUnknown",
    "PsaRateLimited",
    "PsaRejected",
    "PsaTicket",
    "PsaTicketNotFound",
    "PsaUnavailable",
    "TicketDraft",
    "TicketNote",
    "TransportSettings",
    "build_adapter",
    "discard_call",
]
