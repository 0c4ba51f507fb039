"""Read what the services' JSON log handler writes, as parsed lines, while a test runs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shared.observability import RequestIdFilter

JsonLines = Callable[[], list[dict[str, Any]]]


@contextmanager
def json_log_lines() -> Iterator[JsonLines]:
    """A second handler with the app's own formatter and filters, writing to a buffer.

    The app's handler writes to the stdout it found at start-up; copying its formatter and
    filters keeps what is read here exactly what an operator would read there.
    """
    root = logging.getLogger()
    original = next(h for h in root.handlers if _adds_request_ids(h))
    buffer = io.StringIO()
    copy = logging.StreamHandler(buffer)
    copy.setFormatter(original.formatter)
    for log_filter in original.filters:
        copy.addFilter(log_filter)
    root.addHandler(copy)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(copy)


def _adds_request_ids(handler: logging.Handler) -> bool:
    return any(isinstance(f, RequestIdFilter) for f in handler.filters)
