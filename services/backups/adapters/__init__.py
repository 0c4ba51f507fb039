"""Adapters to the outside systems the backups service talks to: MariaDB, SQLite, storage."""
