"""Reveal throughput/p95 and event-ingest throughput of integrations beside bare Flask baselines.

Both servers run the image's command (`gunicorn --config deploy/gunicorn.conf.py`, 2 workers x 4
threads) on the same migrated MariaDB database, in the same run; the load comes from a second
process (this script with --load) and runs one scenario at a time, rounds interleaved.

- reveal: `POST /v1/credentials/{id}/reveal` (token check, row read, data-key unwrap, AES-GCM
  decrypt, hash-chained audit row committed in the same transaction) beside a bare endpoint that
  selects the row and AES-GCM-decrypts it (unwrap + decrypt, no auth, no audit). Target >= 0.6x.
- reveal, #11 checks off: the same service with issue #11's reveal checks switched off (no
  rollback check of the version against the access log, no MAC verified or written on the audit
  chain heads), on a database of its own seeded alike (its unsealed heads would break the checked
  service's chains). The checks may cost at most 10% of reveal throughput. Endpoint binding in the
  AAD stays on in all three: the ciphertexts are sealed with it (and it is ~100 bytes of AAD).
- ingest: `POST /v1/integration-events` (token, validation, redaction, Idempotency-Key lookup,
  insert) beside a bare endpoint that inserts the same JSON. Target >= 0.5x.

The machine may be loaded by others: each round runs every scenario once, in an order rotated
from round to round, and the table gives medians over rounds (req/s, CPU per request) and the
median of each round's own ratio, so a slow spell affects the trials beside each other alike.

Usage: .venv/bin/python bench/integrations_bench.py [--duration 5] [--rounds 5] [--concurrency 8]
       [--only reveal|ingest] [--url mysql+pymysql://root@127.0.0.1:3306/]
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
CHECKS_MAX_COST = 0.10  # issue #11: its checks may cost at most 10% of reveal throughput
UNCHECKED_APP = '''"""Integrations with issue #11's reveal checks off (benchmark only)."""
from services.integrations.access_log import chain, credential_audit
from services.integrations.credentials import services as credentials
from services.integrations.vault.rollback import AUDITED_VERSION

# No MAC on the chain heads: none verified before an append, none written after it.
chain.head_is_sealed = lambda **_: True
chain.head_mac = lambda **_: None
# No rollback check: the reveal's query loses the newest-audited-version subquery, the check goes.
credential_audit.refuse_rolled_back = lambda session, row: None
credentials._SEALED = credentials._SEALED.with_only_columns(
    *(c for c in credentials._SEALED.selected_columns if getattr(c, "name", "") != AUDITED_VERSION)
)

from services.integrations.app import create_app  # noqa: E402

