"""Gunicorn settings shared by the three services; every knob comes from the environment."""

from __future__ import annotations

import glob
import json
import logging
import os
import select
import shutil
import signal
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from gunicorn import glogging
from gunicorn import util as gunicorn_util
from gunicorn.workers.gthread import ThreadWorker


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    """Read a whole-number setting, stopping with one line that names a bad variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise SystemExit(f"configuration error: {name} must be a whole number >= {minimum}")
    return int(raw)


def _heartbeat_dir() -> str | None:
    """Pick a tmpfs for the worker heartbeat file; fall back to the default temp dir without one."""
    # The heartbeat calls os.fchmod on this file; on a disk-backed /tmp that can block a worker.
    shm = "/dev/shm"  # noqa: S108 - a tmpfs is the point, not a shared temp file name
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return None


_OWN_METRICS_DIR_PREFIX = "gunicorn-metrics-"


def _metrics_dir() -> str:
    """The operator's PROMETHEUS_MULTIPROC_DIR, else a fresh one named for this master.

    prometheus_client decides when first imported whether metrics live in per-process files
    (summed by every /metrics scrape) or in the answering worker's memory. With preload_app
    the app is imported in the master before any server hook runs, so the variable is set
    here, while this file is read; the workers inherit it. The directory exists before the app
    is imported, and an operator's is emptied: files of an earlier run would be summed in.
    """
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not chosen:
        parent = _heartbeat_dir() or tempfile.gettempdir()
        _sweep_dead_masters_dirs(parent)
        chosen = os.path.join(parent, f"{_OWN_METRICS_DIR_PREFIX}{os.getpid()}")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = chosen
    os.makedirs(chosen, mode=0o700, exist_ok=True)
    for stale in glob.glob(os.path.join(chosen, "*.db")):
        os.remove(stale)
    return chosen


def _sweep_dead_masters_dirs(parent: str) -> None:
    """Remove the metrics directories of masters that are gone.

    on_exit removes a master's own directory, but a master that failed to start or was killed
    never gets there, and on a long-lived host /dev/shm would collect them.
    """
    for path in glob.glob(os.path.join(parent, _OWN_METRICS_DIR_PREFIX + "*")):
        pid = path.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's live process
    return True


SERVICE = os.environ.get("K_SERVICE") or os.environ.get("SERVICE_NAME") or "msp"
METRICS_DIR = _metrics_dir()


_TRACE_ID = "msp.trace_id"  # shared.web.tracing.ACCESS_LOG_TRACE_ID (not imported: see below)


class JsonLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """Gunicorn logger writing each access and error line as one JSON object, like the apps."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(_JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        # Imported here, not at the top: gunicorn reads this file before the app's import
        # path is set up, and by the time a request is logged the app (and shared) is loaded.
        from shared.redaction import redact_query

        atoms = self.atoms(resp, req, environ, request_time)
        status = str(atoms["s"])
        self.access_log.info(
            "%s %s %s",
            atoms["m"],
            atoms["U"],
            status,
            extra={
                "access": {
                    "remote_addr": atoms["h"],
                    "method": atoms["m"],
                    "path": atoms["U"],
                    # Syncro and Zapier webhooks carry their secret as ?token=...
                    "query": redact_query(atoms["q"]) or None,
                    "status": int(status) if status.isdigit() else status,
                    "bytes": atoms["B"],
                    "duration_ms": atoms["M"],
                    "request_id": atoms.get("{x-request-id}o") or atoms.get("{x-request-id}i"),
                    # Left by shared.web.tracing when tracing is on (the span has ended by now).
                    **({"trace_id": environ[_TRACE_ID]} if _TRACE_ID in environ else {}),
                    "user_agent": atoms["a"],
                    "pid": os.getpid(),
                }
            },
        )


class _JsonFormatter(logging.Formatter):
    """The apps' JSON line shape (time, level, name, message, service) for gunicorn's records."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # RFC 3339 in UTC, as shared.observability.rfc3339_time writes the apps' lines (a test
        # holds the two equal). Not imported: this file is read before the app's path is set up.
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
            "service": SERVICE,
        }
        line.update(getattr(record, "access", {}))
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _bind_host() -> str:
    """BIND_HOST, else every interface; an IPv6 address gets the brackets gunicorn's bind needs."""
    host = os.environ.get("BIND_HOST", "").strip() or "0.0.0.0"  # noqa: S104 - see bind below
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


