"""Backups benchmark: the service's streamed backup and restore verification beside shell baselines.

Generates a database of at least --size-mb MB of SQL, then in the same run measures:
  mariadb-dump > /dev/null             (the bare dump: throughput baseline)
  mariadb-dump | gzip -6 > file        (the classic pipeline: time baseline)
  mariadb-dump | zstd -1 -T2 > file    (the practical limit on this machine)
  the service pipeline (subprocess)    mariadb-dump -> zstd -> SHA-256 -> local file, peak RSS
  zstd -dc file | mariadb newdb        (restore baseline)
  the service restore verification     scratch db + load + inventory/CHECKSUM TABLE compare

Usage: .venv/bin/python bench/backups_bench.py [--size-mb 500] [--url mysql+pymysql://root@127.0.0.1:3306/]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.mariadb_client import (
    DUMP_FLAGS,
    MariaDBTarget,
    defaults_file,
)

BYTES_PER_ROW = 240  # one generated row is about 248 bytes of SQL; err on the large side

SERVICE_BACKUP = """
import json, resource, sys, time
from services.backups.adapters.mariadb_client import MariaDBTarget
from services.backups.adapters.storage import LocalStorage
from services.backups.pipeline import run_mariadb_backup
url, folder, codec = sys.argv[1:4]
started = time.monotonic()
out = run_mariadb_backup(target=MariaDBTarget.from_url(url), storage=LocalStorage(folder),
                         artifact_name="service.sql.zst", codec=codec, fingerprint_tables=False)
