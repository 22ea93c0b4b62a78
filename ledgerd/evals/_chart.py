"""The comparison as a PNG: one panel per measure, variant a's and b's bars side by side for
each daemon and for all cases together. Matplotlib's Agg backend: no display needed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: a headless server or CI has no display

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from ledgerd.evals._report import Aggregate, ComparisonReport, VariantSummary

PANELS: tuple[tuple[str, str], ...] = (
    ("accuracy", "correct (share of cases)"),
    ("mean_score", "mean score"),
    ("guardrail_failures", "guardrail failures"),
    ("tool_calls", "tool calls"),
    ("model_calls", "model calls"),
    ("tokens", "tokens"),
    ("cost_usd", "cost, USD (estimate)"),
    ("mean_seconds", "mean latency, s"),
)
COLOURS = {"a": "#4C72B0", "b": "#DD8452"}


def short(value: float) -> str:
    """`1.56M`, `27.3k`, `42`, `0.0714`: labels that fit over a bar."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.2f}M"
    if size >= 1e4:
        return f"{value / 1e3:.0f}k"
    if size >= 1e3:
        return f"{value / 1e3:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}" if size >= 1 else f"{value:.3g}"


def write_chart(report: ComparisonReport, path: Path) -> None:
    groups = [*sorted(set(report.a.by_daemon) | set(report.b.by_daemon)), "all"]

    def figures(summary: VariantSummary, field: str) -> list[float]:
        rows = [summary.by_daemon.get(g, Aggregate()) for g in groups[:-1]] + [summary.total]
        return [float(getattr(row, field)) for row in rows]

    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    width = 0.38
    positions = range(len(groups))
    for ax, (field, title) in zip(axes.flat, PANELS, strict=True):
        for offset, summary in ((-width / 2, report.a), (width / 2, report.b)):
            values = figures(summary, field)
            bars = ax.bar(
                [p + offset for p in positions],
                values,
                width,
                color=COLOURS[summary.label],
                label=f"{summary.label}: {summary.variant.name}"[:48],
            )
            ax.bar_label(bars, labels=[short(v) for v in values], fontsize=7, padding=1)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: short(value)))
        ax.set_title(title, fontsize=10)
        ax.set_xticks(list(positions), [g.replace("_", "\n", 1) for g in groups], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.margins(y=0.15)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=9)
    fig.suptitle(
        f"ledgerd eval compare {report.run}: {len(report.cases)} case(s)", x=0.01, ha="left"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
