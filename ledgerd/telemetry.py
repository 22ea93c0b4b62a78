"""OpenTelemetry set-up from the standard `OTEL_*` variables: traces, metrics, and Temporal's
own SDK metrics.

The tracer provider is Temporal's replay-safe one (`create_tracer_provider`), so a worker that
replays a workflow after a restart does not emit its spans a second time. PostgreSQL queries
become child spans of whatever runs them (a tool call, a transcript write) through the psycopg
instrumentation, with the statement text only: parameters are never captured, and ledgerd's
SQL always passes values as parameters.

Exporters follow the OpenTelemetry conventions: `OTEL_TRACES_EXPORTER` and
`OTEL_METRICS_EXPORTER` (`otlp`, `console` or `none`), and with `otlp` the
`OTEL_EXPORTER_OTLP_*` variables (OTLP over HTTP); with nothing set, spans and measurements
are made but not exported. When metrics go to an OTLP endpoint, Temporal's Core runtime
(`ledgerd.temporal_runtime`) exports its SDK metrics (`temporal_*`: task latencies, slots,
polls) and the workflow-side metrics of `workflows/_metrics.py` to the same endpoint;
otherwise it exports none.
"""

from __future__ import annotations

import os

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from ledgerd.otel_env import chosen_exporter

_configured: ReplaySafeTracerProvider | None = None
_meters: MeterProvider | None = None


def _resource(service: str) -> Resource:
    return Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})


def _exporter() -> SpanExporter | None:
    chosen = chosen_exporter("TRACES", os.environ)
    if chosen == "console":
        return ConsoleSpanExporter()
    if chosen == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def _metric_readers() -> list[MetricReader]:
    chosen = chosen_exporter("METRICS", os.environ)
    if chosen == "console":
        return [PeriodicExportingMetricReader(ConsoleMetricExporter())]
    if chosen == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return [PeriodicExportingMetricReader(OTLPMetricExporter())]
    return []


def configure_metrics(service: str = "ledgerd") -> MeterProvider:
    """Install the meter provider once per process; return it."""
    global _meters
    if _meters is None:
        _meters = MeterProvider(metric_readers=_metric_readers(), resource=_resource(service))
        metrics.set_meter_provider(_meters)
    return _meters


def configure_tracing(service: str = "ledgerd") -> ReplaySafeTracerProvider:
    """Install the replay-safe tracer provider, the PostgreSQL instrumentation and the meter
    provider once per process; return the tracer provider."""
    global _configured
    if _configured is None:
        provider = create_tracer_provider(resource=_resource(service))
        exporter = _exporter()
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        # Before any pool opens: the instrumentation wraps connections as they are made.
        # No sqlcommenter (it would put trace context in every statement), no parameters.
        PsycopgInstrumentor().instrument(
            tracer_provider=provider, enable_commenter=False, capture_parameters=False
        )
        _configured = provider
    configure_metrics(service)
    return _configured