print(json.dumps({"seconds": time.monotonic() - started, "raw": out.raw_bytes,
                  "stored": out.stored_bytes, "location": out.location,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "dump_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def sh(command: str, env: dict[str, str]) -> float:
    """Wall time of a shell pipeline; every stage's status checked (pipefail)."""
    started = time.monotonic()
    subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, env=env)
    return time.monotonic() - started


def generate(target: MariaDBTarget, size_mb: int) -> None:
    rows = size_mb * 1_000_000 // BYTES_PER_ROW + 1
    inventory.create_database(target, target.database)
    with inventory.connect(target, database=target.database) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE work_log (id INT PRIMARY KEY, client CHAR(32), host VARCHAR(64), "
            "note VARCHAR(160), minutes INT, logged_at DATETIME, payload VARBINARY(16)) "
            "ENGINE=InnoDB"
        )
        step = 250_000
        for start in range(1, rows + 1, step):
            end = min(rows, start + step - 1)
            cur.execute(
                "INSERT INTO work_log SELECT seq, MD5(seq), CONCAT('host-', seq % 977, '.example'),"
                " CONCAT(SHA1(seq), ' ', REPEAT('note ', 1 + seq % 14), SHA1(seq + 1)),"
                " seq % 480, '2026-01-01' + INTERVAL (seq % 100000) MINUTE,"
                f" UNHEX(MD5(seq * 7)) FROM seq_{start}_to_{end}"
            )


def service_backup(url: str, folder: str, codec: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", SERVICE_BACKUP, url, folder, codec],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def service_restore_verify(
    server: MariaDBTarget, folder: str, location: str, expected: dict
) -> tuple[float, float, bool]:
    from services.backups.adapters.storage import LocalStorage
    from services.backups.verification import verify_by_restore

    started = time.monotonic()
    result = verify_by_restore(
        server=server,
        storage=LocalStorage(folder),
        location=location,
        codec="zstd",
        backup_id=uuid.uuid4().hex,
        expected_inventory=expected,
    )
    return time.monotonic() - started, result.restore_seconds or 0.0, result.passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    args = parser.parse_args()

    name = f"bench_backups_{uuid.uuid4().hex[:8]}"
    target = MariaDBTarget.from_url(args.url, database=name)
    url = args.url.rstrip("/") + "/" + name
    work = tempfile.mkdtemp(prefix="backups-bench-")
    print(f"generating {args.size_mb} MB of SQL in {name} ...", flush=True)
    t0 = time.monotonic()
    generate(target, args.size_mb)
    print(f"  generated in {time.monotonic() - t0:.1f} s", flush=True)
    try:
        run(target, url, work)
    finally:
        if not args.keep:
            inventory.drop_database(target, name)
        subprocess.run(["rm", "-rf", work], check=False)


def run(target: MariaDBTarget, url: str, work: str) -> None:
    env = dict(os.environ)
    with defaults_file(target) as cnf:
        dump = shlex.join(
            ["mariadb-dump", f"--defaults-extra-file={cnf}", *DUMP_FLAGS, target.database]
        )
        bare = sh(f"{dump} > /dev/null", env)
        gzip6 = sh(f"{dump} | gzip -6 > {work}/base.sql.gz", env)
        zstd1 = sh(f"{dump} | zstd -q -1 -T2 > {work}/base.sql.zst", env)
        service = service_backup(url, work, "zstd")
        fingerprint_started = time.monotonic()
        expected = inventory.take_inventory(target)
        fingerprint = time.monotonic() - fingerprint_started
        scratch = f"{target.database}_r"
        inventory.create_database(target, scratch)
        try:
            restore = sh(
                f"zstd -dc {work}/base.sql.zst | mariadb --defaults-extra-file={cnf} {scratch}", env
            )
        finally:
            inventory.drop_database(target, scratch)
    verify_total, verify_load, passed = service_restore_verify(
        target.with_database(""), work, service["location"], expected
    )
    report(
        service,
        bare,
        gzip6,
        zstd1,
        restore,
        verify_total,
        verify_load,
        fingerprint,
        passed,
        os.path.getsize(f"{work}/base.sql.gz"),
    )


def report(
    service: dict,
    bare: float,
    gzip6: float,
    zstd1: float,
    restore: float,
    verify_total: float,
    verify_load: float,
    fingerprint: float,
    passed: bool,
    gzip_size: int,
) -> None:
    raw_mb = service["raw"] / 1e6
    rows = [
        ("mariadb-dump > /dev/null", bare, "-"),
        ("mariadb-dump | gzip -6 > file", gzip6, f"{gzip_size / 1e6:.0f} MB"),
        ("mariadb-dump | zstd -1 -T2 > file", zstd1, "-"),
        (
            "service backup (zstd -3, SHA-256, local)",
            service["seconds"],
            f"{service['stored'] / 1e6:.0f} MB",
        ),
    ]
    print(f"\nSQL dumped: {raw_mb:.0f} MB\n")
    print(f"{'pipeline':44} {'wall s':>8} {'MB/s':>7} {'vs gzip':>8} {'vs bare':>8} {'stored':>8}")
    for label, seconds, stored in rows:
        print(
            f"{label:44} {seconds:8.2f} {raw_mb / seconds:7.0f} {seconds / gzip6:8.2f} "
            f"{bare / seconds:8.2f} {stored:>8}"
        )
    print(f"\nservice vs dump|zstd -1 -T2 throughput: {zstd1 / service['seconds']:.2f}")
    print(
        f"service peak RSS: {service['rss_kib'] / 1024:.0f} MiB "
        f"(mariadb-dump child: {service['dump_rss_kib'] / 1024:.0f} MiB)"
    )
    print(f"\n{'restore':44} {'wall s':>8} {'vs baseline':>12}")
    print(f"{'zstd -dc file | mariadb db':44} {restore:8.2f} {1.0:12.2f}")
    print(
        f"{'service restore verification: load only':44} {verify_load:8.2f} "
        f"{verify_load / restore:12.2f}"
    )
    print(
        f"{'service restore verification: total':44} {verify_total:8.2f} "
        f"{verify_total / restore:12.2f}"
    )
    print(f"dump-time fingerprint (row counts + CHECKSUM TABLE): {fingerprint:.2f} s")
    print(f"restore verification passed: {passed}")


if __name__ == "__main__":
    main()
