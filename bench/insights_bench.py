"""Insights service throughput and latency beside a bare Flask app running the equivalent SQL.

Seeds MariaDB (full size: 200 clients, 20,000 hosts, 100,000 insights, 500,000 occurrences),
starts the insights service and a bare Flask baseline under the same gunicorn settings
(deploy/gunicorn.conf.py, 2 workers), and loads both from a second process on loopback.
For briefing, check and failure ingest it prints requests/s, p50 and p95 for each, and the
throughput ratio service / baseline, measured in the same run with the trials interleaved.
Targets (issue 3): briefing and check >= 0.7 of the baseline's throughput, ingest >= 0.5.

The baseline answers the same requests with the same indexed SQL the service runs, statement
for statement (briefing: host joined with its client, the candidates with last_checked_at
computed by GREATEST, examples of the ranking's head, the surfacing UPDATE only for insights
not surfaced in the last 10 minutes, the metrics upsert; check: host, constraints, patterns
with their on-host count, the surfacing UPDATE, good examples, the check INSERT; ingest: host,
pattern FOR UPDATE, one history statement for a known pattern, occurrence INSERT, counters,
linked insights, and their support or evidence-date UPDATE), so the ratio is the cost of
everything else: validation, authentication, redaction, fingerprinting, ranking, rendering,
serialisation.

Usage:
  .venv/bin/python bench/insights_bench.py                  # scale 0.1 (20 clients, 2,000 hosts...)
  .venv/bin/python bench/insights_bench.py --full           # the issue's full size
  options: --url mysql+pymysql://root@127.0.0.1:3306/  --seconds 10  --concurrency 8  --keep
Without --url (or BENCH_DATABASE_URL) a throwaway mariadbd is started and removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.insights.commands.shape import check_keys, shape_command  # noqa: E402
from services.insights.failures.fingerprint import all_signatures, fingerprint_failure  # noqa: E402
from shared.auth import create_user, issue_token  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.models import (  # noqa: E402
    Client,
    EnvironmentalExample,
    EnvironmentalInsight,
    FailureOccurrence,
    FailurePattern,
    Infrastructure,
)
from tests.mariadb import free_port, migrated_scratch_database  # noqa: E402
from tests.unit.insights.failure_corpus import CORPUS  # noqa: E402

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONFIG = REPO / "deploy" / "gunicorn.conf.py"
FULL = {"clients": 200, "hosts": 20_000, "insights": 100_000, "occurrences": 500_000}
TARGETS = {"briefing": 0.7, "check": 0.7, "ingest": 0.5}
PATTERNS_PER_CLIENT = 250
CLIENT_LEVEL_SHARE = 0.2  # of the insights; the rest are host-level
BATCH = 2_000

BASELINE_APP = '''"""Bare Flask running the SQL the insights endpoints run, returned as JSON."""
import os
from datetime import UTC, datetime, timedelta
from flask import Flask, jsonify, request
from sqlalchemy import text
from shared.db import make_engine

app = Flask(__name__)
engine = make_engine(os.environ["DATABASE_URL"])
# gunicorn's post_fork runs these in each worker: fresh connections, as the services get
app.extensions["after_fork_resets"] = [lambda: engine.dispose(close=False)]

CANDIDATES = text(
    "SELECT id, updated_at, client_id, infrastructure_id, host_selector, insight_category,"
    " title, description, confidence_level, priority, command_key,"
    " GREATEST(valid_from, COALESCE(last_verified_at, valid_from),"
    " COALESCE(last_evidence_at, valid_from)) AS last_checked_at, last_surfaced_at"
    " FROM environmental_insights WHERE ((client_id = :c AND (infrastructure_id IS NULL"
    " OR infrastructure_id = :h)) OR (client_id IS NULL AND infrastructure_id IS NULL))"
    " AND status = 'active' AND valid_from <= UTC_TIMESTAMP(6)"
    " AND (valid_to IS NULL OR valid_to > UTC_TIMESTAMP(6))")
EXAMPLES = text("SELECT insight_id, kind, command FROM environmental_examples"
                " WHERE insight_id IN :ids ORDER BY created_at, id")
HOST_AND_CLIENT = text(
    "SELECT i.id, i.client_id, i.hostname, i.os, i.os_version, i.shell_type,"
    " i.powershell_version, i.package_manager, i.role_description, i.limitations, c.name"
    " FROM infrastructure i JOIN clients c ON c.id = i.client_id WHERE i.id = :h")
HOST = text("SELECT id, client_id, hostname, os, os_version FROM infrastructure WHERE id = :h")
SURFACED = text("UPDATE environmental_insights SET surfaced_count = surfaced_count + 1,"
                " last_surfaced_at = UTC_TIMESTAMP(6) WHERE id IN :ids")
BRIEFED = text(
    "INSERT INTO learning_metrics (id, metric_date, client_id, failures_observed, patterns_new,"
    " insights_created, insights_confirmed, briefings_served, repeat_failures, checks_served,"
    " checks_flagged, checks_wrong, failures_prevented, created_at, updated_at) VALUES"
    " (UUID(), UTC_DATE(), :c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
    " ON DUPLICATE KEY UPDATE briefings_served = briefings_served + 1")
HEAD = 800 // 24  # the service fetches examples only for the ranking's head
SURFACE_WINDOW = timedelta(minutes=10)  # and marks an insight surfaced at most this often


def rows(result):
    return [dict(r._mapping) for r in result]


@app.get("/briefing/<client_id>/<host_id>")
def briefing(client_id, host_id):
    with engine.begin() as db:
        host = rows(db.execute(HOST_AND_CLIENT, {"h": host_id}))
        found = rows(db.execute(CANDIDATES, {"h": host_id, "c": client_id}))
        found.sort(key=lambda r: (-r["priority"], r["id"]))
        head = found[:HEAD]
        ids = tuple(r["id"] for r in head) or ("-",)
        examples = rows(db.execute(EXAMPLES, {"ids": ids}))
        cutoff = datetime.now(UTC).replace(tzinfo=None) - SURFACE_WINDOW
        due = tuple(r["id"] for r in found[:20]
                    if r["last_surfaced_at"] is None or r["last_surfaced_at"] < cutoff)
        if due:
            db.execute(SURFACED, {"ids": due})
        db.execute(BRIEFED, {"c": client_id})
    return jsonify(host=host, items=found[:20], examples=examples)


PATTERNS = text(
    "SELECT p.id, p.occurrence_count, p.severity, p.error_signature, p.recommended_solution,"
    " (SELECT COUNT(*) FROM failure_occurrences o WHERE o.failure_pattern_id = p.id"
    " AND o.infrastructure_id = :h) AS on_host FROM failure_patterns p"
    " WHERE p.client_id = :c AND p.command_key IN :keys AND p.is_active = 1")
CONSTRAINTS = text(
    "SELECT id, title, confidence_level, priority, host_selector, infrastructure_id,"
    " last_surfaced_at FROM environmental_insights WHERE (client_id = :c OR client_id IS NULL)"
    " AND command_key IN :keys AND (infrastructure_id IS NULL OR infrastructure_id = :h)"
    " AND status = 'active' AND valid_from <= UTC_TIMESTAMP(6)"
    " AND (valid_to IS NULL OR valid_to > UTC_TIMESTAMP(6))")
GOOD_EXAMPLES = text("SELECT insight_id, command FROM environmental_examples"
                     " WHERE insight_id IN :ids AND kind = 'do' ORDER BY created_at, id")
CHECKED = text(
    "INSERT INTO command_checks (id, client_id, infrastructure_id, command, command_key,"
    " verdict, outcome, created_at) VALUES (UUID(), :c, :h, :cmd, :k, :v, 'unknown',"
    " UTC_TIMESTAMP(6))")


@app.post("/check")
def check():
    body = request.get_json()
    c, h, keys = body["client_id"], body["infrastructure_id"], tuple(body["keys"])
    with engine.begin() as db:
        rows(db.execute(HOST, {"h": h}))
        constraints = rows(db.execute(CONSTRAINTS, {"c": c, "h": h, "keys": keys}))
        patterns = rows(db.execute(PATTERNS, {"c": c, "h": h, "keys": keys}))
        if constraints:
            cutoff = datetime.now(UTC).replace(tzinfo=None) - SURFACE_WINDOW
            due = tuple(i["id"] for i in constraints
                        if i["last_surfaced_at"] is None or i["last_surfaced_at"] < cutoff)
            if due:
                db.execute(SURFACED, {"ids": due})
            rows(db.execute(GOOD_EXAMPLES, {"ids": tuple(i["id"] for i in constraints)}))
        verdict = "warn" if patterns or constraints else "ok"
        db.execute(CHECKED, {"c": c, "h": h, "cmd": body["command"], "k": keys[0], "v": verdict})
    return jsonify(verdict=verdict, patterns=patterns, constraints=constraints)


PATTERN = text("SELECT * FROM failure_patterns WHERE fingerprint IN :f FOR UPDATE")
NEW_PATTERN = text(
    "INSERT INTO failure_patterns (id, client_id, pattern_type, fingerprint, fingerprint_version,"
    " command_key, error_signature, exit_code, host_count, session_count, sample_command,"
    " sample_error, occurrence_count, first_seen_at, last_seen_at, severity, is_active,"
    " created_at, updated_at) VALUES (:id, :c, 'other', :f, 1, :k, :sig, :x, 0, 0, :cmd, :err, 0,"
    " UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'major', 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))")
HISTORY = text(
    "SELECT (SELECT COUNT(*) FROM failure_occurrences WHERE failure_pattern_id = :p"
    " AND infrastructure_id = :h), (SELECT COUNT(*) FROM failure_occurrences"
    " WHERE failure_pattern_id = :p AND session_id = :s), (EXISTS (SELECT 1"
    " FROM environmental_insights WHERE source_pattern_id = :p AND last_surfaced_at IS NOT NULL)"
    " OR EXISTS (SELECT 1 FROM command_checks WHERE matched_pattern_id = :p))")
OCCURRENCE = text(
    "INSERT INTO failure_occurrences (id, failure_pattern_id, infrastructure_id, command,"
    " error_output, exit_code, observed_at, is_repeat) VALUES (:id, :p, :h, :cmd, :err, :x,"
    " UTC_TIMESTAMP(6), :r)")
COUNTERS = text(
    "UPDATE failure_patterns SET occurrence_count = occurrence_count + 1,"
    " host_count = host_count + :new_host, last_seen_at = UTC_TIMESTAMP(6),"
    " sample_command = :cmd, sample_error = :err, updated_at = UTC_TIMESTAMP(6) WHERE id = :p")
LINKED = text("SELECT id, confidence_level, support_count FROM environmental_insights"
              " WHERE source_pattern_id = :p AND (infrastructure_id = :h OR infrastructure_id"
              " IS NULL) AND status != 'merged' AND valid_to IS NULL")

SUPPORTED = text("UPDATE environmental_insights SET support_count = support_count + 1,"
                 " last_evidence_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6)"
                 " WHERE id IN :ids")
EVIDENCED = text("UPDATE environmental_insights SET last_evidence_at = UTC_TIMESTAMP(6),"
                 " updated_at = UTC_TIMESTAMP(6) WHERE id = :id")


@app.post("/failures")
def failures():
    import uuid
    body = request.get_json()
    c, h = body["client_id"], body["infrastructure_id"]
    with engine.begin() as db:
        rows(db.execute(HOST, {"h": h}))  # the service checks the client only on a mismatch
        found = rows(db.execute(PATTERN, {"f": tuple(body["fingerprints"])}))
        on_host, repeat, linked = 0, False, []
        if found:
            pattern_id = found[0]["id"]
            on_host, _, repeat = db.execute(HISTORY, {"p": pattern_id, "h": h, "s": None}).one()
        else:  # like the service: a new pattern has no history and nothing linked to it
            pattern_id = str(uuid.uuid4())
            db.execute(NEW_PATTERN, {"id": pattern_id, "c": c, "f": body["fingerprints"][0],
                                     "k": body["keys"][0], "sig": "x", "x": body["exit_code"],
                                     "cmd": body["command"], "err": body["error_output"]})
        occurrence_id = str(uuid.uuid4())
        db.execute(OCCURRENCE, {"id": occurrence_id, "p": pattern_id, "h": h,
                                "cmd": body["command"], "err": body["error_output"],
                                "x": body["exit_code"], "r": bool(repeat)})
        db.execute(COUNTERS, {"p": pattern_id, "new_host": int(on_host == 0),
                              "cmd": body["command"], "err": body["error_output"]})
        if found:
            linked = rows(db.execute(LINKED, {"p": pattern_id, "h": h}))
        if linked and on_host == 0:  # a new host is independent evidence for its insights
            db.execute(SUPPORTED, {"ids": tuple(i["id"] for i in linked)})
        elif linked:  # a repeat there still dates the insight's evidence, as the service does
            db.execute(EVIDENCED, {"id": linked[0]["id"]})
    return jsonify(occurrence_id=occurrence_id, pattern_id=pattern_id, insights=linked), 201
'''


# ----------------------------------------------------------------------------------------------
# Seeding
# ----------------------------------------------------------------------------------------------


def _sizes(scale: float) -> dict[str, int]:
    return {key: max(1, int(value * scale)) for key, value in FULL.items()}


def _templates() -> list[dict[str, Any]]:
    """PATTERNS_PER_CLIENT distinct failures: corpus entries, then variants with an extra flag."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    variant = 0
    while len(out) < PATTERNS_PER_CLIENT:
        for _, command, error, exit_code in CORPUS:
            command = f"{command} -BenchVariant{variant}" if variant else command
            signature = fingerprint_failure(command, error, exit_code)
            if signature.digest(None) in seen or len(out) == PATTERNS_PER_CLIENT:
                continue
            seen.add(signature.digest(None))
            out.append(
                {
                    "command": command,
                    "error": error,
                    "exit_code": exit_code,
                    "signature": signature,
                    "signatures": all_signatures(command, error, exit_code),
                }
            )
        variant += 1
    return out


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def seed(database_url: str, scale: float) -> dict[str, Any]:
    """Fill the database; return the ids and commands the load generator needs."""
    sizes = _sizes(scale)
    templates = _templates()
    engine = make_engine(database_url)
    rng = random.Random(7)
    now = datetime.now(UTC)
    plan: dict[str, Any] = {"hosts": [], "checks": [], "ingest": []}
    with Session(engine) as session:
        clients = [
            {
                "id": str(uuid.uuid4()),
                "name": f"bench-client-{i:04d}",
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(sizes["clients"])
        ]
        _bulk(session, Client, clients)
        hosts_per_client = max(1, sizes["hosts"] // sizes["clients"])
        for number, client in enumerate(clients):
            _seed_client(
                session, client["id"], number, hosts_per_client, sizes, templates, rng, now, plan
            )
            session.commit()
            if number % 20 == 0:
                print(f"  seeded client {number + 1}/{len(clients)}", flush=True)
        user = create_user(
            session=session, username=f"bench-{uuid.uuid4().hex[:8]}", role="technician"
        )
        _, plan["token"] = issue_token(
            session=session, user=user, name="bench", scopes=["insights:read", "insights:write"]
        )
        session.commit()
    engine.dispose()
    return plan


def _seed_client(
    session: Session,
    client_id: str,
    number: int,
    hosts_per_client: int,
    sizes: dict[str, int],
    templates: list[dict[str, Any]],
    rng: random.Random,
    now: datetime,
    plan: dict[str, Any],
) -> None:
    hosts = [_host(client_id, i, now) for i in range(hosts_per_client)]
    _bulk(session, Infrastructure, hosts)
    patterns = [_pattern(client_id, t, now) for t in templates]
    _bulk(session, FailurePattern, patterns)
    occurrences_per_client = sizes["occurrences"] // sizes["clients"]
    occurrences = [
        _occurrence(rng.choice(patterns), rng.choice(hosts), templates, now, rng)
        for _ in range(occurrences_per_client)
    ]
    _bulk(session, FailureOccurrence, occurrences)
    insights, examples = _insights(client_id, hosts, patterns, sizes, rng, now)
    _bulk(session, EnvironmentalInsight, insights)
    _bulk(session, EnvironmentalExample, examples)
    for host in rng.sample(hosts, min(5, len(hosts))):
        plan["hosts"].append((client_id, host["id"]))
        template = rng.choice(templates)
        shape = shape_command(template["command"])
        plan["checks"].append(
            (
                client_id,
                host["id"],
                template["command"],
                # Every key the service looks up (each reading, wrapper and program), its own first.
                list(dict.fromkeys([shape.key[:500], *check_keys(template["command"])])),
            )
        )
        plan["ingest"].append((client_id, host["id"], template, number))


def _host(client_id: str, index: int, now: datetime) -> dict[str, Any]:
    windows = index % 3 != 0
    return {
        "id": str(uuid.uuid4()),
        "client_id": client_id,
        "hostname": f"srv{index:04d}",
        "asset_type": "virtual_machine",
        "os": "Windows Server" if windows else "Ubuntu",
        "os_version": "2012 R2" if index % 5 == 0 else "2022",
        "shell_type": "powershell" if windows else "bash",
        "powershell_version": "4.0" if index % 5 == 0 else "5.1",
        "has_gui": windows,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def _pattern(client_id: str, template: dict[str, Any], now: datetime) -> dict[str, Any]:
    signature = template["signature"]
    return {
        "id": str(uuid.uuid4()),
        "client_id": client_id,
        "pattern_type": "other",
        "fingerprint": signature.digest(client_id),
        "fingerprint_version": signature.version,
        "command_key": signature.command_key[:500],
        "error_signature": signature.error_signature[:255],
        "exit_code": template["exit_code"],
        "host_count": 1,
        "session_count": 0,
        "sample_command": template["command"],
        "sample_error": template["error"][:2000],
        "occurrence_count": 10,
        "first_seen_at": now - timedelta(days=60),
        "last_seen_at": now - timedelta(days=1),
        "severity": "major",
        "is_active": True,
        "created_at": now,
        "updated_at": now,
    }


def _occurrence(
    pattern: dict[str, Any],
    host: dict[str, Any],
    templates: list[dict[str, Any]],
    now: datetime,
    rng: random.Random,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "failure_pattern_id": pattern["id"],
        "infrastructure_id": host["id"],
        "command": pattern["sample_command"],
        "error_output": pattern["sample_error"][:500],
        "exit_code": pattern["exit_code"],
        "observed_at": now - timedelta(minutes=rng.randint(1, 86_400)),
        "is_repeat": False,
    }


def _insights(
    client_id: str,
    hosts: list[dict[str, Any]],
    patterns: list[dict[str, Any]],
    sizes: dict[str, int],
    rng: random.Random,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    per_client = sizes["insights"] // sizes["clients"]
    client_level = int(per_client * CLIENT_LEVEL_SHARE)
    insights, examples = [], []
    for index in range(per_client):
        pattern = rng.choice(patterns)
        host = None if index < client_level else hosts[index % len(hosts)]
        selector = {"os_version": "2012 R2"} if host is None and index % 5 == 0 else None
        insight_id = str(uuid.uuid4())
        insights.append(
            {
                "id": insight_id,
                "client_id": client_id,
                "infrastructure_id": host and host["id"],
                "insight_category": "command_constraints",
                "host_selector": selector,
                "title": f"`{pattern['sample_command'][:120]}` fails here ({index})",
                "description": f"Failed with exit code {pattern['exit_code']}: "
                f"{pattern['error_signature']}",
                "confidence_level": rng.choice(["suspected", "likely", "confirmed"]),
                "priority": rng.randint(1, 10),
                "status": "active",
                "source_pattern_id": pattern["id"],
                "command_key": pattern["command_key"],
                "verification_count": 0,
                "support_count": 1,
                "counter_count": 0,
                "surfaced_count": 0,
                "valid_from": now - timedelta(days=30),
                "last_evidence_at": now - timedelta(days=rng.randint(0, 200)),
                "content_hash": hashlib.sha256(insight_id.encode()).hexdigest(),
                "created_at": now,
                "updated_at": now,
            }
        )
        if index % 4 == 0:
            examples.append(
                {
                    "id": str(uuid.uuid4()),
                    "insight_id": insight_id,
                    "kind": "dont",
                    "command": pattern["sample_command"],
                    "created_at": now,
                }
            )
    return insights, examples


# ----------------------------------------------------------------------------------------------
# Servers and load
# ----------------------------------------------------------------------------------------------


@contextmanager
def gunicorn(
    module: str, workdir: Path, database_url: str, workers: int, threads: int
) -> Iterator[str]:
    """One app under the deploy gunicorn config; yields its base URL."""
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": f"{REPO}:{workdir}",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "LOG_LEVEL": "WARNING",
    }
    log = (workdir / f"{module.split(':')[0]}.log").open("ab")
    process = subprocess.Popen(
        [GUNICORN, "--config", str(CONFIG), module], env=env, cwd=workdir, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # the bare app has no /healthz: a 404 means it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError("gunicorn never answered")


def _request_for(
    kind: str,
    target: str,
    plan: dict[str, Any],
    rng: random.Random,
) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path, json) of one request of this kind for the service or the baseline."""
    if kind == "briefing":
        client_id, host_id = rng.choice(plan["hosts"])
        if target == "service":
            return (
                "GET",
                f"/v1/clients/{client_id}/hosts/{host_id}/briefing?task=restart+service",
                None,
            )
        return "GET", f"/briefing/{client_id}/{host_id}", None
    if kind == "check":
        client_id, host_id, command, keys = rng.choice(plan["checks"])
        body = {"client_id": client_id, "infrastructure_id": host_id, "command": command}
        return (
            ("POST", "/v1/check", body)
            if target == "service"
            else ("POST", "/check", {**body, "keys": keys})
        )
    client_id, host_id, template, _ = rng.choice(plan["ingest"])
    body = {
        "client_id": client_id,
        "infrastructure_id": host_id,
        "command": template["command"],
        "error_output": template["error"],
        "exit_code": template["exit_code"],
    }
    if target == "service":
        return "POST", "/v1/failures", body
    return (
        "POST",
        "/failures",
        {
            **body,
            # The digest under every fingerprint version, current first, as ingest looks up.
            "fingerprints": [s.digest(client_id) for s in template["signatures"]],
            "keys": [template["signature"].command_key],
        },
    )


def _load_worker(args: tuple[str, str, str, dict[str, Any], float, int, int]) -> list[float]:
    """Run in a separate process: `concurrency` threads hammer one endpoint for `seconds`."""
    import requests  # the load generator's own client; keep-alive per thread

    base, kind, target, plan, seconds, concurrency, seed_value = args
    headers = {"Authorization": f"Bearer {plan['token']}"} if target == "service" else {}
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run(number: int) -> None:
        rng = random.Random(seed_value * 1000 + number)
        http = requests.Session()
        while time.monotonic() < stop_at:
            method, path, body = _request_for(kind, target, plan, rng)
            started = time.perf_counter()
            response = http.request(method, base + path, json=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if response.status_code < 300 else errors).append(
                    elapsed if response.status_code < 300 else response.status_code
                )

    threads = [threading.Thread(target=run, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"    {target} {kind}: {len(errors)} errors, e.g. HTTP {errors[0]}", flush=True)
    return latencies


def measure(
    base: str, kind: str, target: str, plan: dict[str, Any], seconds: float, concurrency: int
) -> dict[str, float]:
    """Warm up, then load from a second process; requests/s, p50 and p95 in ms."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(_load_worker, ((base, kind, target, plan, 1.5, concurrency, 1),))
        latencies = pool.apply(_load_worker, ((base, kind, target, plan, seconds, concurrency, 2),))
    latencies.sort()
    if not latencies:
        return {"rps": 0.0, "p50": float("nan"), "p95": float("nan")}
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def bench_database(url: str | None, keep: bool) -> contextlib.AbstractContextManager[str]:
    """A migrated database of our own, on the given server or a throwaway mariadbd."""
    return migrated_scratch_database(url, "bench_insights", keep=keep)


def print_table(results: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace) -> bool:
    """The figures beside the baseline's, the ratio, and whether each target is met."""
    print(
        f"\ninsights service vs bare Flask + the same SQL; gunicorn {args.workers} workers x "
        f"{args.threads} threads (deploy/gunicorn.conf.py); {args.concurrency} concurrent "
        f"clients from a second process; {args.seconds:.0f} s per run, median of {args.rounds}"
    )
    header = (
        f"{'endpoint':<10}{'svc req/s':>10}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'base req/s':>11}{'p50 ms':>8}{'p95 ms':>8}{'ratio':>7}{'target':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for kind, pair in results.items():
        service, base = pair["service"], pair["baseline"]
        ratio = service["rps"] / base["rps"] if base["rps"] else 0.0
        met = ratio >= TARGETS[kind]
        all_met = all_met and met
        print(
            f"{kind:<10}{service['rps']:>10.1f}{service['p50']:>8.1f}{service['p95']:>8.1f}"
            f"{base['rps']:>11.1f}{base['p50']:>8.1f}{base['p95']:>8.1f}{ratio:>7.2f}"
            f"{TARGETS[kind]:>8.2f}  {'met' if met else 'MISSED'}"
        )
    return all_met


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run(args: argparse.Namespace) -> bool:
    scale = 1.0 if args.full else args.scale
    sizes = _sizes(scale)
    print(f"seeding {sizes} ...", flush=True)
    with bench_database(args.url, args.keep) as database_url, tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        plan = seed(database_url, scale)
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
        workdir = Path(tmp)
        (workdir / "baseline_insights.py").write_text(BASELINE_APP)
        modules = {"service": "services.insights.wsgi:app", "baseline": "baseline_insights:app"}
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            kind: {"service": [], "baseline": []} for kind in TARGETS
        }
        for round_number in range(args.rounds):
            for kind in TARGETS:
                for target, module in modules.items():  # interleaved: noise hits both alike
                    with gunicorn(
                        module, workdir, database_url, args.workers, args.threads
                    ) as base:
                        figures = measure(base, kind, target, plan, args.seconds, args.concurrency)
                    runs[kind][target].append(figures)
                    print(
                        f"  round {round_number + 1} {kind:<9} {target:<9} "
                        f"{figures['rps']:8.1f} req/s  p50 {figures['p50']:6.1f} ms  "
                        f"p95 {figures['p95']:6.1f} ms",
                        flush=True,
                    )
        results = {
            kind: {t: _median_run(r) for t, r in pair.items()} for kind, pair in runs.items()
        }
        if args.json:
            Path(args.json).write_text(json.dumps({"sizes": sizes, "results": results}, indent=2))
        return print_table(results, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--full", action="store_true", help="the issue's full seed size")
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the full size")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    sys.exit(0 if run(args) else 1)


if __name__ == "__main__":
    main()
