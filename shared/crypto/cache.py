"""A bounded, short-lived cache of unwrapped data keys in front of a remote keyring (KMS)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from shared.crypto.keyring import DataKey, Keyring, RemoteKeyring, canonical_context


class CachingKeyring:
    """Asks the inner keyring once per (wrapped key, context) per `ttl` seconds.

    Why: every reveal unwraps its credential's data key; against KMS that is a network call
    and a share of a per-account quota. The cache holds at most `max_entries` plaintext keys
    for at most `ttl` seconds in this process (a trade-off: the keys sit in memory that long).
    """

    def __init__(
        self,
        inner: Keyring,
        *,
        ttl: float = 300.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._ttl, self._max, self._clock = ttl, max_entries, clock
        self._entries: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.source = getattr(inner, "source", "cache")

    @property
    def active_kek_id(self) -> str:
        return self.inner.active_kek_id

    def kek_ids(self) -> list[str]:
        return self.inner.kek_ids()

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        return self.inner.generate_data_key(context)

    def reconnect(self) -> None:
        """Give the inner keyring a new client (after a fork); cached keys stay valid."""
        if isinstance(self.inner, RemoteKeyring):
            self.inner.reconnect()

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]:
        return self.inner.rewrap(wrapped, context)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray:
        key = hashlib.sha256(canonical_context(context) + b"|" + wrapped).digest()
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return bytearray(hit[1])
        plain = self.inner.unwrap(wrapped, context)  # failures are never cached
        with self._lock:
            self._entries[key] = (now + self._ttl, bytes(plain))
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return plain
