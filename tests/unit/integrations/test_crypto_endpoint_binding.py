"""Endpoint URLs in the AAD: a sealed field opens only beside the URLs it was sealed with."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.crypto import (
    DecryptionFailed,
    FieldContext,
    envelope,
    envelope_format,
    open_sealed,
    seal,
)

DEK = os.urandom(32)
SECRET = "syncro-api-key-Zq81"
URLS = st.one_of(st.none(), st.text(max_size=40))


def _context(api_url: str | None, token_url: str | None = None) -> FieldContext:
    return FieldContext("cred-a", "api_key", 3, (("api_url", api_url), ("token_url", token_url)))


@given(sealed_with=st.tuples(URLS, URLS), opened_with=st.tuples(URLS, URLS))
def test_a_field_opens_only_with_the_urls_it_was_sealed_with(
    sealed_with: tuple[str | None, str | None], opened_with: tuple[str | None, str | None]
) -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=_context(*sealed_with))
    if opened_with == sealed_with:
        assert open_sealed(dek=DEK, blob=blob, context=_context(*opened_with)) == SECRET
    else:
        with pytest.raises(DecryptionFailed):
            open_sealed(dek=DEK, blob=blob, context=_context(*opened_with))


@given(url=st.text(max_size=30))
def test_a_url_moved_from_one_endpoint_field_to_the_other_does_not_open(url: str) -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=_context(url, None))
    with pytest.raises(DecryptionFailed):
        open_sealed(dek=DEK, blob=blob, context=_context(None, url))


def test_an_unset_url_is_not_an_empty_one() -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=_context(None))
    with pytest.raises(DecryptionFailed):
        open_sealed(dek=DEK, blob=blob, context=_context(""))


def test_new_envelopes_are_format_2_and_cannot_be_relabelled_format_1() -> None:
    blob = bytearray(seal(dek=DEK, plaintext=SECRET, context=_context("https://a.syncromsp.com")))
    assert envelope_format(bytes(blob)) == 2
    blob[4] = envelope.LEGACY_FORMAT_VERSION  # claim the old format, which binds no URL
    with pytest.raises(DecryptionFailed):
        open_sealed(dek=DEK, blob=bytes(blob), context=_context("https://evil.example"))


def test_a_format_1_envelope_still_opens_whatever_the_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows sealed before the upgrade stay readable until their next write or rewrap."""
    monkeypatch.setattr(envelope, "FORMAT_VERSION", envelope.LEGACY_FORMAT_VERSION)
    blob = seal(dek=DEK, plaintext=SECRET, context=_context("https://a.syncromsp.com"))
    monkeypatch.undo()
    assert envelope_format(blob) == 1
    assert open_sealed(dek=DEK, blob=blob, context=_context("https://b.example")) == SECRET
