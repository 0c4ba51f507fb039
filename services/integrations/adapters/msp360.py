"""MSP360 (MSP Backups) adapter: the provider login's bearer token, companies, users, monitoring.

The API (https://api.mspbackups.com/api) takes `POST /api/Provider/Login {UserName, Password}`
and answers `{access_token, token_type: "bearer", expires_in}` (about 14 days); every other call
sends `Authorization: Bearer <token>`. Monitoring rows carry an integer `Status` (Success = 0 ...
UnexpectedlyClosed = 6) and timestamps without an offset.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import requests

from services.integrations.adapters.errors import (
    PsaAuthFailed,
    PsaConfigurationError,
    PsaError,
    PsaRejected,
)
from services.integrations.adapters.shapes import AuditHook, JsonValue
from services.integrations.adapters.transport import PsaResponse, PsaTransport, TransportSettings
from shared.models.base import EARLIEST, LATEST
from shared.models.msp360 import PLAN_STATUSES

INTEGRATION_TYPE = "msp_backups"
DEFAULT_API_URL = "https://api.mspbackups.com"
# An MSP with more plans than this is read in part (and the sync says so); a list this long
# from a fake or a broken proxy must not become an unbounded loop of writes.
MAX_MONITORING_ROWS = 20_000
MAX_NAME_CHARS = 255
MAX_ERROR_CHARS = 4_000
MAX_TOKEN_LIFETIME = 10 * 365 * 86_400
INT64_MAX = 2**63 - 1


class Msp360Unreadable(PsaError):
    """MSP360 answered, but not with what its API documents (garbled or wrong-shaped JSON)."""


@dataclass(frozen=True)
class LoginGrant:
    """The bearer token a provider login returned and how long it lives (seconds)."""

    access_token: str
    expires_in: int | None

    def __repr__(self) -> str:  # the token never reaches a traceback or a log
        return f"LoginGrant(expires_in={self.expires_in!r})"


class TokenSource(Protocol):
    """Hands the adapter a bearer token; `renew` is asked once after MSP360 refused `rejected`."""

    def token(self) -> str: ...

    def renew(self, rejected: str) -> str: ...


@dataclass(frozen=True)
class MonitoredPlan:
    """One row of `GET /api/Monitoring`, cleaned: names on one line and bounded, dates in UTC."""

    user_id: str
    user_name: str | None
    company_name: str
    computer_name: str
    plan_name: str
    plan_id: str | None
    storage_type: str | None
    build_version: str | None
    status: str
    status_code: int | None
    error_message: str | None
    last_start: datetime | None
    next_start: datetime | None
    files_copied: int | None
    files_failed: int | None
    data_copied_bytes: int | None
    total_data_bytes: int | None
    duration: str | None


def api_root(api_url: str | None) -> str:
    """`https://api.mspbackups.com` from the credential's api_url (with or without `/api`)."""
    return (api_url or DEFAULT_API_URL).rstrip("/").removesuffix("/api")


def clean_text(value: Any, limit: int = MAX_NAME_CHARS) -> str:
    """Text on one line: control, format and separator characters become spaces, runs of
    whitespace one space, at most `limit` characters."""
    if value is None:
        return ""
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs") else char
        for char in str(value)
    )
    return " ".join(text.split())[:limit]


def _optional_text(value: Any, limit: int = MAX_NAME_CHARS) -> str | None:
    return clean_text(value, limit) or None


def _count(value: Any) -> int | None:
    """A non-negative integer (MSP360 sends numbers, sometimes as text); anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value == value:  # not NaN
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= INT64_MAX else None


def _instant(value: Any) -> datetime | None:
    """MSP360's `2018-05-11T14:50:57` (no offset: read as UTC); out-of-range dates are None
    (`0001-01-01T00:00:00` stands for "never")."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


