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

import logging
import os
from collections.abc import Mapping
from datetime import timedelta
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
from opentelemetry.util.re import parse_env_headers
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider
from temporalio.runtime import (
    OpenTelemetryConfig,
    OpenTelemetryMetricTemporality,
    Runtime,
    TelemetryConfig,
)

_configured: ReplaySafeTracerProvider | None = None
_meters: MeterProvider | None = None

# Approval waits last hours to days; Core's default buckets stop far below that.
_APPROVAL_WAIT_BUCKETS = [60.0, 600.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 72 * 3600.0, 168 * 3600.0]


_log = logging.getLogger("ledgerd.telemetry")

# The exporters' own defaults when OTEL_EXPORTER_OTLP_*ENDPOINT is unset, per protocol.
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}


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


def _disabled(env: Mapping[str, str]) -> bool:
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _endpoint(signal: str, env: Mapping[str, str]) -> str | None:
    return env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def _protocol(signal: str, env: Mapping[str, str]) -> str:
    """`grpc` or `http/protobuf` for TRACES or METRICS (the signal's own variable first)."""
    chosen = (
        (
            env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        .strip()
        .lower()
    )
    if chosen not in _DEFAULT_ENDPOINTS:
        # http/json is in the spec, but no Python exporter speaks it.
        _log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; using http/protobuf", chosen)
        return "http/protobuf"
    return chosen


def _chosen(signal: str, env: Mapping[str, str]) -> list[str]:
    """The exporters for TRACES or METRICS: `OTEL_<signal>_EXPORTER`, a comma-separated list
    of otlp, console and none. Unset means otlp if an endpoint is set, else none: a laptop
    without a collector is not flooded with connection errors."""
    if _disabled(env):
        return []
    named = [
        name.strip().lower()
        for name in env.get(f"OTEL_{signal}_EXPORTER", "").split(",")
        if name.strip()
    ]
    if not named:
        return ["otlp"] if _endpoint(signal, env) else []
    supported = [name for name in named if name in ("otlp", "console")]
    for name in set(named) - {"otlp", "console", "none"}:
        _log.warning("OTEL_%s_EXPORTER=%s is not supported (otlp, console, none)", signal, name)
    return supported


def _span_exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in _chosen("TRACES", env):
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif _protocol("TRACES", env) == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            exporters.append(GrpcSpanExporter())  # reads every OTEL_EXPORTER_OTLP_* itself
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
    return exporters


def _metric_readers(env: Mapping[str, str]) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in _chosen("METRICS", env):
        exporter: MetricExporter
        if name == "console":
            exporter = ConsoleMetricExporter()
        elif _protocol("METRICS", env) == "grpc":
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


def temporal_metrics_config(env: Mapping[str, str]) -> OpenTelemetryConfig | None:
    """Where Temporal's Core runtime sends its metrics: the OTLP metrics endpoint and protocol
    the `OTEL_*` variables name (as the OpenTelemetry SDK would resolve them), or None."""
    if "otlp" not in _chosen("METRICS", env):
        return None
    protocol = _protocol("METRICS", env)
    own = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    endpoint = own or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_ENDPOINTS[protocol]
    if protocol == "http/protobuf" and not own:  # the signal's own endpoint is used as is
        endpoint = endpoint.rstrip("/") + "/v1/metrics"
    headers = env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS") or env.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    interval = env.get("OTEL_METRIC_EXPORT_INTERVAL", "")
    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").lower()
    return OpenTelemetryConfig(
        url=endpoint,
        http=protocol == "http/protobuf",
        headers=parse_env_headers(headers, liberal=True) or None,
        metric_periodicity=timedelta(milliseconds=int(interval)) if interval.isdigit() else None,
        metric_temporality=OpenTelemetryMetricTemporality.DELTA
        if temporality == "delta"
        else OpenTelemetryMetricTemporality.CUMULATIVE,
        durations_as_seconds=True,  # like ledgerd's own durations
        histogram_bucket_overrides={"ledgerd.approval.wait": _APPROVAL_WAIT_BUCKETS},
    )


def configure_metrics(service: str = "ledgerd") -> MeterProvider:
    """Install the meter provider once per process (and point Temporal's runtime at the same
    OTLP endpoint); return it. Must run before the first Temporal client connects, as the
    runtime is chosen then: `LedgerdPlugin` runs it when it is built."""
    global _meters
    if _meters is None:
        _meters = MeterProvider(
            metric_readers=_metric_readers(os.environ), resource=_resource(service, os.environ)
        )
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
