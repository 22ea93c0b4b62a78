"""What the overhead benchmark measures per run, and the dev-server profiles it runs under:
shared by the benchmark and its report (and the other benchmarks that use the profiles)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The dev server's dynamic-config profiles. `shipped` is `temporal server start-dev` as it
# comes; `lifted` raises only the per-shard transfer-queue poll rate, which caps every
# sequential workflow on the single-shard dev server (see docs/performance.md).
PROFILES: dict[str, tuple[str, ...]] = {
    "shipped": (),
    "lifted": ("history.transferProcessorMaxPollRPS=1000",),
    # Candidates checked for docs/performance.md: only keys that change the figures are set
    # by `ledgerd dev` (ledgerd/stack/_temporal.py).
    "timer+visibility": (
        "history.timerProcessorMaxPollRPS=1000",
        "history.visibilityProcessorMaxPollRPS=1000",
    ),
    "one-partition": (
        "matching.numTaskqueueReadPartitions=1",
        "matching.numTaskqueueWritePartitions=1",
    ),
}


@dataclass
class Run:
    side: str
    steps: int
    size: int
    wall_ms: float
    history_bytes: int
    events: int
    replay_ms: float
    turn_overhead_ms: list[float] = field(default_factory=list)
    transcript_rows_read: int = 0
    transcript_queries: int = 0
    transcript_bytes: int = 0