def plan_status(value: Any) -> tuple[str, int | None]:
    """The status name and code of a monitoring row (an integer code, or already a name)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(PLAN_STATUSES):
        return PLAN_STATUSES[value], value
    if isinstance(value, str):
        if value.strip().isdigit():
            return plan_status(int(value.strip()))
        by_name = {name.lower(): code for code, name in enumerate(PLAN_STATUSES)}
        code = by_name.get(value.strip().lower())
        if code is not None:
            return PLAN_STATUSES[code], code
    return "Unknown", None


def monitored_plan(raw: Any) -> MonitoredPlan | None:
    """A monitoring row as a MonitoredPlan; None when it lacks the plan, computer or user."""
    if not isinstance(raw, dict):
        return None
    plan, computer = clean_text(raw.get("PlanName")), clean_text(raw.get("ComputerName"))
    user_id = clean_text(raw.get("UserID") or raw.get("UserId"), 100)
    if not (plan and computer and user_id):
        return None
    status, code = plan_status(raw.get("Status"))
    return MonitoredPlan(
        user_id=user_id,
        user_name=_optional_text(raw.get("UserName")),
        company_name=clean_text(raw.get("CompanyName")),
        computer_name=computer,
        plan_name=plan,
        plan_id=_optional_text(raw.get("PlanId") or raw.get("PlanID"), 100),
        storage_type=_optional_text(raw.get("StorageType"), 100),
        build_version=_optional_text(raw.get("BuildVersion"), 50),
        status=status,
        status_code=code,
        error_message=_optional_text(raw.get("ErrorMessage"), MAX_ERROR_CHARS),
        last_start=_instant(raw.get("LastStart")),
        next_start=_instant(raw.get("NextStart")),
        files_copied=_count(raw.get("FilesCopied")),
        files_failed=_count(raw.get("FilesFailed")),
        data_copied_bytes=_count(raw.get("DataCopied")),
        total_data_bytes=_count(raw.get("TotalData")),
        duration=_optional_text(raw.get("Duration"), 100),
    )


def _grant(body: JsonValue) -> LoginGrant:
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or len(token) > 8_000:
        raise Msp360Unreadable(INTEGRATION_TYPE, "the provider login answered without a token")
    lifetime = _count(body.get("expires_in"))
    return LoginGrant(token, min(lifetime, MAX_TOKEN_LIFETIME) if lifetime is not None else None)


class Msp360Adapter:
    """Reads one MSP360 provider account; every attempt goes to the audit hook."""

    integration_type = INTEGRATION_TYPE

    def __init__(
        self,
        *,
        api_url: str | None,
        tokens: TokenSource | None,
        audit: AuditHook,
        settings: TransportSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        self.api = f"{api_root(api_url)}/api"
        self.tokens = tokens
        self.transport = PsaTransport(
            integration_type=INTEGRATION_TYPE,
            headers={"Accept": "application/json"},
            audit=audit,
            settings=settings,
            sleep=sleep,
            http=http,
        )

    def login(self, username: str, password: str) -> LoginGrant:
        """Exchange the API login for a bearer token (safe to retry: it changes nothing)."""
        self.transport.headers.pop("Authorization", None)
        try:
            response = self.transport.send(
                "POST",
                f"{self.api}/Provider/Login",
                action="updated",
                json={"UserName": username, "Password": password},
                idempotent=True,
            )
        except PsaRejected as exc:  # the token endpoint's 400 invalid_grant: a wrong login
            raise PsaAuthFailed(INTEGRATION_TYPE, "the API login was refused") from exc
        if response.status == 404:
            raise PsaConfigurationError(INTEGRATION_TYPE, "no MSP360 API at this api_url")
        return _grant(response.body)

    def _get(self, path: str) -> PsaResponse:
        """A GET with the current token; after a refusal the token is renewed once, no more."""
        if self.tokens is None:
            raise PsaConfigurationError(INTEGRATION_TYPE, "no token source for MSP360 calls")
        token = self.tokens.token()
        try:
            return self._send(path, token)
        except PsaAuthFailed:
            return self._send(path, self.tokens.renew(token))

    def _send(self, path: str, token: str) -> PsaResponse:
        self.transport.headers["Authorization"] = f"Bearer {token}"
        return self.transport.send("GET", f"{self.api}{path}", action="fetched")

    def _list(self, path: str) -> list[Any]:
        response = self._get(path)
        if response.status == 404:
            raise PsaConfigurationError(INTEGRATION_TYPE, f"MSP360 has no {path}")
        if not isinstance(response.body, list):
            raise Msp360Unreadable(INTEGRATION_TYPE, f"{path} did not answer a JSON list")
        return response.body

    def companies(self) -> list[dict[str, str]]:
        """`GET /api/Companies`: each company's id and name."""
        return [
            {
                "id": clean_text(row.get("Id") or row.get("ID"), 100),
                "name": clean_text(row.get("Name")),
            }
            for row in self._list("/Companies")
            if isinstance(row, dict)
        ]

    def users(self) -> list[dict[str, str | None]]:
        """`GET /api/Users`: each backup user's id, login and company."""
        return [
            {
                "id": clean_text(row.get("ID") or row.get("Id"), 100),
                "email": _optional_text(row.get("Email")),
                "company": _optional_text(row.get("Company")),
            }
            for row in self._list("/Users")
            if isinstance(row, dict)
        ]

    def monitoring(self, user_id: str | None = None) -> tuple[list[MonitoredPlan], int]:
        """`GET /api/Monitoring` (or one user's): the plans read, and how many rows were
        skipped (not an object, or without a plan, computer or user; or beyond the cap)."""
        path = "/Monitoring" if user_id is None else f"/Monitoring/{_path_id(user_id)}"
        rows = self._list(path)
        plans = [plan for plan in map(monitored_plan, rows[:MAX_MONITORING_ROWS]) if plan]
        return plans, len(rows) - len(plans)

    def test_connection(self) -> None:
        """The cheapest authenticated read: the company list."""
        self._list("/Companies")


def _path_id(user_id: str) -> str:
    if not user_id.replace("-", "").isalnum():
        raise PsaConfigurationError(INTEGRATION_TYPE, "an MSP360 user id is letters, digits, '-'")
    return user_id
