"""Credential kinds and the fields each may carry (secret fields are sealed, the rest plain)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import ValidationFailed

SECRET_FIELDS = ("client_secret", "access_token", "refresh_token", "api_key", "password")
PLAIN_FIELDS = ("api_url", "token_url", "client_id", "username", "scopes", "token_expires_at")

KIND_SECRETS: dict[str, tuple[str, ...]] = {
    "oauth": ("client_secret", "access_token", "refresh_token"),
    "api_key": ("api_key",),
    "basic_auth": ("password",),
}
KIND_PLAIN: dict[str, tuple[str, ...]] = {
    "oauth": ("api_url", "token_url", "client_id", "scopes", "token_expires_at"),
    "api_key": ("api_url", "client_id", "username", "token_expires_at"),
    "basic_auth": ("api_url", "client_id", "username", "token_expires_at"),
}
# Fields without which a credential of the kind cannot authenticate at all.
KIND_REQUIRED: dict[str, tuple[str, ...]] = {
    "oauth": ("client_id",),
    "api_key": ("api_key",),
    "basic_auth": ("username", "password"),
}


def check_fields_fit_kind(kind: str, data: Mapping[str, Any]) -> None:
    """422 naming every field the kind does not have (a value of None counts as given)."""
    allowed = set(KIND_SECRETS[kind]) | set(KIND_PLAIN[kind])
    errors = {
        name: [f"is not a field of {kind} credentials"]
        for name in data
        if name in SECRET_FIELDS + PLAIN_FIELDS and name not in allowed
    }
    if errors:
        raise ValidationFailed(errors)


def check_required_present(kind: str, values: Mapping[str, Any]) -> None:
    """422 for each required field of the kind that is missing or empty."""
    errors = {
        name: [f"is required for {kind} credentials"]
        for name in KIND_REQUIRED[kind]
        if values.get(name) in (None, "")
    }
    if errors:
        raise ValidationFailed(errors)
