"""PII redaction of model-call content in exported spans (`LEDGERD_REDACT_MODEL_CALLS`).

Model-call spans carry message content only when `LEDGERD_CAPTURE_MESSAGE_CONTENT` is on (for
debugging); a prompt then holds bank descriptors, names and emails, and spans leave the
process for a tracing backend. With redaction on (the default), `RedactingExporter` rewrites
the content attributes of each span before it is exported: emails, phone, card, IBAN, SSN and
account numbers become placeholders (`ledgerd.feedback.Redactor`, the export's own rules);
every other attribute passes unchanged, and so does a span without content.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import Attributes

from ledgerd.feedback._redact import Redactor

# The GenAI conventions' content attributes, as the anthropic SDK sets them.
CONTENT_ATTRIBUTES = frozenset(
    {
        "gen_ai.system_instructions",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "anthropic.tool_result.content",
    }
)


class RedactingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, redactor: Redactor | None = None) -> None:
        self._inner = inner
        self._redactor = redactor or Redactor()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([self._redacted(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def _attributes(self, attributes: Attributes) -> tuple[Attributes, bool]:
        if not attributes or not CONTENT_ATTRIBUTES & set(attributes):
            return attributes, False
        return {
            key: self._redactor.value(value) if key in CONTENT_ATTRIBUTES else value
            for key, value in attributes.items()
        }, True

    def _redacted(self, span: ReadableSpan) -> ReadableSpan:
        attributes, changed = self._attributes(span.attributes)
        events = []
        for event in span.events:
            event_attributes, event_changed = self._attributes(event.attributes)
            changed |= event_changed
            events.append(
                Event(event.name, event_attributes, event.timestamp) if event_changed else event
            )
        if not changed:
            return span
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
