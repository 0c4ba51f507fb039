"""What one hook run leaves for the next: a check's id until its outcome, and what was said once."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

# A check whose command never reported back is forgotten after a day.
CHECK_MEMORY_SECONDS = 86_400


class HookState:
    """Small files under the state folder, named by a hash so no id can escape the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def remember_check(self, tool_use_id: str, check_id: str) -> None:
        """Keep the check's id so the after-command hook can report its outcome."""
        if tool_use_id:
            self._write("checks", tool_use_id, check_id)

    def take_check(self, tool_use_id: str) -> str | None:
        """The check made before this tool call, once: a second read finds nothing."""
        path = self._path("checks", tool_use_id)
        try:
            check_id = path.read_text(encoding="utf-8").strip()
            path.unlink()
        except OSError:
            return None
        return check_id or None

    def first_time(self, topic: str, session_id: str) -> bool:
        """True the first time this topic comes up in this session, then False."""
        path = self._path("said", f"{topic}:{session_id}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with path.open("x", encoding="utf-8"):
                return True
        except FileExistsError:
            return False
        except OSError:
            return True

    def forget_old_checks(self) -> None:
        """Drop checks older than a day (their commands never reported back)."""
        cutoff = time.time() - CHECK_MEMORY_SECONDS
        for path in (self.folder / "checks").glob("*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    def _write(self, kind: str, key: str, value: str) -> None:
        path = self._path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(value, encoding="utf-8")
            temporary.replace(path)
        except OSError:
            return  # losing an outcome report is better than failing the command

    def _path(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.folder / kind / digest