app = create_app()
'''
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
    return float(sum(p.cpu_times().user + p.cpu_times().system for p in procs))


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


def load_command(
    scenario: str, target: str, token: str, ids_file: Path, args: argparse.Namespace, threads: int
) -> list[str]:
    return [
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
        str(threads),
        "--warmup",
        str(args.warmup),
    ]


def load(
    scenario: str, target: str, token: str, ids_file: Path, args: argparse.Namespace
) -> dict[str, Any]:
    command = load_command(scenario, target, token, ids_file, args, args.concurrency)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def load_side_by_side(commands: list[list[str]]) -> list[dict[str, Any]]:
    """Run loads at the same time: whatever else the machine does, both see it alike."""
    running = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
    outputs = [process.communicate()[0] for process in running]
    if any(process.returncode for process in running):
        raise RuntimeError("a side-by-side load failed")
    return [dict(json.loads(out)) for out in outputs]


def summarise(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over rounds of req/s and server CPU per request; latencies pooled."""
    latencies = sorted(x for run in runs for x in run["latencies"])
    return {
        "rps": statistics.median(run["count"] / run["seconds"] for run in runs),
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "errors": sum(run["errors"] for run in runs),
        "cpu_ms": statistics.median(run["cpu"] / max(run["count"], 1) for run in runs) * 1000,
    }


def round_ratios(runs: dict[str, list[dict[str, Any]]], name: str, base: str) -> list[float]:
    """Each round's req/s of `name` over the same round's `base`."""
    return [
        (run["count"] / run["seconds"]) / (other["count"] / other["seconds"])
        for run, other in zip(runs[name], runs[base], strict=True)
    ]


SCENARIOS = {
    "reveal": ("bare-reveal", "reveal", "reveal-unchecked"),
    "ingest": ("bare-ingest", "ingest"),
}


def orchestrate(args: argparse.Namespace) -> int:
    from tests.mariadb import free_port

    url = args.url or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_database(url) as database_url,
        migrated_scratch_database(url, "bench_unchecked") as unchecked_url,
    ):
        workdir = Path(tmp)
        (workdir / "bare_vault.py").write_text(BARE_APP)
        (workdir / "vault_unchecked.py").write_text(UNCHECKED_APP)
        env = server_env(workdir, database_url, 0)
        # Each database its own token and credentials, made alike: same rows, same work.
        seeded = {}
        for name, db_url in (("checked", database_url), ("unchecked", unchecked_url)):
            token, ids = seed(db_url, env, args.credentials)
            ids_file = workdir / f"ids-{name}.json"
            ids_file.write_text(json.dumps(ids))
            seeded[name] = (token, ids_file)
        real_env = env | {"PORT": str(free_port())}
        bare_env = env | {"PORT": str(free_port())}
        unchecked_env = env | {"PORT": str(free_port()), "DATABASE_URL": unchecked_url}
        groups = [args.only] if args.only else list(SCENARIOS)
        scenarios = [s for group in groups for s in SCENARIOS[group]]
        # --same-app: the second server runs the checks too (an A/A run: how far from 1.00 the
        # side-by-side ratio strays when nothing differs).
        second_app = "services.integrations.wsgi:app" if args.same_app else "vault_unchecked:app"
        runs: dict[str, list[dict[str, Any]]] = {}
        paired: list[float] = []  # per round: checked / unchecked reveals, run side by side
        with (
            gunicorn("services.integrations.wsgi:app", real_env, workdir) as real,
            gunicorn("bare_vault:app", bare_env, workdir) as bare,
            gunicorn(second_app, unchecked_env, workdir) as unchecked,
        ):
            servers = {"reveal": real, "ingest": real, "reveal-unchecked": unchecked}
            for number in range(args.rounds):
                turn = number % len(scenarios)
                for scenario in scenarios[turn:] + scenarios[:turn]:
                    target, pid = servers.get(scenario, bare)
                    token, ids_file = seeded["unchecked" if target == unchecked[0] else "checked"]
                    before = server_cpu_seconds(pid)
                    run = load(scenario.removesuffix("-unchecked"), target, token, ids_file, args)
                    # server CPU over warm-up + window, scaled to the measured window
                    spent = server_cpu_seconds(pid) - before
                    run["cpu"] = spent * args.duration / (args.duration + args.warmup)
                    runs.setdefault(scenario, []).append(run)
                if "reveal-unchecked" in scenarios:
                    # Checked and unchecked at once, half the client threads each.
                    half = max(args.concurrency // 2, 1)
                    commands = [
                        load_command("reveal", url, *seeded[name], args, half)
                        for url, name in ((real[0], "checked"), (unchecked[0], "unchecked"))
                    ]
                    on, off = load_side_by_side(commands)
                    paired.append(on["count"] / max(off["count"], 1))
        if "reveal-unchecked" in runs:
            print(f"second server: {unsealed_heads(unchecked_url)} chain heads moved without a MAC")
        in_process: tuple[list[float], list[float]] | None = None
        if "reveal-unchecked" in scenarios and args.pairs:
            in_process = reveal_pairs(
                env, {True: database_url, False: unchecked_url}, seeded, args.pairs
            )
        return print_table(runs, paired, in_process, args)


def reveal_pairs(
    env: dict[str, str], urls: dict[bool, str], seeded: dict[str, tuple[str, Path]], pairs: int
) -> tuple[list[float], list[float]]:
    """reveal_credential() in this process, with and without issue #11's checks, alternating
    call by call (each on its own database): (seconds with, seconds without) per call. One
    caller, no HTTP: the checks' cost stands out of the service's request handling."""
    from services.integrations.access_log import chain, credential_audit
    from services.integrations.access_log.chain import AccessContext
    from services.integrations.credentials import services as credentials
    from services.integrations.vault.keys_config import vault_keys_from_settings
    from services.integrations.vault.rollback import AUDITED_VERSION
    from shared.db import make_engine, make_session_factory

    checked_query = credentials._SEALED
    unchecked_query = checked_query.with_only_columns(
        *(c for c in checked_query.selected_columns if getattr(c, "name", "") != AUDITED_VERSION)
    )
    # (module, name, what stands there with the checks off), as in UNCHECKED_APP
    switches: list[tuple[Any, str, Any]] = [
        (chain, "head_is_sealed", lambda **_: True),
        (chain, "head_mac", lambda **_: None),
        (credential_audit, "refuse_rolled_back", lambda session, row: None),
        (credentials, "_SEALED", unchecked_query),
    ]
    originals = [getattr(module, name) for module, name, _ in switches]

    def checks(on: bool) -> None:
        for (module, name, off), original in zip(switches, originals, strict=True):
            setattr(module, name, original if on else off)

    vault = vault_keys_from_settings(env)
    engines = {on: make_engine(url) for on, url in urls.items()}
    factories = {on: make_session_factory(engine) for on, engine in engines.items()}
    ids = {on: json.loads(seeded["checked" if on else "unchecked"][1].read_text()) for on in urls}
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for n in range(pairs):
            for on in (True, False) if n % 2 else (False, True):
                checks(on)
                with factories[on]() as session:
                    started = time.perf_counter()
                    credentials.reveal_credential(
                        session=session,
                        vault=vault,
                        credential_id=ids[on][n % len(ids[on])],
                        fields=["api_key"],
                        context=AccessContext(purpose="bench"),
                    )
                    times[on].append(time.perf_counter() - started)
    finally:
        checks(True)
        for engine in engines.values():
            engine.dispose()
    return times[True], times[False]


def unsealed_heads(database_url: str) -> int:
    """Chain heads past genesis without a MAC: proof the unchecked server ran unchecked."""
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT COUNT(*) FROM credential_audit_head WHERE mac IS NULL AND seq > 0")
        ).scalar_one()
    engine.dispose()
    return int(found)


def print_table(
    runs: dict[str, list[dict[str, Any]]],
    paired: list[float],
    in_process: tuple[list[float], list[float]] | None,
    args: argparse.Namespace,
) -> int:
    figures = {name: summarise(r) for name, r in runs.items()}
    print(
        f"\nintegrations: gunicorn 2 workers x 4 threads (gthread), {args.concurrency} client "
        f"threads in a second process, {args.rounds} rounds x {args.duration}s per scenario, "
        "order rotated each round; medians over rounds; same MariaDB server"
    )
    header = (
        f"{'scenario':<36}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
        f"{'CPU ms/req':>12}{'x baseline':>12}{'target':>9}  verdict"
    )
    print(header)
    print("-" * len(header))
    ok = True
    labels = {
        "bare-reveal": "bare select + AES-GCM decrypt",
        "reveal": "POST .../reveal (audited)",
        "reveal-unchecked": "POST .../reveal, 2nd (A/A)"
        if args.same_app
        else "POST .../reveal, #11 checks off",
        "bare-ingest": "bare INSERT event",
        "ingest": "POST /v1/integration-events",
    }
    for name in [s for s in labels if s in figures]:
        fig = figures[name]
        base = "bare-reveal" if name.startswith("reveal") else "bare-ingest"
        if name.startswith("bare-"):
            ratio_text, target_text, verdict = "1.00x", "-", "baseline"
        else:
            ratio = statistics.median(round_ratios(runs, name, base))
            ratio_text = f"{ratio:.2f}x"
            if name in TARGETS:
                met = ratio >= TARGETS[name] and fig["errors"] == 0
                ok = ok and met
                target_text, verdict = f">={TARGETS[name]}x", "met" if met else "MISSED"
            else:
                target_text, verdict = "-", "for the checks' cost"
        print(
            f"{labels[name]:<36}{fig['rps']:>9.0f}{fig['p50']:>9.1f}{fig['p95']:>9.1f}"
            f"{int(fig['errors']):>8}{fig['cpu_ms']:>12.2f}{ratio_text:>12}{target_text:>9}"
            f"  {verdict}"
        )
    if "reveal-unchecked" in figures:
        ok = print_checks_cost(runs, paired, in_process, figures) and ok
    return 0 if ok else 1


def print_checks_cost(
    runs: dict[str, list[dict[str, Any]]],
    paired: list[float],
    in_process: tuple[list[float], list[float]] | None,
    figures: dict[str, dict[str, float]],
) -> bool:
    """What issue #11's reveal checks cost: reveals with/without them run side by side (the
    verdict: it includes the database's share), one after the other, and server CPU."""
    ratios = round_ratios(runs, "reveal", "reveal-unchecked")
    cost = 1 - statistics.median(paired)
    cpu_on, cpu_off = figures["reveal"]["cpu_ms"], figures["reveal-unchecked"]["cpu_ms"]
    met = cost <= CHECKS_MAX_COST
    print(
        "\n#11 checks on reveal (throughput with / without them):\n"
        f"  side by side, {len(paired)} rounds: {', '.join(f'{r:.2f}' for r in paired)}; "
        f"median cost {cost:+.1%} (target <= {CHECKS_MAX_COST:.0%}: "
        f"{'met' if met else 'MISSED'})\n"
        f"  one after the other: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median cost {1 - statistics.median(ratios):+.1%}\n"
        f"  service CPU per reveal (gunicorn only, not MariaDB): {cpu_on:.2f} vs "
        f"{cpu_off:.2f} ms ({cpu_on / cpu_off - 1:+.1%})"
    )
    if in_process:
        on, off = (statistics.median(t) * 1000 for t in in_process)
        print(
            f"  reveal_credential() in one process, {len(in_process[0])} alternating calls "
            f"each: median {on:.2f} vs {off:.2f} ms ({on / off - 1:+.1%})"
        )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="MariaDB server URL (a bench database is made on it)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not measured")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=list(SCENARIOS), help="one group (default: both)")
    parser.add_argument(
        "--pairs", type=int, default=1000, help="in-process reveals with/without (0: none)"
    )
    parser.add_argument(
        "--same-app", action="store_true", help="A/A: the 'checks off' server keeps the checks"
    )
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
