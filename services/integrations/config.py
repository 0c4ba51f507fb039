"""Settings of the integrations service (environment variables only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.config import COMMON_SETTINGS, Setting, load_or_exit

SETTINGS: tuple[Setting, ...] = COMMON_SETTINGS


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse the settings or stop with one line naming the bad variable."""
    return load_or_exit(SETTINGS, environ)
