"""`LedgerdPlugin`: everything a ledgerd client and worker need, in one place.

Bundling the data converter (with the payload encryption codec), tracing, sandbox passthroughs, workflows and activities in
one plugin means a service that starts daemons with a plain Temporal client, the worker and the
replay tests can never disagree about how payloads are encoded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.contrib.opentelemetry import OpenTelemetryInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.plugin import SimplePlugin
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ledgerd.config import Settings
from ledgerd.metrics import StepMetricsInterceptor
from ledgerd.security import payload_keyring, signing_keyring
from ledgerd.security.codec import EncryptionCodec
from ledgerd.telemetry import configure_tracing


def _sandbox_runner() -> SandboxedWorkflowRunner:
    # Workflow code imports the platform's pydantic models; passing these modules through
    # keeps one copy of each model class (and of pydantic) instead of re-importing per run.
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "pydantic", "pydantic_core", "annotated_types", "accounting", "ledgerd", "opentelemetry"
        )
    )


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic JSON, compressed and encrypted (`EncryptionCodec`), with failure messages and
    stack traces encrypted too: a failure's message may quote what it failed on.

    `settings` chooses the payload keys (default: the process's); a client of another stack
    (its own state folder) must encrypt with that stack's keys, or its worker cannot read."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(payload_keyring(settings)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
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
        )
