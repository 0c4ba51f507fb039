"""Where backup artifacts go: the interface every storage adapter offers, and the local folder."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

READ_CHUNK = 1 << 20


class StorageError(Exception):
    """A storage operation failed; the message is safe to show (no credentials)."""


class StorageFull(StorageError):
    """The target ran out of space (or hit a file size limit)."""


@dataclass(frozen=True)
class StoredArtifact:
    """A committed artifact: where it is and how many bytes it holds."""

    location: str
    size_bytes: int


class ArtifactWriter(Protocol):
    """Receives the compressed stream; commit() makes it visible, abort() leaves nothing behind."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> StoredArtifact: ...

    def abort(self) -> None: ...


class Storage(Protocol):
    """A place artifacts are written to, read back from and deleted from."""

    kind: str

    def preflight(self) -> None: ...

    def open_writer(self, name: str, expected_bytes: int | None = None) -> ArtifactWriter: ...

    def read(self, location: str) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...

    def exists(self, location: str) -> bool: ...


def _raise_for(exc: OSError, action: str) -> None:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        raise StorageFull(f"backup folder is full while {action}: {exc.strerror}") from exc
    raise StorageError(f"backup folder failed while {action}: {exc.strerror}") from exc


class LocalWriter:
    """Writes to a hidden temp name in the target folder; fsync + rename on commit."""

    def __init__(self, folder: Path, name: str) -> None:
        self.final = folder / name
        self.temp = folder / f".{name}.{secrets.token_hex(4)}.partial"
        self._size = 0
        try:
            self._fh = open(self.temp, "xb", buffering=0)  # noqa: SIM115 - closed in commit/abort
        except OSError as exc:
            _raise_for(exc, "creating the artifact")

    def write(self, data: bytes) -> None:
        """Append bytes (all of them, or raise)."""
        try:
            view = memoryview(data)
            while view:
                written = self._fh.write(view)
                view = view[written:]
        except OSError as exc:
            self.abort()
            _raise_for(exc, "writing")
        self._size += len(data)

    def commit(self) -> StoredArtifact:
        """Flush to disk, then atomically give the artifact its final name."""
        try:
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self.temp, self.final)
            dir_fd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            self.abort()
            _raise_for(exc, "committing")
        return StoredArtifact(location=str(self.final), size_bytes=self._size)

    def abort(self) -> None:
        """Close and remove the temp file."""
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()


class LocalStorage:
    """A folder on a local (or mounted) file system."""

    kind = "local"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def preflight(self) -> None:
        """The folder must exist (it is created) and be writable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _raise_for(exc, "creating the folder")
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise StorageError(f"backup folder {self.folder} is not writable")

    def open_writer(self, name: str, expected_bytes: int | None = None) -> LocalWriter:
        """Start a new artifact called `name` in the folder (the size hint is not needed)."""
        return LocalWriter(self.folder, name)

    def read(self, location: str) -> Iterator[bytes]:
        """Stream the artifact's bytes."""
        try:
            with open(self._inside(location), "rb") as fh:
                while chunk := fh.read(READ_CHUNK):
                    yield chunk
        except OSError as exc:
            raise StorageError(f"cannot read artifact: {exc.strerror}") from exc

    def delete(self, location: str) -> None:
        """Remove the artifact (missing is fine)."""
        with contextlib.suppress(FileNotFoundError):
            self._inside(location).unlink()

    def exists(self, location: str) -> bool:
        """True when the artifact is present."""
        return self._inside(location).is_file()

    def _inside(self, location: str) -> Path:
        # Locations come from backup_log rows; refuse anything outside the folder all the same.
        path = Path(location)
        path = path if path.is_absolute() else self.folder / path
        if path.resolve().parent != self.folder.resolve():
            raise StorageError("artifact location is outside the backup folder")
        return path
