"""Where telemetry goes: Temporal's runtime metrics follow the `OTEL_*` variables, and the
collector and compose files in `deploy/` are consistent. Docker cannot run here, so the
deployment files are checked by structure, not by starting them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledgerd.otel_env import temporal_metrics_config

DEPLOY = Path(__file__).parent.parent / "deploy"


def test_temporal_metrics_go_to_the_otlp_http_metrics_endpoint() -> None:
    config = temporal_metrics_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318/"})
    assert config is not None
    assert (config.url, config.http) == ("http://localhost:4318/v1/metrics", True)
    assert config.durations_as_seconds


def test_the_signal_specific_endpoint_and_headers_are_used_as_given() -> None:
    config = temporal_metrics_config(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://collector.internal/otlp/metrics",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=ledgerd,authorization=Bearer%20abc",
            "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        }
    )
    assert config is not None
    assert config.url == "https://collector.internal/otlp/metrics"
    assert config.headers == {"x-tenant": "ledgerd", "authorization": "Bearer abc"}
    assert config.metric_periodicity == timedelta(seconds=5)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:4318/v1/traces"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_METRICS_EXPORTER": "none"},
        {"OTEL_METRICS_EXPORTER": "console"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_SDK_DISABLED": "true"},
    ],
)
def test_no_endpoint_for_metrics_means_no_temporal_metrics(env: dict[str, str]) -> None:
    assert temporal_metrics_config(env) is None


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(loaded, dict), name
    return loaded


def test_the_collector_pipelines_use_only_defined_components() -> None:
    config = _load("otel-collector.yaml")
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] == ["otlp"], name
        for kind in ("receivers", "processors", "exporters"):
            undefined = set(pipeline.get(kind, [])) - set(config[kind])
            assert not undefined, f"{name} pipeline names undefined {kind}: {undefined}"
        assert pipeline["processors"][0] == "memory_limiter"  # first, as its docs require
        assert pipeline["processors"][-1] == "batch"
    used = {c for p in pipelines.values() for k in ("exporters", "processors") for c in p[k]}
    assert used == set(config["exporters"]) | set(config["processors"])  # nothing defined unused

    assert set(pipelines["traces"]["exporters"]) == {"otlp_grpc/jaeger", "otlp_grpc/tempo"}
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318")  # where ledgerd sends
    assert protocols["grpc"]["endpoint"].endswith(":4317")


def test_compose_runs_what_the_collector_exports_to() -> None:
    compose = _load("docker-compose.observability.yml")
    services = compose["services"]
    collector = _load("otel-collector.yaml")
    for exporter in ("otlp_grpc/jaeger", "otlp_grpc/tempo"):
        host = collector["exporters"][exporter]["endpoint"].split(":")[0]
        assert host in services, f"{exporter} sends to {host}, which compose does not run"
    published = {p.split(":")[0] for p in services["otel-collector"]["ports"]}
    assert {"4317", "4318", "8889"} <= published
    for service in services.values():  # every mounted config file exists
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), source
        assert ":" in service["image"] and not service["image"].endswith(":latest")  # pinned
    scrape = _load("prometheus.yml")["scrape_configs"][0]["static_configs"][0]["targets"]
    assert scrape == ["otel-collector:8889"]
    assert collector["exporters"]["prometheus"]["endpoint"].endswith(":8889")
    tempo = _load("tempo.yaml")["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]
    assert tempo["endpoint"].endswith(":4317")
