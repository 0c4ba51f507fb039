"""Stream inventory benchmark: CPU per MiB of the completeness scan beside the pipeline's own work.

Dumps a generated database once (or reads --dump-file), then measures on the same 1 MiB chunks
the pipeline reads, best of --runs, CPU time:
  two bare finds per chunk             (the floor any marker scan pays)
  DumpInventoryScanner                 (what completeness checking costs the pipeline)
  zstd 1 + SHA-256                     (what the pipeline pays anyway per MiB)

Usage: .venv/bin/python bench/dump_inventory_bench.py [--size-mb 100] [--dump-file dump.sql]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backups_bench import generate

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.compression import make_compressor
from services.backups.adapters.dump_inventory import DumpInventoryScanner
from services.backups.adapters.mariadb_client import (
    DUMP_FLAGS,
    MariaDBTarget,
    defaults_file,
)

CHUNK = 1 << 20


def dump_once(url: str, size_mb: int, path: Path) -> None:
    """Generate a database of about size_mb MB of SQL, dump it to path, drop it."""
    target = MariaDBTarget.from_url(url, database=f"bench_inventory_{uuid.uuid4().hex[:8]}")
    generate(target, size_mb)
    try:
        with defaults_file(target) as cnf, path.open("wb") as out:
            argv = ["mariadb-dump", f"--defaults-extra-file={cnf}", *DUMP_FLAGS, target.database]
            subprocess.run(argv, stdout=out, check=True)
    finally:
        inventory.drop_database(target, target.database)


def ms_per_mib(work: Callable[[], None], mib: float, runs: int) -> float:
    """Best CPU time of `runs` calls, per MiB of input."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / mib * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--dump-file", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default="mysql+pymysql://root@127.0.0.1:3306/")
    args = parser.parse_args()
    path = args.dump_file or Path(tempfile.mkdtemp(prefix="inventory-bench-")) / "dump.sql"
    if not args.dump_file:
        dump_once(args.url, args.size_mb, path)
    data = path.read_bytes()
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    mib = len(data) / CHUNK

    def finds() -> None:
        for chunk in chunks:
            chunk.find(b"\n-- ")
            chunk.find(b"\nDELIMITER ;;\n")

    def scanner() -> None:
        scan = DumpInventoryScanner()
        for chunk in chunks:
            scan.feed(chunk)
        scan.finish()

    def pipeline() -> None:
        compressor, sha = make_compressor("zstd", level=1), hashlib.sha256()
        for chunk in chunks:
            sha.update(compressor.compress(chunk))
        sha.update(compressor.flush())

    print(f"{len(data) / 1e6:.0f} MB of SQL, ms of CPU per MiB (best of {args.runs}):")
    print(f"  two bare finds        {ms_per_mib(finds, mib, args.runs):.3f}")
    print(f"  stream inventory      {ms_per_mib(scanner, mib, args.runs):.3f}")
    print(f"  zstd 1 + SHA-256      {ms_per_mib(pipeline, mib, max(1, args.runs // 2)):.3f}")


if __name__ == "__main__":
    main()
