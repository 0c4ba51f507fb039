"""The data-key cache in front of a remote keyring: fewer unwraps, bounded, expiring."""

from __future__ import annotations

import os

import pytest

from shared.crypto import CachingKeyring, DecryptionFailed, LocalKeyring

CONTEXT = {"credential_id": "cred-a", "credential_version": "1"}


class CountingKeyring(LocalKeyring):
    """A local keyring that counts how often it is asked to unwrap (stands in for KMS)."""

    unwraps = 0

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytearray:  # type: ignore[override]
        self.unwraps += 1
        return super().unwrap(wrapped, context)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def _setup(ttl: float = 60, max_entries: int = 8) -> tuple[CountingKeyring, CachingKeyring, Clock]:
    inner = CountingKeyring({"k1": os.urandom(32)}, "k1")
    clock = Clock()
    return inner, CachingKeyring(inner, ttl=ttl, max_entries=max_entries, clock=clock), clock


def test_a_repeated_unwrap_is_served_from_the_cache() -> None:
    inner, cache, _ = _setup()
    data_key = cache.generate_data_key(CONTEXT)
    first = cache.unwrap(data_key.wrapped, CONTEXT)
    second = cache.unwrap(data_key.wrapped, CONTEXT)
    assert first == second == data_key.plaintext
    assert inner.unwraps == 1
    second[:] = bytes(32)  # a caller wiping its copy does not wipe the cached key
    assert cache.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext


def test_an_entry_expires_after_its_ttl() -> None:
    inner, cache, clock = _setup(ttl=60)
    wrapped = cache.generate_data_key(CONTEXT).wrapped
    cache.unwrap(wrapped, CONTEXT)
    clock.now += 61
    cache.unwrap(wrapped, CONTEXT)
    assert inner.unwraps == 2


def test_the_cache_holds_at_most_max_entries() -> None:
    inner, cache, _ = _setup(max_entries=2)
    keys = [cache.generate_data_key(CONTEXT).wrapped for _ in range(3)]
    for wrapped in keys:
        cache.unwrap(wrapped, CONTEXT)
    cache.unwrap(keys[0], CONTEXT)  # evicted as the oldest
    assert inner.unwraps == 4


def test_another_context_is_not_a_hit_and_failures_are_not_cached() -> None:
    inner, cache, _ = _setup()
    wrapped = cache.generate_data_key(CONTEXT).wrapped
    cache.unwrap(wrapped, CONTEXT)
    for _ in range(2):
        with pytest.raises(DecryptionFailed):
            cache.unwrap(wrapped, {**CONTEXT, "credential_version": "2"})
    assert inner.unwraps == 3
