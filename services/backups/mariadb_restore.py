"""Restoring a backup into a MariaDB database: artifact checked, loaded aside, then swapped in.

Nothing of the target is touched until the artifact's bytes are proven to be the recorded
ones and have loaded completely into a scratch database; a failure at any step before the
swap leaves the target as it was, and the scratch databases are dropped whatever happens.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import pymysql

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.mariadb_client import ClientFailed, MariaDBTarget
from services.backups.adapters.mariadb_swap import list_objects, swap_in
from services.backups.adapters.storage import Storage, StorageError
from services.backups.database_names import check_database_name
from services.backups.dump.pipeline import PipelineError
from services.backups.dump.progress import ProgressCallback
from services.backups.verification.checks import LoadResult, load_into, scratch_name

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """A stored backup and what its bytes must be (from its backup_log row)."""

    storage: Storage
    location: str
    codec: str
    sha256: str | None
    size_bytes: int | None
    raw_bytes: int | None = None


def check_artifact(artifact: Artifact) -> None:
    """The stored bytes have the recorded SHA-256 and size, or PipelineError naming the mismatch."""
    sha, size = hashlib.sha256(), 0
    try:
        for chunk in artifact.storage.read(artifact.location):
            sha.update(chunk)
            size += len(chunk)
    except StorageError as exc:
        raise PipelineError("restore", f"cannot read the artifact: {exc}") from exc
    problems = []
    if artifact.sha256 is None or sha.hexdigest() != artifact.sha256:
        problems.append("its SHA-256 differs from the recorded checksum")
    if size != artifact.size_bytes:
        problems.append(f"it is {size} bytes, {artifact.size_bytes} recorded")
    if problems:
        raise PipelineError(
            "restore",
            "the artifact is not the one recorded, nothing was changed: " + "; ".join(problems),
        )


def restore_to_database(
    *,
    server: MariaDBTarget,
    artifact: Artifact,
    target_database: str,
    restore_id: str,
    replace: bool = False,
    progress: ProgressCallback | None = None,
) -> float:
    """Load a checked artifact into a scratch database, then swap it in as `target_database`.

    The caller has run check_artifact; the load hashes the bytes again, so a file changed in
    between is not swapped in. An existing target is refused unless `replace`.
    """
    check_database_name(target_database)
    try:
        existed = inventory.database_exists(server, target_database)
    except pymysql.MySQLError as exc:
        raise PipelineError("restore", f"cannot reach the server: {exc.args[-1]}") from exc
    if existed and not replace:
        raise FileExistsError(target_database)
    scratch = scratch_name(restore_id)
    holding = f"{scratch}_old"  # the target's old tables, until the swap is complete
    try:
        inventory.create_database(server, scratch)
        loaded = load_into(
            target=server.with_database(scratch),
            storage=artifact.storage,
            location=artifact.location,
            codec=artifact.codec,
            progress=progress,
            expected_raw_bytes=artifact.raw_bytes,
        )
        _check_loaded(server, scratch, loaded, artifact)
        _swap(server, scratch=scratch, target=target_database, holding=holding, existed=existed)
    except pymysql.MySQLError as exc:
        raise PipelineError("restore", f"the server refused: {exc.args[-1]}") from exc
    except ClientFailed as exc:
        raise PipelineError("restore", str(exc)) from exc
    finally:
        _drop_scratch(server, scratch, holding)
    return loaded.seconds


def _check_loaded(
    server: MariaDBTarget, scratch: str, loaded: LoadResult, artifact: Artifact
) -> None:
    if (loaded.sha256, loaded.stored_bytes) != (artifact.sha256, artifact.size_bytes):
        raise PipelineError(
            "restore", "the artifact changed while it was loaded; nothing was changed"
        )
    with inventory.connect(server) as conn, conn.cursor() as cur:
        tables = len(list_objects(cur, "tables", scratch))
    if tables != loaded.tables:
        raise PipelineError(
            "restore",
            f"{tables} tables loaded, the artifact holds {loaded.tables}; no change",
        )


def _swap(server: MariaDBTarget, *, scratch: str, target: str, holding: str, existed: bool) -> None:
    if not existed:
        inventory.create_database(server, target)
    inventory.create_database(server, holding)
    try:
        swap_in(server, loaded=scratch, target=target, holding=holding)
    except BaseException:
        if not existed:  # it was made for this restore: a failed one leaves nothing
            inventory.drop_database(server, target)
        raise


def _drop_scratch(server: MariaDBTarget, *names: str) -> None:
    for name in names:
        try:
            inventory.drop_database(server, name)
        except pymysql.MySQLError as exc:
            # The restore's own result stands; the name says what an operator may drop.
            _log.error("could not drop scratch database %s: %s", name, exc.args[-1])
