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
exports its SDK metrics (`temporal_*`: task latencies, slots, polls) and the workflow-side
metrics of `workflows/_metrics.py` to the same endpoint; otherwise it exports none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

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
from opentelemetry.util.re import parse_env_headers
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider
from temporalio.runtime import OpenTelemetryConfig, Runtime, TelemetryConfig

_configured: ReplaySafeTracerProvider | None = None
_meters: MeterProvider | None = None

# Approval waits last hours to days; Core's default buckets stop far below that.
_APPROVAL_WAIT_BUCKETS = [60.0, 600.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 72 * 3600.0, 168 * 3600.0]


def _resource(service: str) -> Resource:
    return Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})


def _endpoint(signal: str, env: Mapping[str, str]) -> str | None:
    return env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def _chosen(signal: str, env: Mapping[str, str]) -> str:
    """`otlp`, `console` or `none` for TRACES or METRICS; unset means otlp if an endpoint is."""
    chosen = env.get(f"OTEL_{signal}_EXPORTER", "").strip().lower()
    if not chosen:
        return "otlp" if _endpoint(signal, env) else "none"
    return chosen


def _exporter() -> SpanExporter | None:
    chosen = _chosen("TRACES", os.environ)
    exporter: SpanExporter
    if chosen == "console":
        exporter = ConsoleSpanExporter()
    elif chosen == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        return None
    return _redacting(exporter)


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


def _metric_readers() -> list[MetricReader]:
    chosen = _chosen("METRICS", os.environ)
    if chosen == "console":
        return [PeriodicExportingMetricReader(ConsoleMetricExporter())]
    if chosen == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return [PeriodicExportingMetricReader(OTLPMetricExporter())]
    return []


def temporal_metrics_config(env: Mapping[str, str]) -> OpenTelemetryConfig | None:
    """Where Temporal's Core runtime sends its metrics: the OTLP/HTTP metrics endpoint the
    `OTEL_*` variables name (as the OpenTelemetry SDK would resolve it), or None."""
    endpoint = _endpoint("METRICS", env)
    if _chosen("METRICS", env) != "otlp" or not endpoint:
        return None
    if not env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):  # the signal's own one is used as is
        endpoint = endpoint.rstrip("/") + "/v1/metrics"
    headers = env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS") or env.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    interval = env.get("OTEL_METRIC_EXPORT_INTERVAL", "")
    return OpenTelemetryConfig(
        url=endpoint,
        http=True,
        headers=parse_env_headers(headers, liberal=True) or None,
        metric_periodicity=timedelta(milliseconds=int(interval)) if interval.isdigit() else None,
        durations_as_seconds=True,  # like ledgerd's own durations
        histogram_bucket_overrides={"ledgerd.approval.wait": _APPROVAL_WAIT_BUCKETS},
    )


def configure_metrics(service: str = "ledgerd") -> MeterProvider:
    """Install the meter provider once per process (and point Temporal's runtime at the same
    OTLP endpoint); return it. Must run before the first Temporal client connects, as the
    runtime is chosen then: `LedgerdPlugin` runs it when it is built."""
    global _meters
    if _meters is None:
        _meters = MeterProvider(metric_readers=_metric_readers(), resource=_resource(service))
        metrics.set_meter_provider(_meters)
        temporal = temporal_metrics_config(os.environ)
        if temporal is not None:
            Runtime.set_default(
                Runtime(telemetry=TelemetryConfig(metrics=temporal)), error_if_already_set=False
            )
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
