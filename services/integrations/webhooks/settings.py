"""Webhook settings: the secret per vendor, ConnectWise key origins, what unsigned ones may cost."""

from __future__ import annotations

from shared.config import Setting, parse_optional_text, parse_positive_int

DEFAULT_CW_KEY_ORIGINS = "https://*.myconnectwise.net,https://api-staging.connectwisedev.com"

WEBHOOK_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "WEBHOOK_SYNCRO_TOKEN",
        parse_optional_text,
        None,
        "secret token in the Syncro webhook URL (?token=...); unset refuses Syncro webhooks",
        secret=True,
    ),
    Setting(
        "WEBHOOK_ZAPIER_TOKEN",
        parse_optional_text,
        None,
        "secret token Zapier sends (?token=... or X-Webhook-Token); unset refuses Zapier",
        secret=True,
    ),
    Setting(
        "WEBHOOK_AUTOTASK_SECRET",
        parse_optional_text,
        None,
        "SecretKey of the Autotask webhook (HMAC-SHA1 of X-Hook-Signature)",
        secret=True,
    ),
    Setting(
        "WEBHOOK_CONNECTWISE_KEY_ORIGINS",
        parse_optional_text,
        DEFAULT_CW_KEY_ORIGINS,
        "comma-separated origins (scheme://host[:port], * wildcards) allowed as key_url",
    ),
    Setting(
        "WEBHOOK_UNSIGNED_PER_MINUTE",
        parse_positive_int,
        30,
        "unsigned (rejected) deliveries one address may send a vendor's URL per minute; then 429",
    ),
    Setting(
        "WEBHOOK_REJECTED_BODY_BYTES",
        parse_positive_int,
        4096,
        "bytes of a rejected delivery's body kept (with the whole body's SHA-256 and length)",
    ),
    Setting(
        "WEBHOOK_REJECTED_RETENTION_HOURS",
        parse_positive_int,
        72,
        "hours a rejected delivery is kept before it is pruned",
    ),
)
