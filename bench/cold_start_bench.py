"""Cold start and memory per worker of each service beside a bare Flask app, same gunicorn config.

Cold start = process start (Popen) to the first 200 on /readyz. Memory = resident set size (RSS)
and unique set size (USS, what a worker costs beyond what it shares with its siblings) of each
gunicorn worker after it has served a few requests. Every process runs the image's command,
`gunicorn --config deploy/gunicorn.conf.py <module>:app`, with the same workers and threads, in
the same run, trials interleaved so that machine noise hits every row alike.
Targets (issue 6): cold start <= 1.5x the bare app's; memory per worker <= 1.5x.

Usage: .venv/bin/python bench/cold_start_bench.py [--trials 7] [--url mysql+pymysql://root@127.0.0.1:3306/]
Without --url (or BENCH_DATABASE_URL) a throwaway mariadbd is started and removed afterwards.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.mariadb import free_port, migrated_scratch_database  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONFIG = REPO / "deploy" / "gunicorn.conf.py"
TARGET_RATIO = 1.5
BARE_APP = '''"""The baseline: Flask and nothing else, answering /readyz."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/readyz")
def readyz():
    return jsonify(status="ready")
'''
APPS = {
    "bare Flask": "bare_flask:app",
    "insights": "services.insights.wsgi:app",
    "integrations": "services.integrations.wsgi:app",
    "backups": "services.backups.wsgi:app",
}


@dataclass
class Figures:
    """What the trials of one app measured."""

    cold_starts: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    pss_mib: list[float] = field(default_factory=list)
    uss_mib: list[float] = field(default_factory=list)

    def cold_start(self) -> float:
        return statistics.median(self.cold_starts)

    def rss(self) -> float:
        return statistics.median(self.rss_mib)

    def pss(self) -> float:
        return statistics.median(self.pss_mib)

    def uss(self) -> float:
        return statistics.median(self.uss_mib)


def app_env(
    workdir: Path, database_url: str, port: int, workers: int, threads: int
) -> dict[str, str]:
    """The environment of one run: the image's variables plus test-only vault keys."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": f"{REPO}:{workdir}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PORT": str(port),
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "VAULT_KEYS": "v1=" + base64.b64encode(os.urandom(32)).decode(),
        "VAULT_AUDIT_KEY": base64.b64encode(os.urandom(32)).decode(),
        "VAULT_DEV_DIR": str(workdir),
        "BACKUP_FOLDER": str(workdir / "backups"),
    }


def first_ok(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll until url answers 200; give up if the process dies or the deadline passes."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} never answered 200")


def worker_memory(master_pid: int) -> tuple[float, float, float]:
    """Mean RSS, PSS and USS (MiB) of the master's worker processes."""
    workers = psutil.Process(master_pid).children()
    infos = [worker.memory_full_info() for worker in workers]
    mib = 1024 * 1024
    rss, pss, uss = (
        statistics.mean(getattr(info, kind) for info in infos) / mib
        for kind in ("rss", "pss", "uss")
    )
    return rss, pss, uss


def one_trial(module: str, env: dict[str, str], workdir: Path, figures: Figures) -> None:
    """Start, time the first 200 on /readyz, warm every worker, measure memory, stop."""
    url = f"http://127.0.0.1:{env['PORT']}/readyz"
    log = (workdir / "server.log").open("ab")
    started = time.monotonic()
    process = subprocess.Popen(
        [GUNICORN, "--config", str(CONFIG), module], env=env, cwd=workdir, stdout=log, stderr=log
    )
    try:
        first_ok(url, process, started + 60)
        figures.cold_starts.append(time.monotonic() - started)
        for _ in range(40):  # enough for every worker to import lazily-loaded paths
            urllib.request.urlopen(url, timeout=5).close()
        rss, pss, uss = worker_memory(process.pid)
        figures.rss_mib.append(rss)
        figures.pss_mib.append(pss)
        figures.uss_mib.append(uss)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def bench_database(url: str | None) -> contextlib.AbstractContextManager[str]:
    """A migrated database of our own, on the given server or on a throwaway mariadbd."""
    return migrated_scratch_database(url, "bench_cold_start")


def print_table(results: dict[str, Figures], args: argparse.Namespace) -> bool:
    """The table with ratios to the bare app; True when every service meets both targets."""
    base = results["bare Flask"]
    print(
        f"\ncold start and memory per worker: median of {args.trials} interleaved trials; gunicorn"
        f" {args.workers} workers x {args.threads} threads, preload {args.preload}"
        " (deploy/gunicorn.conf.py)"
    )
    header = (
        f"{'app':<14}{'cold start s':>13}{'x bare':>8}{'RSS MiB':>9}{'x bare':>8}"
        f"{'PSS MiB':>9}{'x bare':>8}{'USS MiB':>9}{'x bare':>8}   target <= {TARGET_RATIO}x"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for name, fig in results.items():
        start_ratio = fig.cold_start() / base.cold_start()
        rss_ratio, pss_ratio = fig.rss() / base.rss(), fig.pss() / base.pss()
        ok = start_ratio <= TARGET_RATIO and rss_ratio <= TARGET_RATIO
        all_ok = all_ok and ok
        verdict = "-" if name == "bare Flask" else ("met" if ok else "MISSED")
        print(
            f"{name:<14}{fig.cold_start():>13.3f}{start_ratio:>7.2f}x{fig.rss():>9.1f}"
            f"{rss_ratio:>7.2f}x{fig.pss():>9.1f}{pss_ratio:>7.2f}x{fig.uss():>9.1f}"
            f"{fig.uss() / base.uss():>7.2f}x   {verdict}"
        )
    print(
        "\ncold start: Popen to the first 200 on /readyz (the services also query MariaDB and"
        " the Alembic head).\nmemory per worker: RSS counts pages shared with the master;"
        " PSS splits them among sharers; USS is what one more worker adds. Target columns:"
        " cold start and RSS."
    )
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--preload", choices=("true", "false"), default="true", help="GUNICORN_PRELOAD"
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a MariaDB server URL; the bench makes and drops its own database",
    )
    args = parser.parse_args()
    results = {name: Figures() for name in APPS}
    # As the images do (deploy/docker/*.Dockerfile): ship bytecode, never compile at start-up.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "shared", "services", "deploy"],
        cwd=REPO,
        check=True,
    )
    with bench_database(args.url) as database_url, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "bare_flask.py").write_text(BARE_APP, encoding="utf-8")
        for trial in range(args.trials):
            for name, module in APPS.items():
                env = app_env(workdir, database_url, free_port(), args.workers, args.threads)
                env["GUNICORN_PRELOAD"] = args.preload
                one_trial(module, env, workdir, results[name])
            print(f"trial {trial + 1}/{args.trials} done", file=sys.stderr)
    met = print_table(results, args)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
