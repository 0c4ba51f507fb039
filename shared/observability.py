"""JSON logs on stdout that carry the request id, and the context variable holding it."""

from __future__ import annotations

import logging
import sys
import traceback
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

# Set per request by the web layer, read by logs and by outgoing peer calls.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or '-') to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON line per record on stdout, with service name and request id."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every readiness probe's version check at INFO; that is noise.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def log_current_exception(logger: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled by its type and frames only.

    Never its message: database errors carry their SQL parameters there, and other
    exceptions may quote a secret they were handed.
    """
    error = sys.exc_info()[1]
    frames = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    logger.error(message + ": %s\n%s", *args, type(error).__name__, frames)
