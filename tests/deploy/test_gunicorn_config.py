"""The one gunicorn config takes its knobs from the environment, as gunicorn resolves them."""

from __future__ import annotations

import os
import os.path
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from shared.web import on_worker_fork
from tests.deploy.conftest import DEPLOY

CONFIG = DEPLOY / "gunicorn.conf.py"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def resolved_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    """Settings as gunicorn prints them after loading the config (--print-config)."""
    (tmp_path / "bare.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n", encoding="utf-8"
    )
    result = subprocess.run(
        [GUNICORN, "--print-config", "--config", str(CONFIG), "bare:app"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    settings = {}
    for line in result.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_binds_every_interface_on_the_platform_port(tmp_path: Path) -> None:
    assert resolved_settings(tmp_path, PORT="8123")["bind"] == "['0.0.0.0:8123']"


@pytest.mark.parametrize(
    ("bind_host", "bound"), [("127.0.0.1", "127.0.0.1:8123"), ("::1", "[::1]:8123")]
)
def test_bind_host_narrows_the_interfaces_listened_on(
    tmp_path: Path, bind_host: str, bound: str
) -> None:
    # ./dev run sets it, so a laptop does not serve the API to its whole network.
    settings = resolved_settings(tmp_path, PORT="8123", BIND_HOST=bind_host)
    assert settings["bind"] == f"['{bound}']"


def test_no_container_target_narrows_the_bind_to_loopback(repo: Path) -> None:
    # Inside a container loopback is the container's own: probes and peers would find nothing.
    targets = [repo / "docker-compose.yml", *(p for p in DEPLOY.rglob("*") if p.is_file())]
    setting_it = [
        str(path.relative_to(repo))
        for path in targets
        if path.suffix != ".pyc"
        and path != CONFIG
        and "BIND_HOST" in path.read_text(errors="ignore")
    ]
    assert setting_it == []


def test_workers_and_threads_come_from_the_environment(tmp_path: Path) -> None:
    settings = resolved_settings(tmp_path, GUNICORN_WORKERS="3", GUNICORN_THREADS="6")
    assert (settings["workers"], settings["threads"]) == ("3", "6")
    assert settings["worker_class"] == "<ProblemThreadWorker()>"  # gthread, problem+json errors


def test_defaults_drain_within_the_shortest_platform_grace_period(tmp_path: Path) -> None:
    # Cloud Run sends SIGKILL 10 s after SIGTERM; Kubernetes 30 s by default.
    settings = resolved_settings(tmp_path)
    assert int(settings["graceful_timeout"]) < 10
    assert settings["workers"] == "2" and settings["threads"] == "4"


def test_logs_are_json_to_stdout_and_forwarded_headers_trusted_only_from_loopback(
    tmp_path: Path,
) -> None:
    settings = resolved_settings(tmp_path)
    assert settings["accesslog"] == "-"
    assert settings["logger_class"] == "<JsonLogger()>"
    assert settings["forwarded_allow_ips"] == "['127.0.0.1', '::1']"
    overridden = resolved_settings(tmp_path, FORWARDED_ALLOW_IPS="10.0.0.0/8")
    assert overridden["forwarded_allow_ips"] == "['10.0.0.0/8']"


def test_heartbeat_file_lives_on_dev_shm_when_there_is_one(tmp_path: Path) -> None:
    expected = "/dev/shm" if Path("/dev/shm").is_dir() else "None"
    assert resolved_settings(tmp_path)["worker_tmp_dir"] == expected


def test_heartbeat_falls_back_to_the_default_temp_dir_without_dev_shm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: False if p == "/dev/shm" else real_isdir(p))
    namespace = _exec_config(monkeypatch)
    assert namespace["worker_tmp_dir"] is None


def _exec_config(monkeypatch: pytest.MonkeyPatch, metrics_dir: str = "") -> dict[str, Any]:
    """Run the config file in this process. It names a metrics directory in os.environ when
    none is set ("" counts as none); monkeypatch takes that back after the test."""
    monkeypatch.setenv(METRICS_ENV, metrics_dir)
    return runpy.run_path(str(CONFIG))


def test_a_fresh_metrics_directory_lives_from_reading_the_config_to_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _exec_config(monkeypatch)
    metrics_dir = Path(config["METRICS_DIR"])
    # Named and made while the config is read, before a preloaded app imports prometheus_client.
    assert os.environ[METRICS_ENV] == str(metrics_dir)
    assert metrics_dir.is_dir() and not any(metrics_dir.iterdir())
    (metrics_dir / "gauge_livesum_4242.db").write_bytes(b"")
    config["child_exit"](None, SimpleNamespace(pid=4242))
    assert not any(metrics_dir.iterdir()), "a dead worker's live gauges are dropped"
    config["on_exit"](None)
    assert not metrics_dir.exists()


def test_an_operators_metrics_directory_is_emptied_of_old_counts_and_left_in_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_4242.db").write_bytes(b"an earlier run's counts")
    (tmp_path / "README").write_text("the operator's own file")
    config = _exec_config(monkeypatch, metrics_dir=str(tmp_path))
    assert config["METRICS_DIR"] == str(tmp_path) == os.environ[METRICS_ENV]
    assert [p.name for p in tmp_path.iterdir()] == ["README"]
    config["on_exit"](None)
    assert tmp_path.is_dir()


def test_post_fork_runs_the_preloaded_apps_fork_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    post_fork = _exec_config(monkeypatch)["post_fork"]
    app = Flask("preloaded")
    resets: list[str] = []
    on_worker_fork(app, lambda: resets.append("dropped"))
    post_fork(None, SimpleNamespace(app=SimpleNamespace(callable=app)))
    assert resets == ["dropped"]
    # Without preload_app the worker imports the app itself, after the fork: nothing to drop.
    post_fork(None, SimpleNamespace(app=SimpleNamespace(callable=None)))
    assert resets == ["dropped"]


@pytest.mark.parametrize(
    ("name", "value", "minimum"),
    [
        ("GUNICORN_WORKERS", "two", 1),
        ("GUNICORN_WORKERS", "0", 1),
        ("GUNICORN_THREADS", "-1", 1),
        ("PORT", "http", 1),
        ("GUNICORN_GRACEFUL_TIMEOUT", "8.5", 0),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str, minimum: int
) -> None:
    (tmp_path / "bare.py").write_text("app = None\n", encoding="utf-8")
    result = subprocess.run(
        [GUNICORN, "--print-config", "--config", str(CONFIG), "bare:app"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"configuration error: {name} must be a whole number >= {minimum}"
    ]


def test_post_fork_loads_nothing_into_a_bare_apps_workers(tmp_path: Path) -> None:
    # The bare Flask baselines of bench/ run under this config: their workers must stay bare.
    script = (
        "import runpy, sys, types; from flask import Flask;"
        f"config = runpy.run_path({str(CONFIG)!r});"
        "config['post_fork'](None, types.SimpleNamespace("
        "app=types.SimpleNamespace(callable=Flask('bare'))));"
        "print(sorted(m for m in sys.modules if m.startswith(('shared', 'sqlalchemy'))))"
    )
    env = {**os.environ, METRICS_ENV: str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_metrics_directories_of_masters_that_are_gone_are_swept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sweep = _exec_config(monkeypatch, metrics_dir=str(tmp_path / "operator"))[
        "_sweep_dead_masters_dirs"
    ]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a master that has exited
    gone.wait()
    for pid in (gone.pid, os.getpid()):
        (tmp_path / f"gunicorn-metrics-{pid}").mkdir()
    sweep(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"gunicorn-metrics-{os.getpid()}",
        "operator",
    ]
