"""Where backup artifacts go: the interface every storage adapter offers, and the local folder."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

READ_CHUNK = 1 << 20
# Backups hold a client's whole database: the owner writes, the group (a restore operator) reads,
# nobody else. Set explicitly, so a permissive umask (0022 gives 0644/0755) cannot widen them.
ARTIFACT_MODE = 0o640
FOLDER_MODE = 0o750
# Each artifact's sidecar: what the backup was, so the catalog can be rebuilt from storage.
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_MAX_BYTES = 1 << 20
# The metadata key (x-amz-meta-backup-id on S3) naming the backup an object belongs to.
META_BACKUP_ID = "backup-id"


def manifest_location(location: str) -> str:
    """Where the sidecar manifest of the artifact at `location` lives."""
    return location + MANIFEST_SUFFIX


class StorageError(Exception):
    """A storage operation failed; the message is safe to show (no credentials)."""


class StorageFull(StorageError):
    """The target ran out of space (or hit a file size limit)."""


@dataclass(frozen=True)
class StoredArtifact:
    """A committed artifact: where it is and how many bytes it holds."""

    location: str
    size_bytes: int


@dataclass(frozen=True)
class StoredObject:
    """One object (or file) found in storage: an artifact, a manifest, or something else."""

    location: str
    size_bytes: int
    modified: datetime
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload that was started and neither completed nor aborted."""

    location: str
    upload_id: str
    initiated: datetime


class ArtifactWriter(Protocol):
    """Receives the compressed stream; commit() makes it visible, abort() leaves nothing behind."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> StoredArtifact: ...

    def abort(self) -> None: ...


class Storage(Protocol):
    """A place artifacts are written to, read back from and deleted from."""

    kind: str

    def preflight(self) -> None: ...

    def for_backup(self, backup_id: str) -> Storage: ...

    def open_writer(self, name: str, expected_bytes: int | None = None) -> ArtifactWriter: ...

    def read(self, location: str) -> Iterator[bytes]: ...

    def delete(self, location: str) -> None: ...

    def exists(self, location: str) -> bool: ...

    def size_of(self, location: str) -> int | None: ...

    def metadata_of(self, location: str) -> dict[str, str]: ...

    def write_manifest(self, location: str, body: bytes) -> None: ...

    def read_manifest(self, location: str) -> bytes | None: ...

    def list_objects(self) -> list[StoredObject]: ...

    def pending_uploads(self) -> list[PendingUpload]: ...

    def abort_upload(self, upload: PendingUpload) -> None: ...

    def same_location(self, location: str, recorded: str) -> bool: ...


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
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, ARTIFACT_MODE)
            os.fchmod(fd, ARTIFACT_MODE)  # os.open's mode is masked by the umask
            self._fh = os.fdopen(fd, "wb", buffering=0)
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

    def for_backup(self, backup_id: str) -> LocalStorage:
        """The same folder: a local artifact's identity is in its manifest alone."""
        return self

    def preflight(self) -> None:
        """The folder must exist (it is created 0750, with any missing parent) and be writable."""
        try:
            make_private_folder(self.folder)
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
        """Remove the artifact and its manifest (missing is fine)."""
        path = self._inside(location)
        for each in (path, path.with_name(path.name + MANIFEST_SUFFIX)):
            with contextlib.suppress(FileNotFoundError):
                each.unlink()

    def exists(self, location: str) -> bool:
        """True when the artifact is present."""
        return self._inside(location).is_file()

    def size_of(self, location: str) -> int | None:
        """The artifact's size in bytes, None when it is missing."""
        try:
            return self._inside(location).stat().st_size
        except FileNotFoundError:
            return None

    def metadata_of(self, location: str) -> dict[str, str]:
        """A file has no metadata of its own: its manifest says what it is."""
        return {}

    def write_manifest(self, location: str, body: bytes) -> None:
        """Write (or replace) the artifact's sidecar manifest, 0640 like the artifact."""
        path = self._inside(location)
        writer = LocalWriter(path.parent, path.name + MANIFEST_SUFFIX)
        writer.write(body)
        writer.commit()

    def read_manifest(self, location: str) -> bytes | None:
        """The sidecar manifest's bytes (None when there is none)."""
        path = self._inside(location)
        try:
            with open(path.with_name(path.name + MANIFEST_SUFFIX), "rb") as fh:
                return fh.read(MANIFEST_MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read manifest: {exc.strerror}") from exc

    def list_objects(self) -> list[StoredObject]:
        """The folder's files: artifacts and manifests (not temp files, not sub-folders)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue  # in-flight .partial files are the partial-file sweep's
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            found.append(StoredObject(str(self.folder / path.name), stat.st_size, modified))
        return found

    def pending_uploads(self) -> list[PendingUpload]:
        """A folder has no multipart uploads (its temp files are swept by name)."""
        return []

    def abort_upload(self, upload: PendingUpload) -> None:
        """Nothing to abort in a folder."""

    def same_location(self, location: str, recorded: str) -> bool:
        """Whether a row's file_path names this file (relative and absolute spellings alike)."""
        try:
            return self._inside(location).resolve() == self._inside(recorded).resolve()
        except StorageError:
            return False

    def _inside(self, location: str) -> Path:
        # Locations come from backup_log rows; refuse anything outside the folder all the same.
        path = Path(location)
        path = path if path.is_absolute() else self.folder / path
        if path.resolve().parent != self.folder.resolve():
            raise StorageError("artifact location is outside the backup folder")
        return path


def make_private_folder(folder: Path) -> None:
    """Create `folder` and its missing parents as 0750, whatever the umask says."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another job created it meanwhile
            path.mkdir(mode=FOLDER_MODE)
            os.chmod(path, FOLDER_MODE)
