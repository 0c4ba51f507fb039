"""One-shot bootstrap of the compose stack: service tokens, dev vault keys, the backup bucket,
the backup login (exactly the README's grants, from services.backups.adapters.grants).

Idempotent: whatever already exists in $SECRETS_DIR is kept, so `docker compose up` twice is safe.
Tokens are made with the shared auth CLI (python -m shared.cli) and written to files the
services read through *_FILE variables; no secret is printed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# (username, role, token file, scopes): each service gets only what it calls its peers for.
ACCOUNTS = (
    ("svc-insights", "service", "insights.token", ("integrations:read",)),
    ("svc-integrations", "service", "integrations.token", ("insights:read", "insights:write")),
    ("svc-backups", "service", "backups.token", ("integrations:write",)),
    ("svc-scheduler", "service", "scheduler.token", ("backups:run",)),
    ("admin", "admin", "admin.token", ("admin",)),
)
SERVICE_UID = 10001  # the user the images run as


def auth_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the shared auth CLI with this process's environment (DATABASE_URL)."""
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args], capture_output=True, text=True, check=False
    )


def write_secret(path: Path, value: str) -> None:
    """Write a secret readable only by the service user."""
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o400)
    if os.geteuid() == 0:
        os.chown(path, SERVICE_UID, SERVICE_UID)


def ensure_token(
    secrets: Path, username: str, role: str, filename: str, scopes: tuple[str, ...]
) -> None:
    """Create the user if needed and issue a token, unless its file is already there."""
    target = secrets / filename
    if target.exists():
        print(f"{filename}: kept")
        return
    created = auth_cli("create-user", username, "--role", role)
    if created.returncode != 0 and "exist" not in created.stderr.lower():
        raise SystemExit(f"create-user {username} failed: {created.stderr.strip()}")
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    issued = auth_cli("issue-token", username, "--name", "compose-bootstrap", *scope_args)
    if issued.returncode != 0:
        raise SystemExit(f"issue-token {username} failed: {issued.stderr.strip()}")
    write_secret(target, issued.stdout.strip().splitlines()[-1])
    print(f"{filename}: issued for {username} ({', '.join(scopes)})")


def ensure_vault_keys(secrets: Path) -> None:
    """Development key-encryption and audit keys for integrations (random, kept across restarts)."""
    keys = secrets / "vault-keys.json"
    if not keys.exists():
        key = base64.b64encode(os.urandom(32)).decode()
        write_secret(keys, json.dumps({"active": "dev1", "keys": {"dev1": key}}))
        print("vault-keys.json: generated")
    audit = secrets / "vault-audit-key"
    if not audit.exists():
        write_secret(audit, base64.b64encode(os.urandom(32)).decode())
        print("vault-audit-key: generated")


def ensure_bucket(endpoint: str, bucket: str, region: str, attempts: int = 30) -> None:
    """Create the backup bucket on the S3-compatible endpoint, waiting for it to come up."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
    for attempt in range(attempts):
        try:
            s3.create_bucket(Bucket=bucket)
            print(f"bucket {bucket}: created")
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                print(f"bucket {bucket}: kept")
                return
            raise
        except BotoCoreError:
            time.sleep(min(2.0, 0.2 * (attempt + 1)))
    raise SystemExit(f"S3 endpoint {endpoint} never answered")


def ensure_backup_login(admin_url: str, source_url: str) -> None:
    """Create the login BACKUP_SOURCE_URL names with exactly the dump and verification grants.

    The root login (DATABASE_ADMIN_URL) is used for this one step only; the password is the
    one in BACKUP_SOURCE_URL and is never printed.
    """
    import pymysql
    from sqlalchemy.engine import make_url

    from services.backups.adapters.grants import grant_statements

    admin, source = make_url(admin_url), make_url(source_url)
    user = source.username or ""
    if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", user) or not source.database:
        raise SystemExit("BACKUP_SOURCE_URL needs a plain user name and a database")
    account = f"'{user}'@'%'"
    conn = pymysql.connect(
        host=admin.host or "127.0.0.1",
        port=admin.port or 3306,
        user=admin.username or "root",
        password=admin.password or "",
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            password = conn.escape(source.password or "")
            cur.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {password}")
            cur.execute(f"ALTER USER {account} IDENTIFIED BY {password}")
            for statement in grant_statements(account, source.database):
                cur.execute(statement)
    finally:
        conn.close()
    print(f"backup login {user}: granted dump and restore-verification privileges")


def main() -> None:
    """Bootstrap everything the services need before they start."""
    secrets = Path(os.environ.get("SECRETS_DIR", "/run/msp-secrets"))
    secrets.mkdir(parents=True, exist_ok=True)
    for username, role, filename, scopes in ACCOUNTS:
        ensure_token(secrets, username, role, filename, scopes)
    ensure_vault_keys(secrets)
    admin_url, source_url = (
        os.environ.get("DATABASE_ADMIN_URL"),
        os.environ.get("BACKUP_SOURCE_URL"),
    )
    if admin_url and source_url:
        ensure_backup_login(admin_url, source_url)
    endpoint = os.environ.get("BACKUP_S3_ENDPOINT_URL")
    if endpoint:
        region = os.environ.get("BACKUP_S3_REGION", "us-east-1")
        ensure_bucket(endpoint, os.environ.get("BACKUP_S3_BUCKET", "msp-backups"), region)


if __name__ == "__main__":
    main()
