"""Settings of the integrations service (environment variables only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.integrations.access_log.checkpoint_schedule import CHECKPOINT_SETTINGS
from services.integrations.adapters.endpoints import ENDPOINT_SETTINGS
from services.integrations.msp360.settings import MSP360_SETTINGS
from services.integrations.psa.settings import PSA_SETTINGS
from services.integrations.webhooks.settings import WEBHOOK_SETTINGS
from services.integrations.zapier.settings import ZAPIER_SETTINGS
from shared.config import (
    COMMON_SETTINGS,
    Setting,
    load_or_exit,
    parse_http_url,
    parse_optional_text,
    parse_positive_float,
    parse_positive_int,
)


def parse_non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected 0 or a positive integer")
    return value


VAULT_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "VAULT_KMS_KEYS",
        parse_optional_text,
        None,
        "AWS KMS key-encryption keys as id=key-id-or-arn-or-alias, comma separated; "
        "the last (or the one prefixed active:) wraps new data keys",
    ),
    Setting("VAULT_KMS_ENDPOINT_URL", parse_http_url, None, "KMS endpoint override (tests)"),
    Setting("AWS_REGION", parse_optional_text, None, "region of the KMS keys"),
    Setting(
        "VAULT_KEYS",
        parse_optional_text,
        None,
        "local key-encryption keys as id=base64(32 bytes), comma separated",
        secret=True,
    ),
    Setting(
        "VAULT_KEYS_FILE",
        parse_optional_text,
        None,
        "JSON key file {active, keys: {id: base64}} (a mounted secret)",
    ),
    Setting(
        "VAULT_DEK_CACHE_SECONDS",
        parse_non_negative_int,
        300,
        "KMS only: keep unwrapped data keys this long in memory (0 = ask KMS every time)",
    ),
    Setting(
        "VAULT_AUDIT_KEY",
        parse_optional_text,
        None,
        "base64 HMAC key (32+ bytes) of the credential access-log chain",
        secret=True,
    ),
    Setting(
        "VAULT_DEV_DIR",
        parse_optional_text,
        "var",
        "where the embedded default keeps its generated keys",
    ),
    Setting(
        "OAUTH_REFRESH_AHEAD_SECONDS",
        parse_positive_int,
        300,
        "refresh an OAuth access token this long before it expires",
    ),
    Setting(
        "OAUTH_TIMEOUT_SECONDS",
        parse_positive_float,
        10.0,
        "timeout of one call to an OAuth token endpoint",
    ),
    Setting(
        "EVENT_RETENTION_DAYS",
        parse_positive_int,
        365,
        "integration events older than this are removed by prune-events",
    ),
)
SETTINGS: tuple[Setting, ...] = (
    COMMON_SETTINGS
    + VAULT_SETTINGS
    + CHECKPOINT_SETTINGS
    + ENDPOINT_SETTINGS
    + PSA_SETTINGS
    + WEBHOOK_SETTINGS
    + ZAPIER_SETTINGS
    + MSP360_SETTINGS
)


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse the settings or stop with one line naming the bad variable."""
    return load_or_exit(SETTINGS, environ)
