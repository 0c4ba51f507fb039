"""Payload redaction rules: secret names in any spelling, values by shape, known secrets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.redaction import REDACTED, is_secret_key, looks_random, redact_json, redact_url

SECRET_NAMES = (
    "pass",
    "passwd",
    "pwd",
    "password",
    "signing_key",
    "private_key",
    "client_secret",
    "shared_secret",
    "sas",
    "api_key",
    "access_token",
    "refresh_token",
    "integration_code",
)


def _spell(words: list[str], style: str) -> str:
    camel = words[0] + "".join(w.capitalize() for w in words[1:])
    return {
        "snake": "_".join(words),
        "upper": "_".join(words).upper(),
        "kebab": "-".join(words),
        "title-kebab": "-".join(w.capitalize() for w in words),
        "camel": camel,
        "pascal": camel[0].upper() + camel[1:],
        "joined": "".join(words),
        "spaced": " ".join(words),
    }[style]


@given(
    name=st.sampled_from(SECRET_NAMES),
    style=st.sampled_from(
        ["snake", "upper", "kebab", "title-kebab", "camel", "pascal", "joined", "spaced"]
    ),
    prefix=st.sampled_from(["", "x_", "db_", "X-", "autotask_"]),
)
def test_a_secret_name_in_any_spelling_and_with_any_prefix_is_a_secret(
    name: str, style: str, prefix: str
) -> None:
    key = prefix + _spell(name.split("_"), style)
    assert is_secret_key(key), key
    assert redact_json({key: "value-1"}) == {key: REDACTED}


@pytest.mark.parametrize(
    "key",
    [
        "bypass",
        "compass",
        "passport_number",
        "token_type",
        "expires_in",
        "secret_name",
        "ticket_id",
        "Guid",
        "status",
        "subject",
        "postal_code",
        "idempotency_key_hint",
        "keyboard",
    ],
)
def test_ordinary_names_are_not_secrets(key: str) -> None:
    assert not is_secret_key(key)
    assert redact_json({key: "T20261125.0001"}) == {key: "T20261125.0001"}


def test_a_random_value_under_a_plain_key_is_masked_and_a_word_is_not() -> None:
    assert redact_json({"key": "9fQ2xA7Lm0PpRt6VzW3"}) == {"key": REDACTED}
    assert redact_json({"key": "ticket-priority"}) == {"key": "ticket-priority"}
    assert redact_json({"postal_code": "90210"}) == {"postal_code": "90210"}


@pytest.mark.parametrize(
    "value",
    ["aaaaaaaaaaaaaaaaaaaaaa", "printer-on-floor-three", "1234567890123456", "T20261125.0001"],
)
def test_words_numbers_and_ticket_numbers_do_not_look_random(value: str) -> None:
    assert not looks_random(value)


def test_a_name_value_pair_naming_a_secret_masks_the_value_only() -> None:
    headers = [{"name": "X-Signing-Key", "value": "v1"}, {"name": "Accept", "value": "json"}]
    assert redact_json(headers) == [
        {"name": "X-Signing-Key", "value": REDACTED},
        {"name": "Accept", "value": "json"},
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Bearer abcdefgh12345678",
        "use AKIAABCDEFGHIJKLMNOP here",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "https://svc:hunter2pass@psa.example/x",
        "the signing key is 9fQ2xA7Lm0PpRt6V",
    ],
)
def test_secret_shaped_values_are_masked_under_any_key(text: str) -> None:
    stored = str(redact_json({"note": text}))
    for secret in ("abcdefgh12345678", "AKIAABCDEFGHIJKLMNOP", "c2lnbmF0dXJl", "hunter2pass"):
        assert secret not in stored
    assert "9fQ2xA7Lm0PpRt6V" not in stored


def test_a_known_secret_is_masked_anywhere_also_url_encoded_and_in_names() -> None:
    secret = "s3cr+t/value"
    payload = {
        "echo": f"called with {secret}",
        f"by-{secret}": 1,
        "url": "https://h.example/x?q=s3cr%2Bt%2Fvalue",
        "n": [secret],
    }
    assert secret not in str(redact_json(payload, known=[secret]))
    assert "s3cr%2Bt%2Fvalue" not in str(redact_json(payload, known=[secret]))
    assert "s3cr" not in redact_url("https://h.example/a?q=s3cr%2Bt%2Fvalue", known=[secret])


def test_a_known_secret_shorter_than_four_characters_masks_nothing() -> None:
    assert redact_json({"note": "abc abc"}, known=["abc"]) == {"note": "abc abc"}
