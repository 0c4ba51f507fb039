"""Endpoint rules for adapter tests whose fake PSA is a plain-http server on this machine."""

from __future__ import annotations

from services.integrations.adapters import TransportSettings
from services.integrations.adapters.endpoints import EndpointPolicy

LOCAL_ENDPOINTS = EndpointPolicy(extra_hosts={"*": ("localhost", "127.0.0.1")}, allow_local=True)
LOCAL_TRANSPORT = TransportSettings(endpoints=LOCAL_ENDPOINTS)
