"""Local keyring: KEKs from an environment variable or a key file (followed while running)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto.envelope import DEK_BYTES, NONCE_BYTES, DecryptionFailed
from shared.crypto.keyring import (
    ALG_LOCAL_AES_256_GCM,
    DataKey,
    KeyringError,
    canonical_context,
    pack_wrap_header,
    unpack_wrap_header,
    wrapped_kek_id,
)

log = logging.getLogger(__name__)
KEK_BYTES = 32
# How stale a worker's view of its key file may be for new writes (reads never wait for it).
KEY_FILE_CHECK_SECONDS = 1.0
# What identifies one version of a file's bytes: device, inode, size, mtime in nanoseconds.
FileStamp = tuple[int, int, int, int]


class LocalKeyring:
    """KEK versions held in process memory; the newest (or the named one) wraps new data keys."""

    def __init__(self, keys: Mapping[str, bytes], active: str, *, source: str = "memory") -> None:
        if not keys:
            raise KeyringError("the keyring holds no keys")
        if active not in keys:
            raise KeyringError(f"active key id {active!r} is not in the keyring")
        for kek_id, key in keys.items():
            pack_wrap_header(ALG_LOCAL_AES_256_GCM, kek_id)  # validates the id
            if len(key) != KEK_BYTES:
                raise KeyringError(f"key {kek_id!r} must be {KEK_BYTES} bytes")
        self._keys = dict(keys)
        self._active = active
        self.source = source

    @property
    def active_kek_id(self) -> str:
        return self._active

    def kek_ids(self) -> list[str]:
        return list(self._keys)

    def holds(self, kek_id: str) -> bool:
        return kek_id in self._keys

    def _wrap(self, dek: bytes | bytearray, context: Mapping[str, str], kek_id: str) -> bytes:
        header = pack_wrap_header(ALG_LOCAL_AES_256_GCM, kek_id)
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(self._keys[kek_id]).encrypt(
            nonce, bytes(dek), header + canonical_context(context)
        )
        return header + nonce + body

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        dek = bytearray(os.urandom(DEK_BYTES))
        return DataKey(dek, self._wrap(dek, context, self._active), self._active)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray:
        kek_id, header, rest = unpack_wrap_header(wrapped, ALG_LOCAL_AES_256_GCM)
        key = self._keys.get(kek_id)
        if key is None or len(rest) < NONCE_BYTES:
            raise DecryptionFailed()
        try:
            plain = AESGCM(key).decrypt(
                rest[:NONCE_BYTES], rest[NONCE_BYTES:], header + canonical_context(context)
            )
        except InvalidTag:
            raise DecryptionFailed() from None
        return bytearray(plain)

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]:
        dek = self.unwrap(wrapped, context)
        try:
            return self._wrap(dek, context, self._active), self._active
        finally:
            dek[:] = bytes(len(dek))

    def to_document(self) -> dict[str, object]:
        """The keyring as a key-file document (for `keys add` on a file keyring)."""
        keys = {k: base64.b64encode(v).decode() for k, v in self._keys.items()}
        return {"active": self._active, "keys": keys}

    def with_new_key(self) -> LocalKeyring:
        """A copy with one more KEK version, made active (used by key rotation)."""
        numbers = [int(k.rsplit("-", 1)[-1]) for k in self._keys if k.rsplit("-", 1)[-1].isdigit()]
        new_id = f"local-{max(numbers, default=0) + 1}"
        keys = {**self._keys, new_id: secrets.token_bytes(KEK_BYTES)}
        return LocalKeyring(keys, new_id, source=self.source)

    def without_key(self, kek_id: str) -> LocalKeyring:
        """A copy without one (non-active) KEK version."""
        if kek_id == self._active:
            raise KeyringError("the active key cannot be retired")
        keys = {k: v for k, v in self._keys.items() if k != kek_id}
        return LocalKeyring(keys, self._active, source=self.source)


def parse_key_list(text: str) -> tuple[dict[str, bytes], str]:
    """Parse "id=base64key,id2=base64key" (last one active unless "active:" prefix is used)."""
    keys: dict[str, bytes] = {}
    active = ""
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, encoded = item.partition("=")
        if not sep:
            raise KeyringError("each key must be written as id=base64")
        if kek_id.startswith("active:"):
            kek_id = kek_id.removeprefix("active:")
            active = kek_id
        keys[kek_id] = _decode_key(kek_id, encoded)
    if not keys:
        raise KeyringError("no keys given")
    return keys, active or list(keys)[-1]


def _decode_key(kek_id: str, encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise KeyringError(f"key {kek_id!r} is not valid base64") from None


def load_key_file(path: Path) -> LocalKeyring:
    """Read a JSON key file {"active": id, "keys": {id: base64}}."""
    return _read_key_file(path)[0]


def _read_key_file(path: Path) -> tuple[LocalKeyring, FileStamp]:
    """The file's keyring and the stamp of exactly the bytes read (one open file for both)."""
    try:
        with path.open("rb") as handle:
            stamp = _stamp(os.fstat(handle.fileno()))
            text = handle.read()
        doc = json.loads(text)
        keys = {k: _decode_key(k, v) for k, v in doc["keys"].items()}
        return LocalKeyring(keys, doc["active"], source=str(path)), stamp
    except KeyringError as exc:
        raise KeyringError(f"cannot read key file {path}: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyringError(f"cannot read key file {path}: {type(exc).__name__}") from None


def _stamp(status: os.stat_result) -> FileStamp:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _stamp_of(path: Path) -> FileStamp | None:
    try:
        return _stamp(os.stat(path))
    except OSError:
        return None  # missing for now (e.g. mid-swap of a mounted secret): keep the keys held


def save_key_file(keyring: LocalKeyring, path: Path) -> FileStamp:
    """Write the key file atomically with owner-only permissions; the stamp of what was written.

    A temporary file of its own (two writers never share one), synced before the rename, so
    the name always points at a whole file; the rename keeps the inode, so the stamp taken
    from the temporary file is the stamp of the file under its final name.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(keyring.to_document(), handle)
            handle.flush()
            os.fsync(handle.fileno())
            stamp = _stamp(os.fstat(handle.fileno()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return stamp


@contextlib.contextmanager
def _key_file_edit(path: Path) -> Iterator[None]:
    """Hold the key file's edit lock: `keys add` in two processes at once must not both
    write local-3, each with its own bytes, one of them lost with what it wrapped."""
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class FileKeyring:
    """The keyring of a key file, following the file while the process runs.

    Why: `keys add` and retire run in another process (the CLI, another worker). Every
    gunicorn worker must then wrap new data keys with the new active version and unwrap keys
    wrapped by it, without a restart. Cheap on the reveal path: a known key version costs no
    system call; every new data key stats the file first (a write must never use a version
    retired elsewhere); an unknown key version stats it at once; `active_kek_id` looks at most
    once per `check_interval`. A file that changed but does not load (half written, hand-edited
    wrongly, gone) never replaces the keys held: they stay, with one warning per bad version.
    """

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = KEY_FILE_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.source = str(path)
        self._interval, self._clock = check_interval, clock
        self._lock = threading.Lock()
        self._keyring, stamp = _read_key_file(path)  # a bad file at start stops start-up
        self._seen: FileStamp | None = stamp  # the file version last looked at (None: missing)
        self._checked_at = clock()

    @property
    def active_kek_id(self) -> str:
        return self._current().active_kek_id

    def kek_ids(self) -> list[str]:
        return self._current().kek_ids()

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        # Always looked at (one stat): a key wrapped with a version retired a moment ago in
        # another process would be lost; writes are rare next to reveals.
        self._reload_if_changed()
        return self._keyring.generate_data_key(context)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray:
        return self._holding(wrapped_kek_id(wrapped)).unwrap(wrapped, context)

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]:
        return self._holding(wrapped_kek_id(wrapped)).rewrap(wrapped, context)

    def add_key(self) -> str:
        """Write a new active KEK version into the file; returns its id."""
        return self._edit(LocalKeyring.with_new_key).active_kek_id

    def retire_key(self, kek_id: str) -> None:
        """Remove one (non-active) KEK version from the file."""
        self._edit(lambda keyring: keyring.without_key(kek_id))

    def _edit(self, change: Callable[[LocalKeyring], LocalKeyring]) -> LocalKeyring:
        """Change the file under its edit lock, starting from the file, not from memory: a
        version another process added must survive."""
        with self._lock, _key_file_edit(self.path):
            keyring = change(load_key_file(self.path))
            self._seen = save_key_file(keyring, self.path)
            self._keyring = keyring
            return keyring

    def _current(self) -> LocalKeyring:
        if self._clock() - self._checked_at >= self._interval:
            self._reload_if_changed()
        return self._keyring

    def _holding(self, kek_id: str) -> LocalKeyring:
        """The keyring, re-read first when it lacks kek_id (a version added since the last look)."""
        keyring = self._current()
        if keyring.holds(kek_id):
            return keyring
        self._reload_if_changed()
        return self._keyring

    def _reload_if_changed(self) -> None:
        with self._lock:
            self._checked_at = self._clock()
            stamp = _stamp_of(self.path)
            if stamp == self._seen:
                return
            self._seen = stamp  # a bad version is reported once and re-read only when it changes
            try:
                keyring, self._seen = _read_key_file(self.path)
            except KeyringError as exc:  # the message names the file and the error, never a key
                log.warning("key file changed but was not loaded; keeping the keys held: %s", exc)
                return
            self._keyring = keyring  # one reference swap: readers see the old or the new ring
            log.info("key file %s reloaded; active key %s", self.path, keyring.active_kek_id)


def generated_default_keyring(path: Path) -> FileKeyring:
    """Embedded default: reuse or create a key file, and say loudly it is not for production."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEK_BYTES)
        save_key_file(LocalKeyring({"local-1": key}, "local-1", source=str(path)), path)
    log.warning(
        "VAULT KEYRING IS THE EMBEDDED DEFAULT: a generated key in %s protects every credential. "
        "Do not use this in production; set VAULT_KEYS, VAULT_KEYS_FILE or VAULT_KMS_KEYS.",
        path,
    )
    return FileKeyring(path)
