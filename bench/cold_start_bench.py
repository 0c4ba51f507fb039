"""Cold start and memory per worker of each service beside two baselines, same gunicorn config.

The baselines: a bare Flask app (Flask and nothing else), and for each service a Flask app that
imports the same third-party libraries the service has loaded once it answers, and answers
/readyz with one query through SQLAlchemy. The first ratio measures the libraries the design names
as much as the project; the second measures what the project itself adds (issue 17).

Cold start = process start (Popen) to the first 200 on /readyz. Memory = resident set size (RSS)
and unique set size (USS, what a worker costs beyond what it shares with its siblings) of each
gunicorn worker after it has served a few requests. Every process runs the image's command,
`gunicorn --config deploy/gunicorn.conf.py <module>:app`, with the same workers and threads, in
the same run, trials interleaved so that machine noise hits every row alike.
Targets (issue 17): cold start <= 1.3x the same-libraries app's; memory per worker (RSS) <= 1.3x.
The bare-Flask ratios stay in the table for information (the old target was 1.5x).
`--importtime` also prints what the project's own modules cost to import (python -X importtime).

Usage: .venv/bin/python bench/cold_start_bench.py [--trials 7] [--importtime] [--url mysql+pymysql://root@127.0.0.1:3306/]
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
TARGET_RATIO = 1.3
SERVICES = ("insights", "integrations", "backups")
BARE_APP = '''"""The baseline: Flask and nothing else, answering /readyz."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/readyz")
def readyz():
    return jsonify(status="ready")
'''
# Run in a child with the service's environment: which third-party packages are loaded once the
# service's WSGI module is imported and has answered /readyz (what a worker holds when it serves).
LIBRARY_PROBE = """
import sys, sysconfig
module = __import__(sys.argv[1], fromlist=["app"])
module.app.test_client().get("/readyz")
roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
names = {
    name.split(".")[0]
    for name, loaded in list(sys.modules.items())
    if any((getattr(loaded, "__file__", None) or "").startswith(root) for root in roots)
}
print("\\n".join(sorted(names)))
"""
SAME_LIBRARIES_APP = '''"""Fair baseline: the service's libraries loaded, /readyz with one query."""
import importlib
import os

for name in {names!r}:
    try:
        importlib.import_module(name)
    except Exception:  # a package that only imports inside its parent's context
        pass

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"])
app = Flask(__name__)


@app.get("/readyz")
def readyz():
    with engine.connect() as connection:
        connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return jsonify(status="ready")
'''


def apps() -> dict[str, str]:
    """Every app of the run, each service right after its same-libraries baseline."""
    rows = {"bare Flask": "bare_flask:app"}
    for service in SERVICES:
        rows[f"{service} libs"] = f"libs_{service}:app"
        rows[service] = f"services.{service}.wsgi:app"
    return rows


def write_baselines(workdir: Path, database_url: str) -> None:
    """bare_flask.py, and libs_<service>.py with the libraries each service really loads."""
    (workdir / "bare_flask.py").write_text(BARE_APP, encoding="utf-8")
    for service in SERVICES:
        env = app_env(workdir, database_url, free_port(), 1, 1)
        probe = subprocess.run(
            [sys.executable, "-c", LIBRARY_PROBE, f"services.{service}.wsgi"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        )
        names = probe.stdout.split()
        source = SAME_LIBRARIES_APP.format(names=names)
        (workdir / f"libs_{service}.py").write_text(source, encoding="utf-8")


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
    """The table with ratios to both baselines; True when every service meets both targets."""
    bare = results["bare Flask"]
    print(
        f"\ncold start and memory per worker: median of {args.trials} interleaved trials; gunicorn"
        f" {args.workers} workers x {args.threads} threads, preload {args.preload}"
        " (deploy/gunicorn.conf.py)"
    )
    header = (
        f"{'app':<19}{'cold start s':>13}{'x bare':>8}{'x libs':>8}{'RSS MiB':>9}{'x bare':>8}"
        f"{'x libs':>8}{'PSS MiB':>9}{'USS MiB':>9}   target <= {TARGET_RATIO}x libs"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for name, fig in results.items():
        libs = results.get(f"{name} libs")
        start_libs = fig.cold_start() / libs.cold_start() if libs else None
        rss_libs = fig.rss() / libs.rss() if libs else None
        verdict = "-"
        if start_libs is not None and rss_libs is not None:
            ok = start_libs <= TARGET_RATIO and rss_libs <= TARGET_RATIO
            all_ok = all_ok and ok
            verdict = "met" if ok else "MISSED"
        print(
            f"{name:<19}{fig.cold_start():>13.3f}{fig.cold_start() / bare.cold_start():>7.2f}x"
            f"{_ratio(start_libs)}{fig.rss():>9.1f}{fig.rss() / bare.rss():>7.2f}x"
            f"{_ratio(rss_libs)}{fig.pss():>9.1f}{fig.uss():>9.1f}   {verdict}"
        )
    print(
        "\ncold start: Popen to the first 200 on /readyz (the services also read the Alembic head;"
        " the libs apps read it with one query).\nmemory per worker: RSS counts pages shared with"
        " the master; PSS splits them among sharers; USS is what one more worker adds.\n"
        "x libs: against a Flask app importing the same third-party libraries as that service."
        " Target columns: cold start and RSS against it."
    )
    return all_ok


def _ratio(value: float | None) -> str:
    return f"{value:>7.2f}x" if value is not None else f"{'':>8}"


def print_import_profile(database_url: str, workdir: Path, top: int = 15) -> None:
    """The project's own modules that cost most to import (self time, python -X importtime)."""
    for service in SERVICES:
        env = app_env(workdir, database_url, free_port(), 1, 1)
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import services.{service}.wsgi"],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        )
        rows: list[tuple[int, int, str]] = []
        for line in run.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own_time, cumulative_time, name = (part.strip() for part in line[12:].split("|"))
            rows.append((int(own_time), int(cumulative_time), name))
        own = [row for row in rows if row[2].startswith(("shared", "services"))]
        total_ms = sum(row[0] for row in rows) / 1000
        own_ms = sum(row[0] for row in own) / 1000
        print(
            f"\n{service}: imports take {total_ms:.0f} ms (self time), of which the project's own"
            f" modules {own_ms:.0f} ms; the project's costliest:"
        )
        for self_us, cumulative_us, module in sorted(own, reverse=True)[:top]:
            self_ms, cumulative_ms = self_us / 1000, cumulative_us / 1000
            print(f"  {self_ms:>7.1f} ms self {cumulative_ms:>8.1f} ms cumulative  {module}")


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
    parser.add_argument(
        "--importtime", action="store_true", help="also print the project's import-time profile"
    )
    args = parser.parse_args()
    results = {name: Figures() for name in apps()}
    # As the images do (deploy/docker/*.Dockerfile): ship bytecode, never compile at start-up.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "shared", "services", "deploy"],
        cwd=REPO,
        check=True,
    )
    with bench_database(args.url) as database_url, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_baselines(workdir, database_url)
        for trial in range(args.trials):
            for name, module in apps().items():
                env = app_env(workdir, database_url, free_port(), args.workers, args.threads)
                env["GUNICORN_PRELOAD"] = args.preload
                one_trial(module, env, workdir, results[name])
            print(f"trial {trial + 1}/{args.trials} done", file=sys.stderr)
        if args.importtime:
            print_import_profile(database_url, workdir)
    met = print_table(results, args)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
