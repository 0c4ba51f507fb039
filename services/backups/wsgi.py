"""WSGI entry point for gunicorn: `services.backups.wsgi:app`."""

from services.backups.app import create_app

app = create_app()
