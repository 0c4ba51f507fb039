"""The dump-size estimate on MariaDB against what mariadb-dump --hex-blob really writes."""

from __future__ import annotations

import subprocess

import pytest

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.mariadb_client import DUMP_FLAGS, MariaDBTarget
from tests.integration.backups.backup_fixtures import run_sql
from tests.mariadb import MariaDBServer

BLOB_HEAVY = """
CREATE TABLE files (id INT PRIMARY KEY, name VARCHAR(64), body MEDIUMBLOB, digest BINARY(32))
  ENGINE=InnoDB;
INSERT INTO files SELECT seq, CONCAT('file-', seq), RANDOM_BYTES(1000), UNHEX(SHA2(seq, 256))
  FROM seq_1_to_4000;
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
INSERT INTO notes SELECT seq, REPEAT('note ', 40) FROM seq_1_to_4000;
ANALYZE TABLE files, notes;
"""


@pytest.fixture
def blob_db(mariadb_server: MariaDBServer) -> str:
    name = mariadb_server.create_database("bk_blobs")
    run_sql(mariadb_server, name, BLOB_HEAVY)
    return name


def _dump_size(server: MariaDBServer, database: str) -> int:
    done = subprocess.run(
        ["mariadb-dump", *server.client_args(), *DUMP_FLAGS, "--", database],
        capture_output=True,
        env=server.client_env(),
        check=True,
    )
    return len(done.stdout)


def _data_length(cur: object, database: str) -> int:
    cur.execute(  # type: ignore[attr-defined]
        "SELECT SUM(DATA_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
        (database,),
    )
    return int(cur.fetchone()[0])  # type: ignore[attr-defined]


def test_the_estimate_of_a_blob_heavy_database_is_within_a_quarter_of_the_dump(
    mariadb_server: MariaDBServer, blob_db: str
) -> None:
    target = MariaDBTarget.from_url(mariadb_server.url(blob_db))
    with inventory.connect(target, database=blob_db) as conn, conn.cursor() as cur:
        estimate = inventory.estimated_dump_bytes(cur, blob_db)
        data_only = _data_length(cur, blob_db)
    real = _dump_size(mariadb_server, blob_db)
    assert estimate == pytest.approx(real, rel=0.25), (estimate, real)
    # What the ETA used before: the data alone, far short of the hex-encoded dump.
    assert data_only < 0.75 * real


def test_a_table_that_is_gone_leaves_the_estimate_at_zero_not_an_error(
    mariadb_server: MariaDBServer, blob_db: str
) -> None:
    target = MariaDBTarget.from_url(mariadb_server.url(blob_db))
    with inventory.connect(target, database=blob_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM files")
        assert inventory.estimated_dump_bytes(cur, "no_such_schema_here") == 0