# Knative, Cloud Run and Kubernetes all hand the port in as $PORT, and a container listens on
# every interface (its network is the platform's). BIND_HOST narrows that on a machine whose
# other interfaces are not: ./dev run sets 127.0.0.1, so a laptop keeps its dev API to itself.
bind = [f"{_bind_host()}:{_env_int('PORT', 8000, minimum=1)}"]

# cpu_count() sees the host, not the cgroup quota, so the platform sets these explicitly.
# workers x threads must equal Knative containerConcurrency (checked in tests/deploy).
workers = _env_int("GUNICORN_WORKERS", 2, minimum=1)
threads = _env_int("GUNICORN_THREADS", 4, minimum=1)


# gunicorn answers a request it cannot parse itself, before any app code runs: a request line
# over limit_request_line (414), too many or too large headers (431), malformed HTTP (400). It
# writes that page through gunicorn.util.write_error as text/html and has no hook for the body,
# so the worker below swaps that one function, in its own process only, for one writing the
# problem+json every other error has. The type URIs are shared.errors.PROBLEM_BASE's (a test
# holds them equal; shared is not imported: bare apps run under this config too). The detail
# never echoes the request: a header or query it quotes could hold a secret.
PROBLEM_BASE = "https://msp-backend.dev/problems/"
_GUNICORN_PROBLEMS = {
    400: ("bad-request", "the request is not valid HTTP"),
    403: ("forbidden", "the request was refused by the server"),
    414: ("uri-too-long", "the request line (method, path and query) is too long"),
    417: ("expectation-failed", "the Expect header cannot be met"),
    431: ("header-fields-too-large", "the request headers are too many or too large"),
    500: ("internal-error", "the server failed; the error was logged"),
    501: ("not-implemented", "the transfer coding is not supported"),
}


def write_problem(sock: Any, status: int, reason: str, _message: str) -> None:
    """gunicorn's own error answer as RFC 9457 problem+json (replaces util.write_error)."""
    slug, detail = _GUNICORN_PROBLEMS.get(status, ("bad-request", reason))
    problem = {"type": PROBLEM_BASE + slug, "title": reason, "status": status, "detail": detail}
    body = json.dumps(problem).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


# Liveness that cannot be starved: when every thread of a worker is held (requests stuck on a
# frozen database, slow clients reaching a bare gunicorn), a queued GET /healthz would wait
# behind them and the platform would restart a healthy process. So a saturated worker answers
# a complete GET /healthz itself, in its main loop, before the queue; readiness (/readyz) and
# everything else still go through the app. The answer is the app's own /healthz body.
_LIVENESS_REQUEST = b"GET /healthz "
_LIVENESS_BODY = b'{"status":"ok"}\n'
_LIVENESS_ANSWER = (
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b"Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_LIVENESS_BODY), _LIVENESS_BODY)
)
_LIVENESS_WAIT_SECONDS = 0.1  # for the request to follow the connect; never longer: main loop


