"""Backup schedules: cron + timezone, run-due, GFS retention, staleness."""
