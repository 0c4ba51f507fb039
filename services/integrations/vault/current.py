"""The vault keys of the running app, as the app factory built them from the settings."""

from __future__ import annotations

from typing import cast

from flask import current_app

from services.integrations.vault.keys_config import VaultKeys


def current_vault() -> VaultKeys:
    """The keyring and audit key this process was started with."""
    return cast(VaultKeys, current_app.extensions["vault"])
