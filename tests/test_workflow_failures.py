"""Which exceptions fail a ledgerd workflow rather than its task (LedgerdPlugin)."""

from __future__ import annotations

import pydantic
from temporalio.exceptions import ApplicationError
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError
from temporalio.workflow import NondeterminismError

from ledgerd.plugin import AnyErrorButNondeterminism, LedgerdPlugin


def test_every_error_but_nondeterminism_fails_the_workflow() -> None:
    for error in (ValueError("bad"), KeyError("k"), RuntimeError("bug"), ApplicationError("x")):
        assert isinstance(error, AnyErrorButNondeterminism)
    assert issubclass(pydantic.ValidationError, AnyErrorButNondeterminism)
    # A deploy that disagrees with history is fixed by the next deploy: the task retries.
    assert not issubclass(NondeterminismError, AnyErrorButNondeterminism)
    assert not isinstance(RestrictedWorkflowAccessError("os.getenv"), AnyErrorButNondeterminism)
    assert not isinstance(KeyboardInterrupt(), AnyErrorButNondeterminism)


def test_the_plugin_declares_it_for_every_worker() -> None:
    assert LedgerdPlugin().workflow_failure_exception_types == [AnyErrorButNondeterminism]
