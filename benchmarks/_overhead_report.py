"""Tables (markdown, for docs/performance.md) and the chart of the overhead benchmark."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from benchmarks._overhead_run import PROFILES, Run


def _by_case(runs: Iterable[Run]) -> dict[tuple[int, int], dict[str, list[Run]]]:
    cases: dict[tuple[int, int], dict[str, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        cases[(run.steps, run.size)][run.side].append(run)
    return cases


def _med(values: Iterable[float]) -> float:
    listed = list(values)
    return statistics.median(listed) if listed else float("nan")


def _paired_ratio(a: list[Run], b: list[Run], attr: str) -> float:
    """Median of the ratios of runs made next to each other (the i-th of each side)."""
    return _med(getattr(x, attr) / getattr(y, attr) for x, y in zip(a, b, strict=False))


def overhead_table(runs: list[Run]) -> str:
    lines = [
        "| K | S (bytes) | daemon ms/step | raw ms/step | ratio | daemon history B/step "
        "| raw history B/step | daemon replay ms | raw replay ms | replay ratio "
        "| model_turn beyond round trip, ms | raw turn beyond round trip, ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (steps, size), sides in sorted(_by_case(runs).items()):
        d, r = sides["daemon"], sides["raw"]
        lines.append(
            f"| {steps} | {size} "
            f"| {_med(x.wall_ms / steps for x in d):.1f} | {_med(x.wall_ms / steps for x in r):.1f} "
            f"| {_paired_ratio(d, r, 'wall_ms'):.2f} "
            f"| {_med(x.history_bytes / steps for x in d):.0f} "
            f"| {_med(x.history_bytes / steps for x in r):.0f} "
            f"| {_med(x.replay_ms for x in d):.0f} | {_med(x.replay_ms for x in r):.0f} "
            f"| {_paired_ratio(d, r, 'replay_ms'):.2f} "
            f"| {_med(o for x in d for o in x.turn_overhead_ms):.1f} "
            f"| {_med(o for x in r for o in x.turn_overhead_ms):.1f} |"
        )
    return "\n".join(lines)


def growth_table(runs: list[Run]) -> str:
    lines = [
        "| K | side | ms per run | ms/step | history bytes | history B/step | transcript bytes "
        "| transcript B/step | PostgreSQL transcript reads (rows) | rows/step | queries |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (steps, _size), sides in sorted(_by_case(runs).items()):
        for side in ("daemon", "raw"):
            xs = sides[side]
            wall = _med(x.wall_ms for x in xs)
            hist = _med(x.history_bytes for x in xs)
            stored = _med(x.transcript_bytes for x in xs)
            rows = _med(x.transcript_rows_read for x in xs)
            queries = _med(x.transcript_queries for x in xs)
            lines.append(
                f"| {steps} | {side} | {wall:.0f} | {wall / steps:.1f} | {hist:,.0f} "
                f"| {hist / steps:.0f} | {stored:,.0f} | {stored / steps:.0f} "
                f"| {rows:,.0f} | {rows / steps:.1f} | {queries:.0f} |"
            )
    return "\n".join(lines)


def compare_table(by_profile: dict[str, list[Run]]) -> str:

    lines = [
        "| dev-server profile | dynamic config | daemon ms/step | raw ms/step | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, runs in by_profile.items():
        for (steps, _size), sides in sorted(_by_case(runs).items()):
            d, r = sides["daemon"], sides["raw"]
            values = " ".join(f"`{v}`" for v in PROFILES[name]) or "(none)"
            lines.append(
                f"| {name} | {values} | {_med(x.wall_ms / steps for x in d):.1f} "
                f"| {_med(x.wall_ms / steps for x in r):.1f} "
                f"| {_paired_ratio(d, r, 'wall_ms'):.2f} |"
            )
    return "\n".join(lines)


def chart(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = sorted(_by_case(runs).items())
    labels = [f"K={k}\nS={s}" for (k, s), _ in cases]
    daemon = [_med(x.wall_ms / k for x in sides["daemon"]) for (k, _), sides in cases]
    raw = [_med(x.wall_ms / k for x in sides["raw"]) for (k, _), sides in cases]
    positions = range(len(cases))
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.bar([p - 0.2 for p in positions], daemon, width=0.4, label="daemon loop")
    axes.bar([p + 0.2 for p in positions], raw, width=0.4, label="raw Temporal loop")
    axes.set_xticks(list(positions), labels)
    axes.set_ylabel("ms per step (median)")
    axes.set_title("Daemon loop vs raw Temporal loop, same model and dev server")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
