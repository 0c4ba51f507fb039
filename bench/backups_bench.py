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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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
from services.backups.dump.pipeline import run_mariadb_backup
url, folder, codec, level, completeness = sys.argv[1:6]
if completeness == "off":  # the A/B baseline: no stream inventory, no completeness compare
    import services.backups.dump.pipeline as pipeline

    class _Everything:
        structures = {"*"}
        def missing_from(self, source): return []
        def named(self, kind): return set()

    class _NoScan:
        current_table, tables_with_structure = None, 1
        def feed(self, chunk): pass
        def finish(self): return _Everything()

    pipeline.DumpInventoryScanner = _NoScan
started = time.monotonic()
out = run_mariadb_backup(target=MariaDBTarget.from_url(url), storage=LocalStorage(folder),
                         artifact_name=f"service-{level}-{completeness}.sql.zst", codec=codec,
                         level=int(level),
                         fingerprint_tables=False)
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


def service_backup(
    url: str, folder: str, codec: str, level: int, completeness: str = "on"
) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", SERVICE_BACKUP, url, folder, codec, str(level), completeness],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def service_restore_verify(
    server: MariaDBTarget, folder: str, location: str, expected: dict[str, Any]
) -> tuple[float, float, bool]:
    from services.backups.adapters.storage import LocalStorage
    from services.backups.verification.checks import verify_by_restore

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
    parser.add_argument("--runs", type=int, default=3, help="backup runs; medians are shown")
    parser.add_argument("--restore-runs", type=int, default=2, help="restore runs (medians)")
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
        run(target, url, work, args.runs, args.restore_runs)
    finally:
        if not args.keep:
            inventory.drop_database(target, name)
        subprocess.run(["rm", "-rf", work], check=False)


def backups(target: MariaDBTarget, url: str, work: str, cnf: str, runs: int) -> dict[str, Any]:
    """Each pipeline `runs` times, interleaved so machine load hits them alike; medians."""
    dump = shlex.join(
        ["mariadb-dump", f"--defaults-extra-file={cnf}", *DUMP_FLAGS, target.database]
    )
    keys = ("bare", "gzip6", "zstd1", "svc1", "svc1_nocheck", "svc3")
    times: dict[str, list[float]] = {k: [] for k in keys}
    service: dict[int, Any] = {}
    for i in range(runs):
        print(f"  backup run {i + 1}/{runs}", flush=True)
        times["bare"].append(sh(f"{dump} > /dev/null", os.environ.copy()))
        times["gzip6"].append(sh(f"{dump} | gzip -6 > {work}/base.sql.gz", os.environ.copy()))
        times["zstd1"].append(
            sh(f"{dump} | zstd -q -1 -T2 > {work}/base.sql.zst", os.environ.copy())
        )
        for level in (1, 3):
            out = service_backup(url, work, "zstd", level)
            times[f"svc{level}"].append(out["seconds"])
            previous = service.get(level, {"rss_kib": 0})
            out["rss_kib"] = max(out["rss_kib"], previous["rss_kib"])
            service[level] = out
        # The same pipeline without completeness checking: what the check costs.
        times["svc1_nocheck"].append(service_backup(url, work, "zstd", 1, "off")["seconds"])
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "t": medians,
        "all": times,
        "service": service,
        "gzip_size": os.path.getsize(f"{work}/base.sql.gz"),
        "zstd1_size": os.path.getsize(f"{work}/base.sql.zst"),
    }


def restores(
    target: MariaDBTarget, cnf: str, artifact: str, work: str, runs: int, expected: dict[str, Any]
) -> dict[str, list[float]]:
    """Baseline restore and service restore verification, interleaved `runs` times."""
    times: dict[str, list[float]] = {"shell": [], "load": [], "total": []}
    for i in range(runs):
        print(f"  restore run {i + 1}/{runs}", flush=True)
        scratch = f"{target.database}_r"
        inventory.create_database(target, scratch)
        try:
            times["shell"].append(
                sh(
                    f"zstd -dc {artifact} | mariadb --defaults-extra-file={cnf} {scratch}",
                    os.environ.copy(),
                )
            )
        finally:
            inventory.drop_database(target, scratch)
        total, load, passed = service_restore_verify(
            target.with_database(""), work, artifact, expected
        )
        if not passed:
            raise SystemExit("restore verification failed")
        times["total"].append(total)
        times["load"].append(load)
    return times


