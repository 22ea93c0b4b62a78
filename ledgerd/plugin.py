"""`LedgerdPlugin`: everything a ledgerd client and worker need, in one place.

Bundling the data converter, tracing, sandbox passthroughs, workflows and activities in
one plugin means a service that starts daemons with a plain Temporal client, the worker and the
replay tests can never disagree about how payloads are encoded.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.plugin import SimplePlugin
from temporalio.service import ConnectConfig, ServiceClient
from temporalio.worker import ReplayerConfig, WorkerConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import NondeterminismError

from ledgerd.metrics import StepMetricsInterceptor
from ledgerd.queues import is_model_queue
from ledgerd.telemetry import configure_tracing
from ledgerd.temporal_runtime import temporal_runtime


def _sandbox_runner() -> SandboxedWorkflowRunner:
    # Workflow code imports the platform's pydantic models; passing these modules through
    # keeps one copy of each model class (and of pydantic) instead of re-importing per run.
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "pydantic", "pydantic_core", "annotated_types", "accounting", "ledgerd", "opentelemetry"
        )
    )


class AnyErrorButNondeterminism(Exception, metaclass=ABCMeta):
    """As a workflow failure exception type: every exception except Temporal's
    `NondeterminismError` (which `issubclass` and `isinstance` say through this hook).

    An exception Temporal does not know as a workflow failure fails the workflow *task*,
    which is retried forever: a bad input or an unforeseen answer wedges the run (and a batch
    waiting on it) with nothing visibly failed. ledgerd's workflows fail instead, with the
    error. Nondeterminism stays a task failure: it means the deployed code disagrees with the
    run's history, the fix is a deploy, and the retried task then resumes the run.
    """

    @classmethod
    def __subclasshook__(cls, candidate: type) -> bool:
        return issubclass(candidate, Exception) and not issubclass(candidate, NondeterminismError)


class LedgerdPlugin(SimplePlugin):
    def __init__(self, activities: Sequence[Callable[..., Any]] = ()) -> None:
        from workflows import ALL_WORKFLOWS

        configure_tracing()  # the interceptor needs the replay-safe provider installed

        super().__init__(
            "ledgerd",
            data_converter=pydantic_data_converter,
            # Temporal's OpenTelemetry interceptor: one trace from the starter through the
            # workflow into every activity, with the replay-safe tracer provider that
            # `ledgerd.telemetry.configure_tracing` installs.
            interceptors=[
                OpenTelemetryInterceptor(add_temporal_spans=True),
                StepMetricsInterceptor(),
            ],
            workflows=list(ALL_WORKFLOWS),
            activities=list(activities) or None,
            workflow_runner=_sandbox_runner(),
            workflow_failure_exception_types=[AnyErrorButNondeterminism],
        )

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        # A model queue serves model-call activities only: no workflow pollers there.
        if is_model_queue(config.get("task_queue", "")):
            config["workflows"] = []
        return config

    # Temporal's default runtime outlives Python and can abort the process at exit; ledgerd's
    # is shut down before that (see ledgerd.temporal_runtime).
    async def connect_service_client(
        self, config: ConnectConfig, next: Callable[[ConnectConfig], Awaitable[ServiceClient]]
    ) -> ServiceClient:
        if config.runtime is None:
            config.runtime = temporal_runtime()
        return await super().connect_service_client(config, next)

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        config = super().configure_replayer(config)
        if config.get("runtime") is None:
            config["runtime"] = temporal_runtime()
        return config
