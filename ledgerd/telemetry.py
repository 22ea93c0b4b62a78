"""OpenTelemetry set-up from the standard `OTEL_*` variables: traces, metrics, and Temporal's
own SDK metrics.

The tracer provider is Temporal's replay-safe one (`create_tracer_provider`), so a worker that
replays a workflow after a restart does not emit its spans a second time. PostgreSQL queries
become child spans of whatever runs them (a tool call, a transcript write) through the psycopg
instrumentation, with the statement text only: parameters are never captured, and ledgerd's
SQL always passes values as parameters.

Every standard variable means what it means to any OpenTelemetry SDK: `OTEL_SDK_DISABLED`,
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_EXPORTER` and
`OTEL_METRICS_EXPORTER` (lists of `otlp`, `console`, `none`), `OTEL_EXPORTER_OTLP_PROTOCOL`
(`http/protobuf` or `grpc`, per signal too), the `OTEL_EXPORTER_OTLP_*` endpoint, headers,
timeout, compression, certificate and insecure settings (the exporters read them),
`OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`/`_TIMEOUT` and
`OTEL_PROPAGATORS`. One deliberate difference: with no exporter and no endpoint set, nothing
is exported (spans and measurements are still made), so a laptop without a collector is not
flooded with connection errors. When metrics go to an OTLP endpoint, Temporal's Core runtime
exports its SDK metrics (`temporal_*`: task latencies, slots, polls) and the workflow-side
metrics of `workflows/_metrics.py` to the same endpoint; otherwise it exports none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import unquote

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from ledgerd.otel_env import chosen_exporters, otlp_protocol

_configured: ReplaySafeTracerProvider | None = None
_meters: MeterProvider | None = None


def _resource(service: str, env: Mapping[str, str]) -> Resource:
    """`service` unless the environment names the service: `OTEL_SERVICE_NAME`, then
    `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, win over ledgerd's default, as they would
    for any OpenTelemetry SDK."""
    base = Resource.create({"service.name": service})
    attributes: dict[str, str] = {}
    for pair in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, _, value = pair.partition("=")
        if key.strip() and value.strip():
            attributes[key.strip()] = unquote(value.strip())
    if env.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = env["OTEL_SERVICE_NAME"]
    return base.merge(Resource(attributes))


def _span_exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in chosen_exporters("TRACES", env):
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif otlp_protocol("TRACES", env) == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            exporters.append(GrpcSpanExporter())  # reads every OTEL_EXPORTER_OTLP_* itself
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
    return [_redacting(exporter) for exporter in exporters]


def _metric_readers(env: Mapping[str, str]) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in chosen_exporters("METRICS", env):
        exporter: MetricExporter
        if name == "console":
            exporter = ConsoleMetricExporter()
        elif otlp_protocol("METRICS", env) == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            exporter = GrpcMetricExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter()
        # The reader takes OTEL_METRIC_EXPORT_INTERVAL and _TIMEOUT from the environment.
        readers.append(PeriodicExportingMetricReader(exporter))
    return readers


def _redacting(exporter: SpanExporter) -> SpanExporter:
    """Model-call content (only present when captured) leaves the process redacted unless
    LEDGERD_REDACT_MODEL_CALLS=false."""
    from ledgerd.config import ConfigError, get_settings
    from ledgerd.span_redaction import RedactingExporter

    try:
        redact = get_settings().redact_model_calls
    except ConfigError:
        redact = True  # the process will refuse its configuration anyway; stay safe
    return RedactingExporter(exporter) if redact else exporter


def configure_metrics(service: str = "ledgerd") -> MeterProvider:
    """Install the meter provider once per process; return it. Temporal's runtime exports
    its own metrics to the same endpoint (`ledgerd.temporal_runtime`)."""
    global _meters
    if _meters is None:
        _meters = MeterProvider(
            metric_readers=_metric_readers(os.environ), resource=_resource(service, os.environ)
        )
        metrics.set_meter_provider(_meters)
    return _meters


def configure_tracing(service: str = "ledgerd") -> ReplaySafeTracerProvider:
    """Install the replay-safe tracer provider, the PostgreSQL instrumentation and the meter
    provider once per process; return the tracer provider."""
    global _configured
    if _configured is None:
        # The sampler comes from OTEL_TRACES_SAMPLER(_ARG), the batching from OTEL_BSP_*.
        provider = create_tracer_provider(resource=_resource(service, os.environ))
        for exporter in _span_exporters(os.environ):
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
