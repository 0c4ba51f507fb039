"""The compose bootstrap creates the backups' login with exactly the README's grants, and the
backups service is pointed at it (not at the application's login)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from services.backups.adapters.grants import grant_statements
from shared.migrate import upgrade_to_head
from tests.deploy.conftest import DEPLOY, REPO
from tests.mariadb import MariaDBServer

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


def _service(name: str) -> dict[str, str]:
    environment: dict[str, str] = COMPOSE["services"][name]["environment"]
    return environment


def test_backups_dump_as_the_login_the_bootstrap_creates() -> None:
    backups, bootstrap = _service("backups"), _service("bootstrap")
    assert backups["BACKUP_SOURCE_URL"] == bootstrap["BACKUP_SOURCE_URL"]
    login = make_url(backups["BACKUP_SOURCE_URL"]).username
    assert login != make_url(backups["DATABASE_URL"]).username
    assert make_url(bootstrap["DATABASE_ADMIN_URL"]).username == "root"
    assert "DATABASE_ADMIN_URL" not in backups  # root stays with the one-shot bootstrap


def _normalised(grant: str) -> tuple[frozenset[str], str]:
    """(privileges, object) of a GRANT line, whatever the order MariaDB lists them in."""
    match = re.match(r"GRANT (.+?) ON (\S+) TO ", grant.replace("`", ""))
    assert match is not None, grant
    return frozenset(p.strip() for p in match.group(1).split(",")), match.group(2)


def test_the_bootstrap_grants_exactly_the_documented_privileges_once(
    mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    database = mariadb_server.create_database("deploy_backup_login")
    url = mariadb_server.url(database)
    upgrade_to_head(url)
    user = f"bk_compose_{uuid.uuid4().hex[:8]}"
    source = make_url(url).set(username=user, password="compose-backup-pw")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "DATABASE_ADMIN_URL": mariadb_server.url(),
        "BACKUP_SOURCE_URL": source.render_as_string(hide_password=False),
        "SECRETS_DIR": str(tmp_path / "secrets"),
    }
    try:
        for _ in range(2):  # idempotent: a second `docker compose up` changes nothing
            done = subprocess.run(
                [sys.executable, str(DEPLOY / "compose" / "bootstrap.py")],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert "compose-backup-pw" not in done.stdout + done.stderr
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"SHOW GRANTS FOR '{user}'@'%'")
            granted = {_normalised(row[0]) for row in cur.fetchall()}
        expected = {_normalised(s) for s in grant_statements(f"'{user}'@'%'", database)}
        assert granted == expected
    finally:
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
