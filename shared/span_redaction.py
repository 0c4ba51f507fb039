"""Spans leave the process with secrets masked in their free text (shared.redaction's rules).

The request hooks of shared.web.tracing mask the URLs a span records; an exception's message is
recorded as it is, though: a failed call's names its URL, query and all (requests'
ConnectionError), and a view's may quote what a vendor answered. Imported only once tracing is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from shared.redaction import redact_text


class RedactingSpanExporter(SpanExporter):
    """Masks secrets in each span's events (exception message and stack) and status, then
    hands the spans to `exporter`; run in the batch processor's thread, not the request's."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([_redacted(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _redacted(span: ReadableSpan) -> ReadableSpan:
    if not span.events and not span.status.description:
        return span
    description = span.status.description
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=[
            Event(event.name, _masked(event.attributes), event.timestamp) for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, description and redact_text(description)),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _masked(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        key: redact_text(value) if isinstance(value, str) else value
        for key, value in (attributes or {}).items()
    }
