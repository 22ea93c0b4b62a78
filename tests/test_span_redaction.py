"""Model-call content leaves the process redacted: a real tracer provider and span processor
export through `RedactingExporter` into an in-memory exporter."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ledgerd.span_redaction import RedactingExporter

PROMPT = json.dumps(
    [
        {
            "role": "user",
            "parts": [
                {
                    "type": "text",
                    "content": "Hydrate 'PAYPAL *JANE jane.doe@example.com 4111 1111 1111 1111' "
                    "for acme; call +1 (415) 555-0134",
                }
            ],
        }
    ]
)


def test_content_attributes_are_redacted_and_everything_else_is_kept() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(memory)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat claude-sonnet-5-5") as span:
        span.set_attribute("gen_ai.input.messages", PROMPT)
        span.set_attribute("gen_ai.request.model", "claude-sonnet-5-5")
        span.set_attribute("gen_ai.usage.input_tokens", 812)
        span.add_event("tool", {"gen_ai.tool.call.arguments": '{"email": "cfo@initech.example"}'})
    with tracer.start_as_current_span("SELECT ledgerd") as plain:
        plain.set_attribute("db.statement", "SELECT 1")
    provider.shutdown()

    redacted, untouched = memory.get_finished_spans()
    attributes = dict(redacted.attributes or {})
    content = str(attributes["gen_ai.input.messages"])
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111", "555-0134"):
        assert secret not in content
    assert "[EMAIL]" in content and "[CARD]" in content and "[PHONE]" in content
    assert "PAYPAL *JANE" in content and "for acme" in content  # the rest stays readable
    assert json.loads(content)[0]["role"] == "user"  # still the JSON it was
    assert attributes["gen_ai.request.model"] == "claude-sonnet-5-5"
    assert attributes["gen_ai.usage.input_tokens"] == 812
    [event] = redacted.events
    assert event.attributes == {"gen_ai.tool.call.arguments": '{"email": "[EMAIL]"}'}
    assert redacted.name == "chat claude-sonnet-5-5"
    assert untouched.attributes == {"db.statement": "SELECT 1"}
