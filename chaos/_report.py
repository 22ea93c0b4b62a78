"""What a scenario measured: one JSON report per scenario and the table printed for all."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Recovery:
    """One fault: when it struck, when the broken part was back, and when the next daemon
    finished after that (`seconds`: from the part's return to that finish)."""

    fault: str
    at: float
    restored: float
    running: int  # daemons not finished when it struck: a fault on an idle stack proves nothing
    next_finish: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.next_finish is None else self.next_finish - self.restored


@dataclass
class ScenarioReport:
    scenario: str
    title: str
    started: int = 0
    completed: int = 0
    # Daemons meant to fail (scenario d's one 400): they count as started, not as completed,
    # and are checked separately (failed fast, notified).
    expected_failures: int = 0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    not_completed: dict[str, str] = field(default_factory=dict)  # workflow id → why
    effects: dict[str, int] = field(default_factory=dict)  # what was done, counted in PostgreSQL
    duplicates: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    stuck: list[str] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    seconds: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)  # scenario-specific, e.g. "400 notified"
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def missing_total(self) -> int:
        return sum(self.missing.values())

    @property
    def recover_max(self) -> float | None:
        known = [r.seconds for r in self.recoveries if r.seconds is not None]
        return max(known) if known else None

    @property
    def at_target(self) -> bool:
        return (
            self.completed + self.expected_failures == self.started
            and self.duplicate_total == 0
            and self.missing_total == 0
            and not self.stuck
            and all(self.checks.values())
        )

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["recoveries"] = [{**asdict(r), "seconds": r.seconds} for r in self.recoveries]
        data["outcomes"] = dict(self.outcomes)
        data["at_target"] = self.at_target
        return data

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"chaos-{self.scenario}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True))
        return path


def render(reports: list[ScenarioReport]) -> str:
    """The table: one line per scenario, then what fell short, so a failing run says why."""
    header = (
        f"{'scenario':<28} {'completed':>11} {'duplicates':>10} {'missing':>7} "
        f"{'stuck':>5} {'recover s (max)':>15} {'seconds':>8}  target"
    )
    lines = [header, "-" * len(header)]
    for r in reports:
        recover = "-" if r.recover_max is None else f"{r.recover_max:.1f}"
        done = f"{r.completed}/{r.started - r.expected_failures}"
        lines.append(
            f"{r.scenario + ' ' + r.title:<28.28} {done:>11} {r.duplicate_total:>10} "
            f"{r.missing_total:>7} {len(r.stuck):>5} {recover:>15} {r.seconds:>8.0f}  "
            f"{'yes' if r.at_target else 'NO'}"
        )
    for r in reports:
        problems = [f"{k} {v}" for k, v in {**r.duplicates, **r.missing}.items() if v]
        problems += [f"check failed: {k}" for k, ok in r.checks.items() if not ok]
        problems += [f"stuck: {w}" for w in r.stuck[:5]]
        problems += [f"not completed: {w} ({why})" for w, why in list(r.not_completed.items())[:5]]
        # Shown though within target: what an on-call engineer would want to know of.
        seen = [
            f"{k} {v}"
            for k, v in r.effects.items()
            if v and k == "notifications redelivered under the same key"
        ]
        if problems or seen or r.notes:
            lines.append(f"{r.scenario}: " + "; ".join(problems + seen + r.notes))
    return "\n".join(lines)
