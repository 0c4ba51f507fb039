"""URLs and query strings lose their secrets and keep the rest."""

from __future__ import annotations

import pytest

from shared.redaction import redact_query, redact_url


@pytest.mark.parametrize(
    ("query", "secret"),
    [
        ("token=abc123&page=2", "abc123"),
        ("api_key=k-9&page=2", "k-9"),
        ("page=2&Password=pw1", "pw1"),
    ],
)
def test_a_query_string_keeps_paging_but_loses_secrets(query: str, secret: str) -> None:
    clean = redact_query(query)
    assert "page=2" in clean and secret not in clean


def test_a_url_password_is_masked() -> None:
    assert "hunter2" not in redact_url("https://bob:hunter2@psa.example/api?x=1")
