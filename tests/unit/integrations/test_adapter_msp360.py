"""MSP360 adapter: monitoring rows of any shape read safely, login and the renewal on a 401,
against the local fake written from MSP360's documented contract."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.integrations.adapters import OutboundCall, PsaAuthFailed
from services.integrations.adapters.errors import PsaConfigurationError, PsaEndpointRefused
from services.integrations.adapters.msp360 import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    Msp360Adapter,
    Msp360Unreadable,
    api_root,
    clean_text,
    monitored_plan,
    plan_status,
)
from services.integrations.adapters.transport import TransportSettings
from tests.e2e.msp360_fake import Fakes, running_fakes
from tests.unit.integrations.local_endpoints import LOCAL_TRANSPORT

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
ROW_KEYS = (
    "PlanName",
    "CompanyName",
    "ComputerName",
    "UserID",
    "UserName",
    "Status",
    "LastStart",
    "NextStart",
    "ErrorMessage",
    "FilesCopied",
    "DataCopied",
    "TotalData",
    "Duration",
)
BAD_CHARS = {chr(c) for c in range(32)} | {"\x7f", "\u202e", "\u2028", "\u2029", "\ufeff"}


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={key: JSON for key in ROW_KEYS}))
def test_any_row_is_read_or_skipped_never_raises_and_stays_bounded(row: dict[str, Any]) -> None:
    plan = monitored_plan(row)
    if plan is None:
        return
    for name in ("company_name", "computer_name", "plan_name", "user_name", "duration"):
        value = getattr(plan, name) or ""
        assert len(value) <= MAX_NAME_CHARS and not (set(value) & BAD_CHARS)
    assert len(plan.error_message or "") <= MAX_ERROR_CHARS
    for size in (plan.files_copied, plan.data_copied_bytes, plan.total_data_bytes):
        assert size is None or 0 <= size < 2**63
    for when in (plan.last_start, plan.next_start):
        assert when is None or (when.tzinfo is not None and 1970 <= when.year < 2200)


@given(st.text(alphabet=string.printable + "\u202e\u2028\x00\x1b", max_size=400))
def test_clean_text_is_one_bounded_line(text: str) -> None:
    cleaned = clean_text(text)
    assert len(cleaned) <= MAX_NAME_CHARS and not (set(cleaned) & BAD_CHARS)
    assert cleaned == cleaned.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, ("Success", 0)),
        (2, ("Error", 2)),
        (6, ("UnexpectedlyClosed", 6)),
        ("1", ("Overdue", 1)),
        ("interrupted", ("Interrupted", 5)),
        (7, ("Unknown", None)),
        (-1, ("Unknown", None)),
        (True, ("Unknown", None)),
        (None, ("Unknown", None)),
        ("Exploded", ("Unknown", None)),
    ],
)
def test_status_codes_are_msp360s_documented_ones(raw: Any, expected: tuple[str, int]) -> None:
    assert plan_status(raw) == expected


def test_a_documented_row_reads_as_utc_with_its_sizes() -> None:
    plan = monitored_plan(
        {
            "PlanName": "Daily",
            "CompanyName": "Acme",
            "ComputerName": "SRV01",
            "UserID": "4f7c9d2e-0000-4000-8000-000000000001",
            "Status": 2,
            "LastStart": "2018-05-11T14:50:57",
            "NextStart": "0001-01-01T00:00:00",
            "ErrorMessage": "Access denied",
            "FilesCopied": "12",
            "DataCopied": 1024,
            "Duration": "15 second(s)",
        }
    )
    assert plan is not None
    assert plan.status == "Error" and plan.error_message == "Access denied"
    assert plan.last_start == datetime(2018, 5, 11, 14, 50, 57, tzinfo=UTC)
    assert plan.next_start is None  # MSP360's "never"
    assert (plan.files_copied, plan.data_copied_bytes) == (12, 1024)


@pytest.mark.parametrize(
    ("given_url", "root"),
    [
        (None, "https://api.mspbackups.com"),
        ("https://api.mspbackups.com/api/", "https://api.mspbackups.com"),
        ("https://api.mspbackups.com", "https://api.mspbackups.com"),
    ],
)
def test_the_api_root_takes_the_url_with_or_without_api(given_url: str | None, root: str) -> None:
    assert api_root(given_url) == root


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with running_fakes() as running:
        yield running


class Tokens:
    """A token source that logs in through the adapter, as the vault-backed one does."""

    def __init__(self, fakes: Fakes) -> None:
        self.fakes, self.adapter, self.renewals = fakes, None, 0
        self.current: str | None = None

    def token(self) -> str:
        if self.current is None:
            self.current = self._login()
        return self.current

    def renew(self, rejected: str) -> str:
        self.renewals += 1
        self.current = self._login()
        return self.current

    def _login(self) -> str:
        assert self.adapter is not None
        fake = self.fakes.msp360
        return str(self.adapter.login(fake.username, fake.password).access_token)


def adapter_for(fakes: Fakes, calls: list[OutboundCall]) -> tuple[Msp360Adapter, Tokens]:
    tokens = Tokens(fakes)
    adapter = Msp360Adapter(
        api_url=fakes.url, tokens=tokens, audit=calls.append, settings=LOCAL_TRANSPORT
    )
    tokens.adapter = adapter  # type: ignore[assignment]
    return adapter, tokens


def test_monitoring_signs_in_once_and_reads_every_plan(fakes: Fakes) -> None:
    fakes.msp360.plan(
        company="Acme",
        computer="SRV01",
        plan="Daily",
        status="Overdue",
        last_start="2026-12-01T01:00:00",
    )
    calls: list[OutboundCall] = []
    adapter, tokens = adapter_for(fakes, calls)
    plans, skipped = adapter.monitoring()
    assert [(p.plan_name, p.status) for p in plans] == [("Daily", "Overdue")] and skipped == 0
    assert fakes.msp360.logins == 1 and tokens.renewals == 0
    login = next(c for c in calls if c.url.endswith("/api/Provider/Login"))
    assert login.method == "POST" and login.status == 200
    assert adapter.monitoring()[0] and fakes.msp360.logins == 1


def test_an_expired_token_is_renewed_once_and_the_call_repeated(fakes: Fakes) -> None:
    calls: list[OutboundCall] = []
    adapter, tokens = adapter_for(fakes, calls)
    adapter.monitoring()
    fakes.msp360.expire_tokens()
    adapter.monitoring()
    assert tokens.renewals == 1 and fakes.msp360.logins == 2
    assert [c.status for c in calls if "Monitoring" in c.url] == [200, 401, 200]


def test_a_refusal_after_the_renewal_stops_there(fakes: Fakes) -> None:
    adapter, tokens = adapter_for(fakes, [])
    fakes.msp360.mode = "always_401"
    with pytest.raises(PsaAuthFailed):
        adapter.monitoring()
    assert tokens.renewals == 1 and fakes.msp360.logins == 2


def test_a_wrong_login_is_refused_without_retrying(fakes: Fakes) -> None:
    adapter, _ = adapter_for(fakes, [])
    with pytest.raises(PsaAuthFailed):
        adapter.login(fakes.msp360.username, "wrong")


@pytest.mark.parametrize("mode", ["garbled", "not_a_list"])
def test_an_answer_that_is_not_a_list_is_unreadable(fakes: Fakes, mode: str) -> None:
    adapter, _ = adapter_for(fakes, [])
    fakes.msp360.mode = mode
    with pytest.raises(Msp360Unreadable):
        adapter.monitoring()


def test_the_password_goes_only_to_msp360s_own_host() -> None:
    adapter = Msp360Adapter(
        api_url="https://api.mspbackups.com.evil.example",
        tokens=None,
        audit=lambda c: None,
        settings=TransportSettings(),
    )
    with pytest.raises(PsaEndpointRefused):
        adapter.login("user", "secret-password")


def test_a_huge_list_is_cut_and_counted(fakes: Fakes) -> None:
    fakes.msp360.plan(
        company="Acme",
        computer="SRV01",
        plan="Daily",
        status="Success",
        last_start="2026-12-01T01:00:00",
    )
    fakes.msp360.mode = "huge"
    adapter, _ = adapter_for(fakes, [])
    plans, skipped = adapter.monitoring()
    assert len(plans) == 2 and skipped == 30_003  # all but the two plans, read or not
    assert all(len(p.plan_name) <= MAX_NAME_CHARS for p in plans)
    assert len(json.dumps([p.error_message for p in plans])) < 10_000


def test_companies_users_and_one_users_monitoring(fakes: Fakes) -> None:
    fakes.msp360.companies = [{"Id": "c-1", "Name": "Acme\r\nDental", "StorageLimit": 0}]
    fakes.msp360.users = [
        {"ID": "u-1", "Email": "backup@acme.example", "Company": "Acme", "Enabled": True}
    ]
    for user in ("4f7c9d2e-0000-4000-8000-000000000001", "4f7c9d2e-0000-4000-8000-000000000002"):
        fakes.msp360.plan(
            company="Acme",
            computer="SRV01",
            plan=f"Daily {user[-1]}",
            status="Success",
            last_start="2026-12-01T01:00:00",
            user_id=user,
        )
    adapter, _ = adapter_for(fakes, [])
    assert adapter.companies() == [{"id": "c-1", "name": "Acme Dental"}]
    assert adapter.users() == [{"id": "u-1", "email": "backup@acme.example", "company": "Acme"}]
    plans, _ = adapter.monitoring("4f7c9d2e-0000-4000-8000-000000000002")
    assert [p.plan_name for p in plans] == ["Daily 2"]


def test_a_user_id_that_is_not_an_id_never_reaches_the_path(fakes: Fakes) -> None:
    adapter, _ = adapter_for(fakes, [])
    with pytest.raises(PsaConfigurationError):
        adapter.monitoring("../Companies")