def run(target: MariaDBTarget, url: str, work: str, runs: int, restore_runs: int) -> None:
    with defaults_file(target) as cnf:
        measured = backups(target, url, work, cnf, runs)
        print("  dump-time fingerprint", flush=True)
        fingerprint_started = time.monotonic()
        expected = inventory.take_inventory(target)
        fingerprint = time.monotonic() - fingerprint_started
        artifact = measured["service"][1]["location"]
        restore = restores(target, cnf, artifact, work, restore_runs, expected)
    report(measured, restore, fingerprint)


def report(
    measured: dict[str, Any], restore_times: dict[str, list[float]], fingerprint: float
) -> None:
    t, service = measured["t"], measured["service"]
    raw_mb = service[1]["raw"] / 1e6
    rows = [
        ("mariadb-dump > /dev/null", t["bare"], "-"),
        ("mariadb-dump | gzip -6 > file", t["gzip6"], f"{measured['gzip_size'] / 1e6:.0f} MB"),
        ("mariadb-dump | zstd -1 -T2 > file", t["zstd1"], f"{measured['zstd1_size'] / 1e6:.0f} MB"),
        ("service backup, zstd -1 (default)", t["svc1"], f"{service[1]['stored'] / 1e6:.0f} MB"),
        ("service backup, zstd -1, no completeness", t["svc1_nocheck"], "-"),
        ("service backup, zstd -3", t["svc3"], f"{service[3]['stored'] / 1e6:.0f} MB"),
    ]
    print(f"\nSQL dumped: {raw_mb:.0f} MB; medians of {len(measured['all']['bare'])} runs\n")
    print(
        f"{'pipeline':40} {'wall s':>7} {'MB/s':>6} {'vs gzip':>8} {'thru vs bare':>13} "
        f"{'vs zstd|sh':>11} {'stored':>8}"
    )
    for label, seconds, stored in rows:
        print(
            f"{label:40} {seconds:7.2f} {raw_mb / seconds:6.0f} {seconds / t['gzip6']:8.2f} "
            f"{t['bare'] / seconds:13.2f} {t['zstd1'] / seconds:11.2f} {stored:>8}"
        )
    print(
        "\nall runs (s): "
        + json.dumps({k: [round(x, 2) for x in v] for k, v in measured["all"].items()})
    )
    cost = t["svc1"] / t["svc1_nocheck"] - 1
    print(f"completeness checking: {cost:+.1%} wall time (zstd -1, medians)")
    print(
        f"service peak RSS: zstd -1 {service[1]['rss_kib'] / 1024:.0f} MiB, zstd -3 "
        f"{service[3]['rss_kib'] / 1024:.0f} MiB (mariadb-dump child: "
        f"{service[1]['dump_rss_kib'] / 1024:.0f} MiB)"
    )
    if not restore_times["shell"]:
        return  # --restore-runs 0
    restore = statistics.median(restore_times["shell"])
    verify_load = statistics.median(restore_times["load"])
    verify_total = statistics.median(restore_times["total"])
    runs = len(restore_times["shell"])
    print(f"\n{f'restore (medians of {runs})':40} {'wall s':>7} {'vs baseline':>12}")
    print(f"{'zstd -dc file | mariadb db':40} {restore:7.2f} {1.0:12.2f}")
    print(
        f"{'service restore verification: load':40} {verify_load:7.2f} "
        f"{verify_load / restore:12.2f}"
    )
    print(
        f"{'service restore verification: total':40} {verify_total:7.2f} "
        f"{verify_total / restore:12.2f}"
    )
    print(f"dump-time fingerprint (row counts + CHECKSUM TABLE): {fingerprint:.2f} s")
    print(
        "all restore runs (s): "
        + json.dumps({k: [round(x, 2) for x in v] for k, v in restore_times.items()})
    )
    print("restore verification passed: True")


if __name__ == "__main__":
    main()
