"""A manifest in storage is data anyone with write access to the bucket or folder could have
written: rebuild-catalog inserts a row from it or skips it naming why, and never stops the
rebuild of the others."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from services.backups.adapters.storage import LocalStorage
from services.backups.catalog.rebuild import rebuild_catalog
from services.backups.jobs.manifest import FIELDS, MANIFEST_FORMAT, ManifestInvalid, parse_manifest
from shared.models import BackupLog

HOSTILE = {
    "an id longer than a uuid": {"id": "x" * 100},
    "an option-shaped id": {"id": "--help"},
    "a pinned flag that is a word": {"pinned": "yes"},
    "a raw size that is a word": {"raw_size_bytes": "abc"},
    "a negative raw size": {"raw_size_bytes": -1},
    "a raw size past BIGINT": {"raw_size_bytes": 2**70},
    "a verify mode past its column": {"verify_mode": "v" * 50},
    "restore seconds that are a word": {"restore_seconds": "fast"},
    "a server version past its column": {"server_version": "s" * 500},
    "a database name past its column": {"database_name": "d" * 500},
    "a checksum past its column": {"checksum_sha256": "c" * 500},
    "a host past its column": {"database_host": "h" * 500},
    "a backup method past its column": {"backup_method": "m" * 500},
    "a binlog position that is an object": {"binlog_position": {"file": 1}},
    "a schedule id that is an object": {"schedule_id": {"id": 1}},
    "a size that is a boolean": {"file_size_bytes": True},
    "a time with a far offset": {"verified_at": "9999-12-31T23:59:59-14:00"},
}
ARTIFACT = "db-manual-20260101T000000Z-0badc0de.sql.zst"


def _manifest(folder: Path, artifact: str, **fields: Any) -> str:
    (folder / artifact).write_bytes(b"x")
    body = {
        "format": MANIFEST_FORMAT,
        "id": str(uuid.uuid4()),
        "database_name": "db",
        "checksum_sha256": "a" * 64,
        "file_size_bytes": 1,
        "backup_type": "manual",
        "storage": "local",
        "compression": "zstd",
        "location": artifact,
        **fields,
    }
    (folder / f"{artifact}.manifest.json").write_text(json.dumps(body), encoding="utf-8")
    return str(body["id"])


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_manifest_is_inserted_or_skipped_and_the_others_still_rebuild(
    db_session: Session, tmp_path: Path, hostile: dict[str, Any]
) -> None:
    _manifest(tmp_path, ARTIFACT, **hostile)
    good = _manifest(tmp_path, ARTIFACT.replace("0badc0de", "00c0ffee"))
    report = rebuild_catalog(session=db_session, storage=LocalStorage(tmp_path))
    assert good in report.inserted
    assert len(report.inserted) + len(report.skipped) == 2
    for reason in report.skipped.values():
        assert "manifest" in reason and len(reason) < 500
    for backup_id in report.inserted:
        row = db_session.get(BackupLog, backup_id)
        assert row is not None and row.status == "succeeded"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@given(fields=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6))
def test_parsing_any_manifest_either_refuses_it_or_yields_values_its_row_can_hold(
    fields: dict[str, Any],
) -> None:
    body = {
        "format": MANIFEST_FORMAT,
        "id": str(uuid.uuid4()),
        "database_name": "db",
        "checksum_sha256": "a" * 64,
        "file_size_bytes": 1,
        **fields,
    }
    try:
        values = parse_manifest(json.dumps(body).encode())
    except ManifestInvalid:
        return
    uuid.UUID(values["id"])
    for name in ("file_size_bytes", "raw_size_bytes"):
        assert values[name] is None or 0 <= values[name] < 2**63
    for name in ("database_name", "checksum_sha256", "server_version", "verify_mode"):
        column = BackupLog.__table__.c[name].type
        assert values[name] is None or len(values[name]) <= column.length  # type: ignore[attr-defined]
