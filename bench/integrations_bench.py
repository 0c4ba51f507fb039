"""Reveal throughput/p95 and event-ingest throughput of integrations beside bare Flask baselines.

Both servers run the image's command (`gunicorn --config deploy/gunicorn.conf.py`, 2 workers x 4
threads) on the same migrated MariaDB database, in the same run; the load comes from a second
process (this script with --load) and runs one scenario at a time, rounds interleaved.

- reveal: `POST /v1/credentials/{id}/reveal` (token check, row read, data-key unwrap, AES-GCM
  decrypt, hash-chained audit row committed in the same transaction) beside a bare endpoint that
  selects the row and AES-GCM-decrypts it (unwrap + decrypt, no auth, no audit). Target >= 0.6x.
- ingest: `POST /v1/integration-events` (token, validation, redaction, Idempotency-Key lookup,
  insert) beside a bare endpoint that inserts the same JSON. Target >= 0.5x.

Usage: .venv/bin/python bench/integrations_bench.py [--duration 6] [--rounds 2] [--concurrency 8]
       [--url mysql+pymysql://root@127.0.0.1:3306/]
Without --url (or BENCH_DATABASE_URL / TEST_DATABASE_URL) a throwaway mariadbd is started.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.mariadb import migrated_scratch_database  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONFIG = REPO / "deploy" / "gunicorn.conf.py"
TARGETS = {"reveal": 0.6, "ingest": 0.5}
BARE_APP = '''"""Baselines: select one row and AES-GCM-decrypt it; insert one event row."""
import json
import os
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import text

from shared.crypto import FieldContext, LocalKeyring, open_sealed, parse_key_list
from shared.db import make_engine

app = Flask(__name__)
engine = make_engine(os.environ["DATABASE_URL"])
# gunicorn's post_fork runs these in each worker: fresh connections, as the services get
app.extensions["after_fork_resets"] = [lambda: engine.dispose(close=False)]
keyring = LocalKeyring(*parse_key_list(os.environ["VAULT_KEYS"]))
SELECT = text("SELECT api_key_encrypted, wrapped_data_key, version, api_url, token_url"
              " FROM integration_credentials WHERE id = :id")
INSERT = text("INSERT INTO external_integrations (id, integration_type, direction, action,"
              " external_id, http_status, request_data, response_data, duration_ms, created_at)"
              " VALUES (:id, :t, :d, :a, :e, :s, :rq, :rs, :ms, :at)")


@app.get("/readyz")
def readyz():
    return jsonify(status="ready")


@app.post("/bare/reveal/<cid>")
def reveal(cid):
    with engine.connect() as conn:
        row = conn.execute(SELECT, {"id": cid}).one()
    context = {"purpose": "integration-credential", "credential_id": cid,
               "credential_version": str(row.version)}
    dek = keyring.unwrap(row.wrapped_data_key, context)
    value = open_sealed(dek=dek, blob=row.api_key_encrypted,
                        context=FieldContext(cid, "api_key", row.version,
                                             (("api_url", row.api_url),
                                              ("token_url", row.token_url))))
    return jsonify(id=cid, fields={"api_key": value})


@app.post("/bare/events")
def events():
    body = request.get_json()
    row_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(INSERT, {"id": row_id, "t": body["integration_type"],
                              "d": body["direction"], "a": body["action"],
                              "e": body.get("external_id"), "s": body.get("http_status"),
                              "rq": json.dumps(body.get("request_data")),
                              "rs": json.dumps(body.get("response_data")),
                              "ms": body.get("duration_ms"),
                              "at": datetime.now(UTC).replace(tzinfo=None)})
    return jsonify(id=row_id), 201
'''


def event_body() -> dict[str, Any]:
    """One realistic event: a Syncro ticket fetch with a token in the logged headers."""
    return {
        "integration_type": "syncro",
        "direction": "outbound",
        "action": "fetched",
        "external_id": str(uuid.uuid4().int % 10**6),
        "http_status": 200,
        "duration_ms": 87,
        "request_data": {"method": "GET", "headers": {"Authorization": "Bearer abc.def.ghi"}},
        "response_data": {"ticket": {"id": 4711, "subject": "Printer offline", "status": "New"}},
    }


# ---------------------------------------------------------------- load generator (2nd process)


def run_load(args: argparse.Namespace) -> None:
    """Drive one scenario for args.duration seconds and print {count, errors, latencies}."""
    import requests

    ids = json.loads(Path(args.ids).read_text())
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + args.warmup + args.duration
    measure_from = time.monotonic() + args.warmup

    def worker(n: int) -> None:
        http = requests.Session()
        i = n
        while (now := time.monotonic()) < stop_at:
            method, url, kwargs = _request(args, ids, i)
            i += args.concurrency
            started = time.perf_counter()
            answer = http.request(method, url, timeout=30, **kwargs)
            elapsed = time.perf_counter() - started
            if now >= measure_from:
                with lock:
                    latencies.append(elapsed)
                    errors[0] += answer.status_code >= 300

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        json.dumps(
            {
                "count": len(latencies),
                "errors": errors[0],
                "seconds": args.duration,
                "latencies": latencies,
            }
        )
    )


def _request(args: argparse.Namespace, ids: list[str], i: int) -> tuple[str, str, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {args.token}"}
    cid = ids[i % len(ids)]
    if args.load == "reveal":
        return (
            "POST",
            f"{args.target}/v1/credentials/{cid}/reveal",
            {"json": {"purpose": "bench", "fields": ["api_key"]}, "headers": auth},
        )
    if args.load == "bare-reveal":
        return "POST", f"{args.target}/bare/reveal/{cid}", {}
    if args.load == "ingest":
        headers = auth | {"Idempotency-Key": str(uuid.uuid4())}
        return (
            "POST",
            f"{args.target}/v1/integration-events",
            {"json": event_body(), "headers": headers},
        )
    return "POST", f"{args.target}/bare/events", {"json": event_body()}


# ---------------------------------------------------------------- orchestration


def bench_database(url: str | None) -> contextlib.AbstractContextManager[str]:
    """A migrated database of our own, on the given server or on a throwaway mariadbd."""
    return migrated_scratch_database(url, "bench_integrations")


def seed(database_url: str, env: dict[str, str], credentials: int) -> tuple[str, list[str]]:
    """A token with the needed scopes and `credentials` api_key credentials."""
    from services.integrations.access_log.chain import AccessContext
    from services.integrations.credentials.services import create_credential
    from services.integrations.vault.keys_config import vault_keys_from_settings
    from shared.auth import create_user, issue_token
    from shared.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    vault = vault_keys_from_settings(env)
    with make_session_factory(engine)() as session:
        user = create_user(session=session, username="bench", role="service")
        _, token = issue_token(
            session=session,
            user=user,
            name="bench",
            scopes=["credentials:reveal", "integrations:write"],
        )
        session.commit()
        ids = [
            create_credential(
                session=session,
                vault=vault,
                context=AccessContext(purpose="bench seed"),
                data={
                    "integration_name": f"bench-{n}",
                    "integration_type": "syncro",
                    "credential_type": "api_key",
                    "api_url": "https://bench.example",
                    "api_key": base64.b64encode(os.urandom(24)).decode(),
                },
            ).id
            for n in range(credentials)
        ]
    engine.dispose()
    return token, ids


def server_env(workdir: Path, database_url: str, port: int) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": f"{REPO}:{workdir}",
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "VAULT_KEYS": VAULT_KEYS,
        "VAULT_AUDIT_KEY": AUDIT_KEY,
        "VAULT_DEV_DIR": str(workdir),
    }


VAULT_KEYS = "local-1=" + base64.b64encode(os.urandom(32)).decode()
AUDIT_KEY = base64.b64encode(os.urandom(32)).decode()


def server_cpu_seconds(master_pid: int) -> float:
    """User+system CPU of a gunicorn master and its workers so far."""
    import psutil

    master = psutil.Process(master_pid)
    procs = [master, *master.children(recursive=True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in procs)


@contextmanager
def gunicorn(module: str, env: dict[str, str], workdir: Path) -> Iterator[tuple[str, int]]:
    base = f"http://127.0.0.1:{env['PORT']}"
    log = (workdir / f"{module.split(':')[0]}.log").open("ab")
    process = subprocess.Popen(
        [GUNICORN, "--config", str(CONFIG), module], env=env, cwd=workdir, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited; see {log.name}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def load(
    scenario: str, target: str, token: str, ids_file: Path, args: argparse.Namespace
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--load",
        scenario,
        "--target",
        target,
        "--token",
        token,
        "--ids",
        str(ids_file),
        "--duration",
        str(args.duration),
        "--concurrency",
        str(args.concurrency),
        "--warmup",
        str(args.warmup),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def summarise(runs: list[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(x for run in runs for x in run["latencies"])
    seconds = sum(run["seconds"] for run in runs)
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "errors": sum(run["errors"] for run in runs),
        "cpu_ms": sum(run["cpu"] for run in runs) / max(len(latencies), 1) * 1000,
    }


def orchestrate(args: argparse.Namespace) -> int:
    from tests.mariadb import free_port

    url = args.url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp, bench_database(url) as database_url:
        workdir = Path(tmp)
        (workdir / "bare_vault.py").write_text(BARE_APP)
        env = server_env(workdir, database_url, 0)
        token, ids = seed(database_url, env, args.credentials)
        ids_file = workdir / "ids.json"
        ids_file.write_text(json.dumps(ids))
        real_env = env | {"PORT": str(free_port())}
        bare_env = env | {"PORT": str(free_port())}
        runs: dict[str, list[dict[str, Any]]] = {}
        with (
            gunicorn("services.integrations.wsgi:app", real_env, workdir) as real,
            gunicorn("bare_vault:app", bare_env, workdir) as bare,
        ):
            for _ in range(args.rounds):
                for scenario, (target, pid) in (
                    ("bare-reveal", bare),
                    ("reveal", real),
                    ("bare-ingest", bare),
                    ("ingest", real),
                ):
                    before = server_cpu_seconds(pid)
                    run = load(scenario, target, token, ids_file, args)
                    # server CPU over warm-up + window, scaled to the measured window
                    spent = server_cpu_seconds(pid) - before
                    run["cpu"] = spent * args.duration / (args.duration + args.warmup)
                    runs.setdefault(scenario, []).append(run)
        return print_table({name: summarise(r) for name, r in runs.items()}, args)


def print_table(figures: dict[str, dict[str, float]], args: argparse.Namespace) -> int:
    print(
        f"\nintegrations: gunicorn 2 workers x 4 threads (gthread), {args.concurrency} client "
        f"threads in a second process, {args.rounds} x {args.duration}s per scenario, "
        "rounds interleaved, same MariaDB database"
    )
    header = (
        f"{'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
        f"{'CPU ms/req':>12}{'x baseline':>12}{'target':>9}  verdict"
    )
    print(header)
    print("-" * len(header))
    ok = True
    labels = {
        "bare-reveal": "bare select + AES-GCM decrypt",
        "reveal": "POST .../reveal (audited)",
        "bare-ingest": "bare INSERT event",
        "ingest": "POST /v1/integration-events",
    }
    for name in ("bare-reveal", "reveal", "bare-ingest", "ingest"):
        fig = figures[name]
        if name.startswith("bare-"):
            ratio_text, target_text, verdict = "1.00x", "-", "baseline"
        else:
            ratio = fig["rps"] / figures[f"bare-{name}"]["rps"]
            met = ratio >= TARGETS[name] and fig["errors"] == 0
            ok = ok and met
            ratio_text, target_text = f"{ratio:.2f}x", f">={TARGETS[name]}x"
            verdict = "met" if met else "MISSED"
        print(
            f"{labels[name]:<34}{fig['rps']:>9.0f}{fig['p50']:>9.1f}{fig['p95']:>9.1f}"
            f"{int(fig['errors']):>8}{fig['cpu_ms']:>12.2f}{ratio_text:>12}{target_text:>9}"
            f"  {verdict}"
        )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="MariaDB server URL (a bench database is made on it)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not measured")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--credentials", type=int, default=50)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        run_load(args)
        return
    raise SystemExit(orchestrate(args))


if __name__ == "__main__":
    main()
