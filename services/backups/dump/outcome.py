"""What a finished dump produced, whichever engine made it (mariadb-dump or SQLite's backup API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DumpOutcome:
    """What a finished dump produced, ready to be written into backup_log."""

    location: str
    stored_bytes: int
    raw_bytes: int
    checksum_sha256: str
    compression: str
    tables_dumped: int
    server_version: str | None = None
    binlog_position: str | None = None
    inventory: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def rate_bytes_per_s(self) -> float | None:
        """Raw SQL (or SQLite pages) per second over the whole dump; None when untimed."""
        return round(self.raw_bytes / self.seconds, 1) if self.seconds else None
