"""Proving a backup good: its checksum, or a restore compared with the source inventory."""
