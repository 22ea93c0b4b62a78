"""The standard OTEL_* variables mean what they mean to any OpenTelemetry SDK, gRPC included.

The gRPC test is end to end: a process configured only by variables sends its span over OTLP/gRPC
to a real gRPC server (the collector's own service definition), which records what arrived.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from ledgerd.otel_env import temporal_metrics_config
from ledgerd.telemetry import _metric_readers, _resource, _span_exporters


class _Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def collector() -> Iterator[tuple[_Collector, int]]:
    received = _Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(received, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield received, port
    finally:
        server.stop(grace=None)


EMIT = """
from opentelemetry import trace
from ledgerd.telemetry import configure_tracing
provider = configure_tracing("ledgerd-test")
with trace.get_tracer("test").start_as_current_span("over grpc"):
    pass
provider.shutdown()
"""


def test_otlp_grpc_sends_spans_to_a_grpc_collector(collector: tuple[_Collector, int]) -> None:
    received, port = collector
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,service.name=overridden",
        "OTEL_SERVICE_NAME": "ledgerd-worker-eu",
    }
    ran = subprocess.run(
        [sys.executable, "-c", EMIT], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr

    spans = [
        (span.name, {a.key: a.value.string_value for a in resource.resource.attributes})
        for request in received.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [name for name, _ in spans] == ["over grpc"]
    attributes = spans[0][1]
    assert attributes["service.name"] == "ledgerd-worker-eu"  # OTEL_SERVICE_NAME wins
    assert attributes["deployment.environment"] == "test"


def test_the_protocol_picks_the_exporter_per_signal() -> None:
    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}
    assert [type(e) for e in _span_exporters(base)] == [OTLPSpanExporter]  # http/protobuf default
    grpc_env = base | {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert [type(e) for e in _span_exporters(grpc_env)] == [GrpcSpanExporter]
    only_traces = base | {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}
    assert [type(e) for e in _span_exporters(only_traces)] == [GrpcSpanExporter]
    readers = _metric_readers(grpc_env)
    assert len(readers) == 1 and isinstance(readers[0], PeriodicExportingMetricReader)
    assert isinstance(readers[0]._exporter, GrpcMetricExporter)


def test_exporters_are_a_list_and_the_sdk_can_be_disabled() -> None:
    env = {"OTEL_TRACES_EXPORTER": "otlp,console"}
    assert [type(e) for e in _span_exporters(env)] == [OTLPSpanExporter, ConsoleSpanExporter]
    assert _span_exporters(env | {"OTEL_SDK_DISABLED": "true"}) == []
    assert _span_exporters({"OTEL_TRACES_EXPORTER": "none"}) == []


def test_temporal_metrics_follow_the_grpc_protocol_and_temporality() -> None:
    config = temporal_metrics_config(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        }
    )
    assert config is not None
    assert (config.url, config.http) == ("http://collector:4317", False)  # no /v1/metrics path
    assert config.metric_temporality.name == "DELTA"
    # An explicit otlp exporter with no endpoint goes where the SDK's exporter would.
    default = temporal_metrics_config({"OTEL_METRICS_EXPORTER": "otlp"})
    assert default is not None and default.url == "http://localhost:4318/v1/metrics"


def test_the_service_name_follows_the_standard_precedence() -> None:
    def name(env: dict[str, str]) -> object:
        return _resource("ledgerd-worker", env).attributes["service.name"]

    assert name({}) == "ledgerd-worker"
    assert name({"OTEL_RESOURCE_ATTRIBUTES": "service.name=billing"}) == "billing"
    assert (
        name({"OTEL_RESOURCE_ATTRIBUTES": "service.name=billing", "OTEL_SERVICE_NAME": "api"})
        == "api"
    )
