"""Workflow-side metrics: how daemon runs end and how long approvals wait.

Recorded with `workflow.metric_meter()`, Temporal's replay-aware meter: a worker replaying a
run's history (after a restart, or with its cache evicted) records nothing, so each run is
counted once however often it is rebuilt. The meter adds the namespace, task queue and
workflow type, and goes out through Temporal's runtime, which `ledgerd.telemetry` points at
the OTLP endpoint (with none configured, these are no-ops).

| metric | kind, unit | attributes |
|---|---|---|
| `ledgerd.daemon.outcomes` | counter, {run} | `ledgerd.daemon`, `ledgerd.outcome` |
| `ledgerd.approval.wait` | histogram, s | `ledgerd.approval.action`: approve, reject, edit, expired |
"""

from __future__ import annotations

from temporalio import workflow


def record_outcome(daemon: str, outcome: str) -> None:
    """Count one ended run of `daemon` (e.g. `vendor_hydration`, `completed`)."""
    workflow.metric_meter().create_counter(
        "ledgerd.daemon.outcomes", "Daemon runs by how they ended.", "{run}"
    ).add(1, {"ledgerd.daemon": daemon, "ledgerd.outcome": outcome})


def record_approval_wait(seconds: float, action: str) -> None:
    """Record how long an approval request waited for `action` (or until it expired)."""
    workflow.metric_meter().create_histogram_float(
        "ledgerd.approval.wait", "From asking for approval to the decision or expiry.", "s"
    ).record(seconds, {"ledgerd.approval.action": action})
