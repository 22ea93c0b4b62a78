"""What the standard `OTEL_*` variables choose: per signal, the exporter and the OTLP
endpoint, and so where Temporal's Core runtime sends its metrics.

It imports no OpenTelemetry SDK, so a process that only needs Temporal's runtime (a short
command) does not pay for loading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from opentelemetry.util.re import parse_env_headers
from temporalio.runtime import OpenTelemetryConfig

# Approval waits last hours to days; Core's default buckets stop far below that.
_APPROVAL_WAIT_BUCKETS = [60.0, 600.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 72 * 3600.0, 168 * 3600.0]


def otlp_endpoint(signal: str, env: Mapping[str, str]) -> str | None:
    """The OTLP endpoint for TRACES or METRICS: the signal's own, else the common one."""
    return env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def chosen_exporter(signal: str, env: Mapping[str, str]) -> str:
    """`otlp`, `console` or `none` for TRACES or METRICS; unset means otlp if an endpoint is."""
    chosen = env.get(f"OTEL_{signal}_EXPORTER", "").strip().lower()
    if not chosen:
        return "otlp" if otlp_endpoint(signal, env) else "none"
    return chosen


def temporal_metrics_config(env: Mapping[str, str]) -> OpenTelemetryConfig | None:
    """Where Temporal's Core runtime sends its metrics: the OTLP/HTTP metrics endpoint the
    `OTEL_*` variables name (as the OpenTelemetry SDK would resolve it), or None."""
    endpoint = otlp_endpoint("METRICS", env)
    if chosen_exporter("METRICS", env) != "otlp" or not endpoint:
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
