"""WSGI entry point for gunicorn: `services.insights.wsgi:app`."""

from services.insights.app import create_app

app = create_app()
