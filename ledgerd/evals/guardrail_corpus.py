"""The guardrail's labelled corpus: answers of all three daemons, each with the evidence its
run produced, labelled good or bad, and for a bad one the way it is bad (its mode).

`datasets/guardrail/cases.jsonl`, one case a line:

```json
{"id": "lq-acme-aws-march-wrong_digit", "daemon": "ledger_question", "label": "bad",
 "mode": "wrong_digit", "task": "Question: ...\\nIntent: {...}",
 "exchanges": [{"id": "step-1-total", "tool": "query_ledger", "input": {...},
                "output": {...}, "is_error": false}],
 "answer": {"text": "...", "figures": [...], ...}, "note": "..."}
```

`task` is the executor's opening message as the run wrote it (the question, the plan and
its intent; or the hydration task with its descriptor marked as data); `exchanges` are the
tool calls the run made before its first answer, with their results; `answer` is that
first answer. A good case's `mode` is `good`, or `good_hard` for the ones a guardrail is
likeliest to fail wrongly (zero values, falling spend, weak matches).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ledgerd.daemons import DAEMONS

CORPUS = Path(__file__).resolve().parents[2] / "datasets" / "guardrail" / "cases.jsonl"
BAD_MODES = (
    "wrong_digit",
    "wrong_period",
    "wrong_aggregation",
    "wrong_sign",
    "different_question",
    "ungrounded_fact",
    "overconfident",
    "bad_citation",
    "pii",
    "no_figure",
    "obey_injection",
    "refusal",
    "truncate",
)
GOOD_MODES = ("good", "good_hard")


class Exchange(BaseModel):
    id: str = Field(min_length=1, max_length=120)
    tool: str = Field(min_length=1, max_length=64)
    input: dict[str, Any] = Field(default_factory=dict)
    output: Any = None
    is_error: bool = False


class GuardrailCase(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_.-]{3,120}$")
    daemon: Literal["ledger_question", "vendor_hydration", "account_mapping"]
    label: Literal["good", "bad"]
    mode: str
    task: str = Field(min_length=1)
    exchanges: list[Exchange]
    answer: dict[str, Any]
    note: str = ""

    def model_post_init(self, context: Any) -> None:
        allowed = GOOD_MODES if self.label == "good" else BAD_MODES
        if self.mode not in allowed:
            raise ValueError(f"{self.label} case with mode {self.mode!r}; expected {allowed}")
        DAEMONS[self.daemon].output_model.model_validate(self.answer)


def load_corpus(path: Path = CORPUS) -> list[GuardrailCase]:
    """Every case of the corpus; a bad line fails naming its file and line."""
    cases: list[GuardrailCase] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = GuardrailCase.model_validate(json.loads(line))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'case'}: {e['msg']}"
                for e in error.errors()[:3]
            )
            raise ValueError(f"{path}:{number}: {problems}") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from None
        if case.id in seen:
            raise ValueError(f"{path}:{number}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def sample(cases: list[GuardrailCase], per_mode: int) -> list[GuardrailCase]:
    """The first `per_mode` cases of each (daemon, mode): a fast slice of every kind."""
    taken: dict[tuple[str, str], int] = {}
    chosen = []
    for case in cases:
        key = (case.daemon, case.mode)
        if taken.get(key, 0) < per_mode:
            taken[key] = taken.get(key, 0) + 1
            chosen.append(case)
    return chosen
