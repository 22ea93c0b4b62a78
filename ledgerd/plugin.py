"""`LedgerdPlugin`: everything a ledgerd client and worker need, in one place.

Bundling the data converter (with the payload encryption codec), tracing, sandbox passthroughs, workflows and activities in
one plugin means a service that starts daemons with a plain Temporal client, the worker and the
replay tests can never disagree about how payloads are encoded.
"""

from __future__ import annotations

import dataclasses
from abc import ABCMeta
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadConverter
from temporalio.plugin import SimplePlugin
from temporalio.service import ConnectConfig, ServiceClient
from temporalio.worker import ReplayerConfig, WorkerConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import NondeterminismError

from ledgerd.config import Settings
from ledgerd.metrics import StepMetricsInterceptor
from ledgerd.queues import is_model_queue
from ledgerd.receipts import CLEAR, ClearReceipt
from ledgerd.security import payload_keyring, signing_keyring
from ledgerd.security.codec import EncryptionCodec
from ledgerd.security.refused import UpdateRefused
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


class LedgerdPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON; a `ClearReceipt` is marked so the codec leaves it readable."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if isinstance(value, ClearReceipt):
                payload.metadata[CLEAR] = b"receipt"
        return payloads


class LedgerdFailureConverter(DefaultFailureConverter):
    """Failure messages and stack traces move into encoded (so encrypted) attributes: a
    failure's message may quote what it failed on. An Update validator's `UpdateRefused`
    stays readable, without its stack: it is meant for the caller and never reaches history."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
        self._clear = DefaultFailureConverter()

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        if isinstance(exception, UpdateRefused):
            self._clear.to_failure(exception, payload_converter, failure)
            failure.stack_trace = ""
            return
        super().to_failure(exception, payload_converter, failure)


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic JSON, compressed and encrypted (`EncryptionCodec`), with failure messages and
    stack traces encrypted too: a failure's message may quote what it failed on.

    `settings` chooses the payload keys (default: the process's); a client of another stack
    (its own state folder) must encrypt with that stack's keys, or its worker cannot read."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=LedgerdPayloadConverter,
        payload_codec=EncryptionCodec(payload_keyring(settings)),
        failure_converter_class=LedgerdFailureConverter,
    )


class LedgerdPlugin(SimplePlugin):
    def __init__(
        self, activities: Sequence[Callable[..., Any]] = (), settings: Settings | None = None
    ) -> None:
        from workflows import ALL_WORKFLOWS

        configure_tracing()  # the interceptor needs the replay-safe provider installed
        # Load the signing keys now, outside any workflow: validators verify credentials
        # with them and must never read a file or the environment themselves.
        signing_keyring()

        super().__init__(
            "ledgerd",
            data_converter=data_converter(settings),
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
