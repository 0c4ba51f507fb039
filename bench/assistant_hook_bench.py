"""Assistant hook benchmark: the before-command hook's wall time beside a bare Python HTTP call.

Both sides are new processes fed the same PreToolUse event on stdin and make one POST /v1/check
to the same loopback server, in the same run, alternating so load hits both alike:
  hook       `msp-assistant-hook pre-tool-use` (process start to decision on stdout)
  baseline   `python -c ...` reading stdin and making one urllib call (the floor for any hook)
The server is by default a stdlib one answering a canned `ok` verdict at once, so the figure is
the hook's own overhead; --insights-url with --token/--client/--host measures a real service.
Target (issue #15): hook p50 at most 1.5x the baseline's.

Usage: .venv/bin/python bench/assistant_hook_bench.py [--runs 60]
       [--insights-url URL --token T --client ID --host ID]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOOK = str(Path(sys.executable).parent / "msp-assistant-hook")
CANNED = json.dumps(
    {"id": "0" * 36, "verdict": "ok", "command_key": "uptime", "reasons": [], "alternatives": []}
).encode()
BASELINE = """
import json, sys, urllib.request
event = json.loads(sys.stdin.read())
body = json.dumps({"client_id": sys.argv[2], "infrastructure_id": sys.argv[3],
                   "command": event["tool_input"]["command"]}).encode()
request = urllib.request.Request(sys.argv[1] + "/v1/check", data=body, method="POST",
    headers={"Authorization": "Bearer " + sys.argv[4], "Content-Type": "application/json"})
print(urllib.request.urlopen(request, timeout=5).read().decode())
"""


class CannedCheck(BaseHTTPRequestHandler):
    """Answers every POST like the check endpoint with an `ok` verdict."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(CANNED)))
        self.end_headers()
        self.wfile.write(CANNED)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def canned_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedCheck)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def timed(command: list[str], stdin: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=30)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def measure(url: str, arguments: argparse.Namespace) -> dict[str, list[float]]:
    event = json.dumps(
        {
            "session_id": "bench",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "uptime", "description": "bench"},
            "tool_use_id": "toolu_bench",
        }
    )
    with tempfile.TemporaryDirectory() as state:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": state,
            "MSP_INSIGHTS_URL": url,
            "MSP_TOKEN": arguments.token,
            "MSP_CLIENT_ID": arguments.client,
            "MSP_HOST_ID": arguments.host,
            "MSP_ASSISTANT_STATE_DIR": state,
            "MSP_CHECK_TIMEOUT_MS": "5000",
        }
        baseline = [sys.executable, "-c", BASELINE, url, arguments.client, arguments.host]
        baseline.append(arguments.token)
        samples: dict[str, list[float]] = {"hook": [], "baseline": []}
        for _ in range(arguments.runs):
            samples["hook"].append(timed([HOOK, "pre-tool-use"], event, env))
            samples["baseline"].append(timed(baseline, event, env))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--insights-url", default="")
    parser.add_argument("--token", default="msp_bench")
    parser.add_argument("--client", default="c" * 36)
    parser.add_argument("--host", default="h" * 36)
    arguments = parser.parse_args()
    if arguments.insights_url:
        samples = measure(arguments.insights_url.rstrip("/"), arguments)
    else:
        with canned_server() as url:
            samples = measure(url, arguments)
    hook, base = percentiles(samples["hook"]), percentiles(samples["baseline"])
    print(f"runs: {arguments.runs} each, alternating; server: {arguments.insights_url or 'canned'}")
    print(f"{'':10}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'hook':10}{hook[0] * 1000:10.1f}{hook[1] * 1000:10.1f}")
    print(f"{'baseline':10}{base[0] * 1000:10.1f}{base[1] * 1000:10.1f}")
    print(f"ratio     {hook[0] / base[0]:10.2f}x{hook[1] / base[1]:9.2f}x  (target p50 <= 1.5x)")


if __name__ == "__main__":
    main()
