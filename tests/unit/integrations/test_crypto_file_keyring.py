"""A key file's keyring follows the file: versions added elsewhere are used without a restart."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.crypto import DecryptionFailed, FileKeyring, LocalKeyring, save_key_file

CONTEXT = {"credential_id": "cred-a", "credential_version": "1"}
INTERVAL = 1.0
REPO = Path(__file__).resolve().parents[3]


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    save_key_file(LocalKeyring({"local-1": os.urandom(32)}, "local-1"), path)
    return path


def _held(path: Path, clock: Clock) -> FileKeyring:
    """The keyring a running worker holds since it started."""
    return FileKeyring(path, check_interval=INTERVAL, clock=clock)


def _add_key_elsewhere(path: Path) -> FileKeyring:
    """What `keys add` does in the CLI process: its own keyring object adds a version."""
    writer = FileKeyring(path)
    writer.add_key()
    return writer


def test_new_data_keys_use_a_version_added_by_another_writer_at_once(key_file: Path) -> None:
    clock = Clock()  # never moves: a write looks at the file every time, whatever the interval
    held = _held(key_file, clock)
    assert held.generate_data_key(CONTEXT).kek_id == "local-1"
    _add_key_elsewhere(key_file)
    data_key = held.generate_data_key(CONTEXT)
    assert data_key.kek_id == "local-2"
    assert FileKeyring(key_file).unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext


def test_the_active_version_a_held_keyring_reports_follows_the_file_after_the_interval(
    key_file: Path,
) -> None:
    clock = Clock()
    held = _held(key_file, clock)
    _add_key_elsewhere(key_file)
    # Within the interval the file is not even looked at for this (no syscall on reads).
    assert held.active_kek_id == "local-1"
    clock.now += INTERVAL
    assert held.active_kek_id == "local-2"


def test_keys_added_by_several_processes_at_once_are_all_kept(key_file: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from shared.crypto import FileKeyring;"
        "[FileKeyring(Path(sys.argv[1])).add_key() for _ in range(10)]"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(key_file)], cwd=REPO) for _ in range(3)
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    assert len(FileKeyring(key_file).kek_ids()) == 1 + 3 * 10


def test_a_data_key_wrapped_by_a_newer_version_unwraps_at_once_in_a_held_keyring(
    key_file: Path,
) -> None:
    held = _held(key_file, Clock())  # the clock never moves: only the unknown version rereads
    old_data_key = held.generate_data_key(CONTEXT)
    writer = _add_key_elsewhere(key_file)
    rewrapped, kek_id = writer.rewrap(old_data_key.wrapped, CONTEXT)  # what `rewrap` does
    assert kek_id == "local-2"
    assert held.unwrap(rewrapped, CONTEXT) == old_data_key.plaintext
    assert held.generate_data_key(CONTEXT).kek_id == "local-2"


def test_a_version_in_no_file_still_fails_after_the_reread(key_file: Path) -> None:
    held = _held(key_file, Clock())  # the clock never moves: only the unknown version rereads
    _add_key_elsewhere(key_file)
    stranger = LocalKeyring({"local-9": os.urandom(32)}, "local-9")
    with pytest.raises(DecryptionFailed):
        held.unwrap(stranger.generate_data_key(CONTEXT).wrapped, CONTEXT)
    assert held.active_kek_id == "local-2"  # the file was read again before it failed


def test_a_key_added_twice_from_stale_objects_keeps_every_version(key_file: Path) -> None:
    first, second = FileKeyring(key_file), FileKeyring(key_file)
    assert (first.add_key(), second.add_key()) == ("local-2", "local-3")
    assert sorted(json.loads(key_file.read_text())["keys"]) == ["local-1", "local-2", "local-3"]


def _truncated(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # a writer caught halfway (not an atomic replace)


def _active_not_in_keys(path: Path) -> None:
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "active": "local-missing"}))


def _short_key(path: Path) -> None:
    doc = json.loads(path.read_text())
    doc["keys"]["local-2"] = base64.b64encode(b"short").decode()
    path.write_text(json.dumps({**doc, "active": "local-2"}))


@pytest.mark.parametrize(
    "spoil",
    [_truncated, _active_not_in_keys, _short_key, Path.unlink],
    ids=["half-written", "active-not-in-keys", "short-key", "deleted"],
)
def test_a_spoiled_key_file_keeps_the_keys_held_and_warns_once_without_key_material(
    key_file: Path, spoil: Callable[[Path], object], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    held = _held(key_file, clock)
    data_key = held.generate_data_key(CONTEXT)
    key_text = json.loads(key_file.read_text())["keys"]["local-1"]
    spoil(key_file)
    with caplog.at_level(logging.WARNING, logger="shared.crypto.local_keyring"):
        for _ in range(3):
            clock.now += INTERVAL
            assert held.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext
            assert held.generate_data_key(CONTEXT).kek_id == "local-1"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(key_file) in warnings[0]
    assert key_text not in caplog.text


def test_a_key_file_repaired_after_a_bad_write_is_picked_up(key_file: Path) -> None:
    clock = Clock()
    held = _held(key_file, clock)
    good = key_file.read_text()
    _truncated(key_file)
    clock.now += INTERVAL
    assert held.active_kek_id == "local-1"
    key_file.write_text(good)
    _add_key_elsewhere(key_file)
    clock.now += INTERVAL
    assert held.active_kek_id == "local-2"
