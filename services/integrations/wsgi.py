"""WSGI entry point for gunicorn: `services.integrations.wsgi:app`."""

from services.integrations.app import create_app

app = create_app()
