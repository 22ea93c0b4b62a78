"""What the standard `OTEL_*` variables choose, as any OpenTelemetry SDK reads them: per
signal, the exporters, the OTLP protocol and endpoint, and so where Temporal's Core runtime
sends its metrics.

It imports no OpenTelemetry SDK, so a process that only needs Temporal's runtime (a short
command) does not pay for loading it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from opentelemetry.util.re import parse_env_headers
from temporalio.runtime import OpenTelemetryConfig, OpenTelemetryMetricTemporality

# Approval waits last hours to days; Core's default buckets stop far below that.
_APPROVAL_WAIT_BUCKETS = [60.0, 600.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 72 * 3600.0, 168 * 3600.0]
# The exporters' own defaults when OTEL_EXPORTER_OTLP_*ENDPOINT is unset, per protocol.
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}

_log = logging.getLogger("ledgerd.telemetry")


def sdk_disabled(env: Mapping[str, str]) -> bool:
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def otlp_endpoint(signal: str, env: Mapping[str, str]) -> str | None:
    return env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def otlp_protocol(signal: str, env: Mapping[str, str]) -> str:
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


def chosen_exporters(signal: str, env: Mapping[str, str]) -> list[str]:
    """The exporters for TRACES or METRICS: `OTEL_<signal>_EXPORTER`, a comma-separated list
    of otlp, console and none. Unset means otlp if an endpoint is set, else none: a laptop
    without a collector is not flooded with connection errors."""
    if sdk_disabled(env):
        return []
    named = [
        name.strip().lower()
        for name in env.get(f"OTEL_{signal}_EXPORTER", "").split(",")
        if name.strip()
    ]
    if not named:
        return ["otlp"] if otlp_endpoint(signal, env) else []
    supported = [name for name in named if name in ("otlp", "console")]
    for name in set(named) - {"otlp", "console", "none"}:
        _log.warning("OTEL_%s_EXPORTER=%s is not supported (otlp, console, none)", signal, name)
    return supported


def temporal_metrics_config(env: Mapping[str, str]) -> OpenTelemetryConfig | None:
    """Where Temporal's Core runtime sends its metrics: the OTLP metrics endpoint and protocol
    the `OTEL_*` variables name (as the OpenTelemetry SDK would resolve them), or None."""
    if "otlp" not in chosen_exporters("METRICS", env):
        return None
    protocol = otlp_protocol("METRICS", env)
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
