"""The one gunicorn config takes its knobs from the environment, as gunicorn resolves them."""

from __future__ import annotations

import os
import os.path
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY

CONFIG = DEPLOY / "gunicorn.conf.py"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


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


def test_workers_and_threads_come_from_the_environment(tmp_path: Path) -> None:
    settings = resolved_settings(tmp_path, GUNICORN_WORKERS="3", GUNICORN_THREADS="6")
    assert (settings["workers"], settings["threads"]) == ("3", "6")
    assert settings["worker_class"] == "gthread"


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
    namespace = _exec_config()
    assert namespace["worker_tmp_dir"] is None


def _exec_config() -> dict[str, Any]:
    return runpy.run_path(str(CONFIG))


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
