"""A swap that fails after its RENAME TABLE puts the target's tables and programs back."""

from __future__ import annotations

from typing import Any

import pytest

from services.backups.adapters import mariadb_swap
from services.backups.adapters.mariadb_client import ClientFailed, MariaDBTarget
from tests.integration.backups.backup_fixtures import SAMPLE_SCHEMA, run_sql
from tests.integration.backups.test_restore_replace import _state
from tests.mariadb import MariaDBServer


def _server(mariadb_server: MariaDBServer) -> MariaDBTarget:
    return MariaDBTarget.from_url(mariadb_server.url(), database="mysql")


def test_when_the_new_programs_cannot_be_created_the_target_is_put_back_as_it_was(
    mariadb_server: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = mariadb_server.create_database("bk_loaded")
    run_sql(mariadb_server, loaded, SAMPLE_SCHEMA)
    target = mariadb_server.create_database("bk_target")
    run_sql(mariadb_server, target, SAMPLE_SCHEMA)
    run_sql(
        mariadb_server,
        target,
        "UPDATE clients SET name = 'target' WHERE id = 1; CREATE TABLE keep_me (id INT);"
        "CREATE FUNCTION target_only() RETURNS INT RETURN 1;",
    )
    holding = mariadb_server.create_database("bkverify_holding")
    before, loaded_before = _state(mariadb_server, target), _state(mariadb_server, loaded)
    real_load, calls = mariadb_swap._load, []

    def first_load_fails(server: MariaDBTarget, schema: str, sql: bytes) -> Any:
        calls.append(schema)
        if len(calls) == 1:  # the new programs: as if the server refused one midway
            real_load(server, schema, sql.split(b"DELIMITER ;;", 2)[0])  # half of them ran
            raise ClientFailed("mariadb exited with status 1: ERROR 1064 (simulated)")
        return real_load(server, schema, sql)

    monkeypatch.setattr(mariadb_swap, "_load", first_load_fails)
    with pytest.raises(ClientFailed):
        mariadb_swap.swap_in(_server(mariadb_server), loaded=loaded, target=target, holding=holding)
    assert _state(mariadb_server, target) == before
    # The loaded copy's tables are back (its programs were dropped so that they could move).
    assert _state(mariadb_server, loaded)[-1] == loaded_before[-1]  # CHECKSUM TABLE of each
    assert run_sql(mariadb_server, holding, "SHOW TABLES;") == ""
