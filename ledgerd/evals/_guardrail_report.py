"""The guardrail evaluation as a Markdown table, a PNG chart and a section of docs/eval.md."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: a headless server or CI has no display

import matplotlib.pyplot as plt

from ledgerd.evals.guardrail import TARGET_FALSE_POSITIVES, TARGET_MODE_RECALL, GuardrailReport

START = "<!-- guardrail-eval:start -->"
END = "<!-- guardrail-eval:end -->"


def render_markdown(report: GuardrailReport, *, command: str = "", chart: str = "") -> str:
    lines = [
        f"Run `{report.run}`, judge `{report.judge_model}`, corpus `{report.corpus}`: "
        f"{report.cases} answers ({report.bad} bad, {report.good} good).",
        "",
    ]
    if command:
        lines += ["```sh", command, "```", ""]
    lines += [
        "| mode | daemons | bad answers | caught | recall | by a check | by the judge alone "
        "| the judge, on its own |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, f in report.per_mode.items():
        daemons = sorted({v.daemon for v in report.verdicts if v.mode == mode})
        flag = "" if f.recall >= TARGET_MODE_RECALL else " ✗"
        lines.append(
            f"| {mode} | {', '.join(d.split('_')[0] for d in daemons)} | {f.cases} | {f.caught} "
            f"| {f.recall:.3f}{flag} | {f.by_checks} | {f.by_judge_only} | {f.judge_failed} |"
        )
    caught = sum(f.caught for f in report.per_mode.values())
    lines += [
        f"| **all** | | **{report.bad}** | **{caught}** | **{report.recall:.3f}** | "
        f"{sum(f.by_checks for f in report.per_mode.values())} | "
        f"{sum(f.by_judge_only for f in report.per_mode.values())} | "
        f"{sum(f.judge_failed for f in report.per_mode.values())} |",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| recall, all bad answers | {report.recall:.3f} | ≥ 0.95 |",
        f"| lowest recall of a mode | {min((f.recall for f in report.per_mode.values()), default=0):.3f} | ≥ 0.9 |",
        f"| false positives (good answers failed) | {len(report.false_positives)}/{report.good} = "
        f"{report.false_positive_rate:.3f} | ≤ {TARGET_FALSE_POSITIVES} |",
        f"| cost per verdict (estimate) | ${report.cost_usd_per_verdict:.6f} | |",
        f"| latency per verdict, mean / p50 / p95 | {report.latency_ms_mean:.0f} / "
        f"{report.latency_ms_p50:.0f} / {report.latency_ms_p95:.0f} ms | |",
        "",
    ]
    if report.shortfalls:
        lines.append("Short of the targets: " + "; ".join(report.shortfalls) + ".")
    else:
        lines.append("Every target met.")
    if report.missed:
        lines.append(f"Missed: {', '.join(report.missed)}.")
    if report.false_positives:
        lines.append(f"False positives: {', '.join(report.false_positives)}.")
    if chart:
        lines += ["", f"![recall per mode]({chart})"]
    return "\n".join(lines) + "\n"


def write_chart(report: GuardrailReport, path: Path) -> None:
    modes = list(report.per_mode)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [4, 1]})
    checks = [report.per_mode[m].by_checks / max(report.per_mode[m].cases, 1) for m in modes]
    judge = [report.per_mode[m].by_judge_only / max(report.per_mode[m].cases, 1) for m in modes]
    left.bar(modes, checks, color="#4C72B0", label="caught by a deterministic check")
    left.bar(modes, judge, bottom=checks, color="#DD8452", label="caught by the judge alone")
    left.axhline(TARGET_MODE_RECALL, color="black", linestyle="--", linewidth=1, label="target 0.9")
    left.set_ylim(0, 1.05)
    left.set_title(f"recall per mode (all {report.recall:.3f})", fontsize=10)
    left.tick_params(axis="x", labelrotation=35, labelsize=8)
    left.legend(fontsize=8, loc="lower left")
    right.bar(["false positives"], [report.false_positive_rate], color="#C44E52")
    right.axhline(TARGET_FALSE_POSITIVES, color="black", linestyle="--", linewidth=1)
    right.set_ylim(0, max(0.1, report.false_positive_rate * 1.3))
    right.set_title(f"{len(report.false_positives)}/{report.good} good answers failed", fontsize=10)
    fig.suptitle(
        f"ledgerd eval guardrail {report.run}: judge {report.judge_model}", x=0.01, ha="left"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def update_docs(path: Path, section: str) -> None:
    """Replace what is between the guardrail-eval markers of `path` with `section`."""
    text = path.read_text(encoding="utf-8")
    # Markers count only on lines of their own: a page may name them in its prose.
    pattern = re.compile(rf"^{re.escape(START)}$.*?^{re.escape(END)}$", re.DOTALL | re.MULTILINE)
    if pattern.search(text) is None:
        raise ValueError(f"{path} has no {START} … {END} section (each on a line of its own)")
    path.write_text(
        pattern.sub(lambda _: f"{START}\n{section}{END}", text, count=1), encoding="utf-8"
    )