def answer_liveness(sock: socket.socket) -> bool:
    """Answer a complete GET /healthz waiting on `sock` without a thread; False if it is not one."""
    if not select.select([sock], [], [], _LIVENESS_WAIT_SECONDS)[0]:
        return False
    try:
        head = sock.recv(limit_request_field_size, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        end = head.find(b"\r\n\r\n")
        if not head.startswith(_LIVENESS_REQUEST) or end < 0:
            return False
        sock.recv(end + 4)  # consume exactly the request head: a GET has no body
        sock.sendall(_LIVENESS_ANSWER)
    except OSError:
        return False
    return True


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's gthread worker whose own error pages (400, 414, 431...) are problem+json,
    and whose liveness answer does not queue behind busy threads."""

    in_flight = 0  # connections handed to the thread pool and not finished (main loop only)

    def init_process(self) -> None:
        gunicorn_util.write_error = write_problem
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        if self.in_flight >= self.cfg.threads and answer_liveness(conn.sock):
            self.nr_conns -= 1
            conn.close()
            return
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)


worker_class = ProblemThreadWorker
# gunicorn's parsing limits, stated rather than implied: a request line of 4094 bytes holds any
# path with its filters and a keyset cursor; headers stay at 100 fields of at most 8190 bytes.
# Bodies are the app's (MAX_CONTENT_LENGTH, 413).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# timeout only kills a worker whose main loop stops heart-beating; request time limits belong
# to the platform (Knative timeoutSeconds, Cloud Run request timeout).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# Must stay below the platform grace period: Cloud Run gives 10 s, Kubernetes 30 s by default.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 8)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Recycling guards against slow leaks; jitter keeps workers from restarting together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 0)

worker_tmp_dir = _heartbeat_dir()

# Import the app once in the master and fork workers from it: the workers share the imported
# code copy-on-write (memory per worker) and start without importing again (cold start).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").strip().lower() not in {"0", "false", "no"}


# Where an app keeps what a forked worker must redo (shared.web.forking.on_worker_fork adds).
AFTER_FORK_RESETS = "after_fork_resets"


def post_fork(server: Any, worker: Any) -> None:
    """Give each worker its own database, HTTP and KMS connections: none may cross a fork.

    Read off the app, not imported: importing shared.web here would load the whole stack into
    every worker of any app this config serves (the bare baselines of bench/ included).
    """
    app = getattr(worker.app, "callable", None)  # set in the master when the app was preloaded
    for reset in getattr(app, "extensions", {}).get(AFTER_FORK_RESETS, ()):
        reset()


# Where an app lists what must run when its worker is told to stop (services.backups.app adds
# stop_backup_jobs): each is called with how many seconds it may wait for its work to end.
WORKER_SHUTDOWN_HOOKS = "worker_shutdown_hooks"
_SHUTDOWN_MARGIN_SECONDS = 1.0  # left for the worker to exit before the master's SIGKILL
_term_received_at: list[float] = []


def _shutdown_hooks(worker: Any) -> list[Any]:
    app = getattr(worker.app, "callable", None)
    return list(getattr(app, "extensions", {}).get(WORKER_SHUTDOWN_HOOKS, ()))


def _run_shutdown_hooks(hooks: list[Any], wait_seconds: float) -> None:
    for hook in hooks:
        try:
            hook(wait_seconds)
        except Exception:  # one app's hook must not keep the others from running
            logging.getLogger("gunicorn.error").exception("worker shutdown hook failed")


def post_worker_init(worker: Any) -> None:
    """SIGTERM reaches the app's background work at once, not after the last request ends.

    gunicorn's own handler only ends the accept loop; a backup job running in the worker would
    keep dumping until the master's SIGKILL at graceful_timeout and leave its row in_progress.
    """
    hooks = _shutdown_hooks(worker)
    if not hooks:
        return
    gunicorn_handler = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        _term_received_at.append(time.monotonic())
        # Not in the handler itself: a hook takes locks the interrupted code may hold.
        threading.Thread(target=_run_shutdown_hooks, args=(hooks, 0.0), daemon=True).start()
        if callable(gunicorn_handler):
            gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


def worker_int(worker: Any) -> None:
    """SIGINT or SIGQUIT (a quick stop): the app's background work is told to stop too."""
    _run_shutdown_hooks(_shutdown_hooks(worker), 0.0)


# Where an app lists what must run last in an exiting worker (shared.web.tracing adds the flush
# of the spans still batched): each is called with how many seconds it may take.
WORKER_EXIT_FLUSHES = "worker_exit_flushes"
_FLUSH_SECONDS = 2.0


def worker_exit(server: Any, worker: Any) -> None:
    """Give the app's background work what is left of the grace period to record its end,
    then send what it traced (the batch exporter would lose it with the process)."""
    began = _term_received_at[0] if _term_received_at else time.monotonic()
    left = graceful_timeout - (time.monotonic() - began) - _SHUTDOWN_MARGIN_SECONDS
    _run_shutdown_hooks(_shutdown_hooks(worker), max(left, 0.0))
    app = getattr(worker.app, "callable", None)
    flushes = list(getattr(app, "extensions", {}).get(WORKER_EXIT_FLUSHES, ()))
    spent = time.monotonic() - began  # never past the master's SIGKILL at graceful_timeout
    _run_shutdown_hooks(flushes, max(min(_FLUSH_SECONDS, graceful_timeout - spent - 0.5), 0.1))


def child_exit(server: Any, worker: Any) -> None:
    """Forget a dead worker's live gauges; its counters stay in the scrape's totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


def on_exit(server: Any) -> None:
    """Remove the metrics directory this master made; an operator's own is left alone."""
    if os.path.basename(METRICS_DIR).startswith(_OWN_METRICS_DIR_PREFIX):
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


# Only trust X-Forwarded-* from the platform's proxy (queue-proxy / ingress sits on loopback).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The runtime control socket lives under $HOME by default, which is read-only in our images.
control_socket_disable = True

logger_class = JsonLogger
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = SERVICE
