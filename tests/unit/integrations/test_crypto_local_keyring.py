"""Local keyring: wrapping data keys, rotation by rewrap, key lists and key files."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest

from shared.crypto import (
    DecryptionFailed,
    KeyringError,
    LocalKeyring,
    generated_default_keyring,
    load_key_file,
    parse_key_list,
    save_key_file,
    wrapped_kek_id,
)

CONTEXT = {"credential_id": "cred-a", "credential_version": "1"}


def _keyring() -> LocalKeyring:
    return LocalKeyring({"local-1": os.urandom(32), "local-2": os.urandom(32)}, "local-2")


def test_a_data_key_unwraps_to_the_same_bytes_under_its_context() -> None:
    keyring = _keyring()
    data_key = keyring.generate_data_key(CONTEXT)
    assert data_key.kek_id == "local-2"
    assert keyring.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext
    assert bytes(data_key.plaintext) not in data_key.wrapped


@pytest.mark.parametrize(
    "context",
    [
        {"credential_id": "cred-b", "credential_version": "1"},
        {"credential_id": "cred-a", "credential_version": "2"},
        {"credential_id": "cred-a"},
    ],
    ids=["other-row", "other-version", "missing-key"],
)
def test_unwrapping_under_another_context_fails(context: dict[str, str]) -> None:
    keyring = _keyring()
    with pytest.raises(DecryptionFailed):
        keyring.unwrap(keyring.generate_data_key(CONTEXT).wrapped, context)


@pytest.mark.parametrize("index", [0, 5, 8, -1, -20], ids=lambda i: f"byte{i}")
def test_a_tampered_wrapped_key_fails(index: int) -> None:
    keyring = _keyring()
    wrapped = bytearray(keyring.generate_data_key(CONTEXT).wrapped)
    wrapped[index] ^= 0x01
    with pytest.raises(DecryptionFailed):
        keyring.unwrap(bytes(wrapped), CONTEXT)


def test_a_rewrap_moves_the_data_key_to_the_active_key_without_changing_it() -> None:
    old = LocalKeyring({"local-1": os.urandom(32)}, "local-1")
    data_key = old.generate_data_key(CONTEXT)
    rotated = old.with_new_key()
    wrapped, kek_id = rotated.rewrap(data_key.wrapped, CONTEXT)
    assert (kek_id, wrapped_kek_id(wrapped)) == ("local-2", "local-2")
    assert rotated.unwrap(wrapped, CONTEXT) == data_key.plaintext
    assert rotated.without_key("local-1").unwrap(wrapped, CONTEXT) == data_key.plaintext


def test_a_key_removed_from_the_ring_can_no_longer_unwrap() -> None:
    keyring = LocalKeyring({"local-1": os.urandom(32)}, "local-1").with_new_key()
    wrapped = keyring.generate_data_key(CONTEXT).wrapped
    keyring = LocalKeyring(keyring._keys, "local-1")
    with pytest.raises(DecryptionFailed):
        keyring.without_key("local-2").unwrap(wrapped, CONTEXT)


def test_the_active_key_cannot_be_removed() -> None:
    with pytest.raises(KeyringError):
        _keyring().without_key("local-2")


def _b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_key_list_makes_the_last_key_active_unless_one_is_marked() -> None:
    keys, active = parse_key_list(f"k1={_b64()}, k2={_b64()}")
    assert (sorted(keys), active) == (["k1", "k2"], "k2")
    _, active = parse_key_list(f"active:k1={_b64()},k2={_b64()}")
    assert active == "k1"


@pytest.mark.parametrize(
    "text",
    ["", "k1", "k1=not-base64!!", f"k1={base64.b64encode(b'short').decode()}"],
    ids=["empty", "no-equals", "bad-base64", "short-key"],
)
def test_a_bad_key_list_is_refused_without_echoing_key_material(text: str) -> None:
    with pytest.raises(KeyringError) as info:
        keys, active = parse_key_list(text)
        LocalKeyring(keys, active)
    assert "not-base64" not in str(info.value)


def test_a_key_file_round_trips_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keyring = _keyring()
    save_key_file(keyring, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key_file(path)
    wrapped = keyring.generate_data_key(CONTEXT)
    assert loaded.unwrap(wrapped.wrapped, CONTEXT) == wrapped.plaintext


def test_an_unreadable_key_file_names_the_file_but_no_content(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"active": "x", "keys": {"x": "c2VjcmV0LXNlY3JldA"}}')
    with pytest.raises(KeyringError) as info:
        load_key_file(path)
    assert str(path) in str(info.value)
    assert "c2VjcmV0" not in str(info.value)


def test_the_embedded_default_generates_a_key_once_and_warns_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dev" / "vault-keys.json"
    with caplog.at_level(logging.WARNING):
        first = generated_default_keyring(path)
        second = generated_default_keyring(path)
    assert path.exists()
    data_key = first.generate_data_key(CONTEXT)
    assert second.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "EMBEDDED DEFAULT" in warnings[0].getMessage()


def test_a_data_key_never_shows_its_plaintext_in_repr() -> None:
    data_key = _keyring().generate_data_key(CONTEXT)
    assert repr(bytes(data_key.plaintext)) not in repr(data_key)
    assert "plaintext" not in repr(data_key)
