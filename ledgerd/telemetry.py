"""OpenTelemetry set-up from the standard `OTEL_*` variables.

The tracer provider is Temporal's replay-safe one (`create_tracer_provider`), so a worker that
replays a workflow after a restart does not emit its spans a second time. Exporters follow the
OpenTelemetry conventions: `OTEL_TRACES_EXPORTER` (`otlp`, `console` or `none`), and with
`otlp` the `OTEL_EXPORTER_OTLP_*` variables; with nothing set, spans are made but not exported.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

_configured: ReplaySafeTracerProvider | None = None


def _exporter() -> SpanExporter | None:
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if chosen == "console":
        return ConsoleSpanExporter()
    if chosen == "otlp" or (not chosen and endpoint):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def configure_tracing(service: str = "ledgerd") -> ReplaySafeTracerProvider:
    """Install the replay-safe tracer provider once per process and return it."""
    global _configured
    if _configured is None:
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
        provider = create_tracer_provider(resource=resource)
        exporter = _exporter()
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _configured = provider
    return _configured
