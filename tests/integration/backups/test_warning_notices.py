"""Warning notices say something new: a table that is not InnoDB is reported once, not every run."""

from __future__ import annotations

import time
from collections.abc import Callable

from pytest_httpserver import HTTPServer

from tests.integration.backups.backup_fixtures import AppFactory, posted, run_sql, take_backup
from tests.mariadb import MariaDBServer
from tests.polling import eventually


def _warning_events(integrations: HTTPServer, backup_id: str) -> list[dict[str, object]]:
    return [
        e
        for e in posted(integrations, "/v1/integration-events")
        if e["request_data"]["event"] == "backup_warning" and e["external_id"] == backup_id
    ]


def test_a_table_that_is_not_innodb_warns_on_the_first_run_only_and_stays_in_the_details(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    run_sql(mariadb_server, source_db, "CREATE TABLE legacy (id INT) ENGINE=MyISAM;")
    client = make_backup_app(source_db).test_client()
    first = take_backup(client, auth)
    assert first["status"] == "succeeded", first["error_message"]
    eventually(lambda: _warning_events(integrations, first["id"]) or None, within=30)
    for _ in range(2):
        later = take_backup(client, auth)
        assert later["status"] == "succeeded", later["error_message"]
        assert any("legacy (MyISAM)" in w for w in later["verification_details"]["warnings"])
        time.sleep(1)  # the notice follows the committed row; give it the time it takes
        assert _warning_events(integrations, later["id"]) == []


def test_a_size_drop_is_still_reported_when_a_known_non_innodb_table_is_there(
    make_backup_app: AppFactory,
    source_db: str,
    mariadb_server: MariaDBServer,
    integrations: HTTPServer,
    auth: Callable[..., dict[str, str]],
) -> None:
    run_sql(mariadb_server, source_db, "CREATE TABLE legacy (id INT) ENGINE=Aria;")
    client = make_backup_app(source_db).test_client()
    assert take_backup(client, auth)["status"] == "succeeded"
    run_sql(mariadb_server, source_db, "DELETE FROM work_items; DELETE FROM clients WHERE id > 10;")
    smaller = take_backup(client, auth)
    events = eventually(lambda: _warning_events(integrations, smaller["id"]) or None, within=30)
    warning = str(events[0]["request_data"]["warning"])  # type: ignore[index]
    assert "of the previous good backup" in warning
    assert "legacy" not in warning
