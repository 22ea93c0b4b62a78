"""`ledgerd dataset export`: JSONL for fine-tuning, built from the feedback people gave.

Feedback rows are grouped by response (a conversation's answer: a second opinion on the same
answer joins the first), each group gets its reward (`rewards.run_reward`), and two kinds of
line come out, one JSON object per line:

- `{"type": "sft", ...}`: a response someone approved (thumbs up, or a rating of 4 or 5),
  that nobody corrected and whose reward is at least `min_reward`;
- `{"type": "preference", ...}`: one per correction of a response: the correction is
  `chosen`, the daemon's original answer `rejected`. `min_reward` does not apply: the
  rejected side is poorly rewarded by construction.

Both carry the executor's system prompt (its current text: `metadata.prompt_versions` tells
which versions the run used), the `respond` tool it answers with, the task as the executor
first saw it (with the plan, for daemons that plan), and the answer as that tool call:

    {"type": "sft", "system": "...", "tools": [{"name": "respond", ...}],
     "messages": [{"role": "user", "content": "<task>"},
                  {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_respond",
                                                     "name": "respond", "input": {...}}]}],
     "metadata": {...}}
    {"type": "preference", "system": "...", "tools": [...],
     "prompt": [{"role": "user", "content": "<task>"}],
     "chosen": [{"role": "assistant", "content": [<respond tool_use: the correction>]}],
     "rejected": [{"role": "assistant", "content": [<respond tool_use: the original>]}],
     "metadata": {...}}

The intermediate tool calls of the run are not included: the examples teach the answer, not
the path to it. Task, answers and comments are PII-redacted (see `_redact`); the system
prompt and tool schema are ledgerd's own text and exported as they are.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, TextIO

from pydantic import BaseModel, Field

from ledgerd.daemons import RESPOND, daemon_spec
from ledgerd.db import Pool
from ledgerd.feedback._models import StoredFeedback, Thumbs
from ledgerd.feedback._redact import Redactor
from ledgerd.feedback._store import load_feedback
from ledgerd.feedback.rewards import Reward, run_reward, signals_of
from ledgerd.prompts import load_prompt

APPROVING_RATING = 4
_TOOL_USE_ID = "toolu_respond"


class DatasetKind(StrEnum):
    SFT = "sft"
    PREFERENCE = "preference"
    ALL = "all"


class ExportSummary(BaseModel):
    sft: int = 0
    preference: int = 0
    skipped: dict[str, int] = Field(
        default_factory=dict, description="Responses or corrections left out, by reason."
    )

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


async def export_dataset(
    pool: Pool,
    out: TextIO,
    *,
    tenant_id: str,
    kind: DatasetKind = DatasetKind.ALL,
    min_reward: float = 0.0,
) -> ExportSummary:
    """Write one tenant's dataset lines to `out`; return how many of each, and what was
    skipped. Always one tenant: a dataset mixing clients' data would carry one client's
    responses into a model another client's runs use."""
    feedback = await load_feedback(pool, tenant_id=tenant_id)
    redactor = Redactor(await _person_names(pool))
    summary = ExportSummary()
    for rows in _by_response(feedback):
        reward = run_reward(signals_of(rows))
        if kind in (DatasetKind.SFT, DatasetKind.ALL):
            line = _sft(rows, reward, min_reward, redactor, summary)
            if line is not None:
                _write(out, line)
                summary.sft += 1
        if kind in (DatasetKind.PREFERENCE, DatasetKind.ALL):
            for row in rows:
                if row.correction is None:
                    continue
                if rows[0].response is None:
                    summary.skip("correction_without_original")
                    continue
                _write(out, _preference(rows, row, reward, redactor))
                summary.preference += 1
    return summary


def _by_response(feedback: list[StoredFeedback]) -> list[list[StoredFeedback]]:
    """Rows about the same answer of the same conversation, in the order first rated."""
    groups: dict[tuple[str, str], list[StoredFeedback]] = {}
    for row in feedback:
        key = (row.run_id, json.dumps(row.response, sort_keys=True))
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _sft(
    rows: list[StoredFeedback],
    reward: Reward,
    min_reward: float,
    redactor: Redactor,
    summary: ExportSummary,
) -> dict[str, Any] | None:
    first = rows[0]
    if any(row.correction is not None for row in rows):
        summary.skip("corrected")  # it is a preference pair instead
        return None
    if first.response is None:
        summary.skip("no_response")
        return None
    if not any(row.thumbs is Thumbs.UP or (row.rating or 0) >= APPROVING_RATING for row in rows):
        summary.skip("not_approved")
        return None
    if reward.total < min_reward:
        summary.skip("below_min_reward")
        return None
    return {
        "type": "sft",
        **_context(first),
        "messages": [
            _task(first, redactor),
            _answer(first.response, redactor),
        ],
        "metadata": _metadata(rows, reward, redactor),
    }


def _preference(
    rows: list[StoredFeedback], corrected: StoredFeedback, reward: Reward, redactor: Redactor
) -> dict[str, Any]:
    assert corrected.correction is not None and corrected.response is not None
    return {
        "type": "preference",
        **_context(corrected),
        "prompt": [_task(corrected, redactor)],
        "chosen": [_answer(corrected.correction, redactor)],
        "rejected": [_answer(corrected.response, redactor)],
        "metadata": _metadata([corrected], reward, redactor),
    }


def _context(row: StoredFeedback) -> dict[str, Any]:
    return {
        "system": load_prompt(daemon_spec(row.daemon).prompt("executor")).text,
        "tools": [daemon_spec(row.daemon).respond_tool()],
    }


def _task(row: StoredFeedback, redactor: Redactor) -> dict[str, Any]:
    return {"role": "user", "content": redactor.text(row.task)}


def _answer(answer: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [
            {
                "type": "tool_use",
                "id": _TOOL_USE_ID,
                "name": RESPOND,
                "input": redactor.value(answer),
            }
        ],
    }


def _metadata(rows: list[StoredFeedback], reward: Reward, redactor: Redactor) -> dict[str, Any]:
    first = rows[0]
    return {
        "daemon": first.daemon,
        "tenant_id": first.tenant_id,
        "workflow_id": first.workflow_id,
        "run_id": first.run_id,
        "feedback_ids": [row.id for row in rows],
        "outcome": first.outcome.value if first.outcome else None,
        "guardrail_reviews": max(row.guardrail_reviews for row in rows),
        "reward": reward.total,
        "reward_parts": reward.parts,
        "models": first.models,
        "prompt_versions": first.prompt_versions,
        "system_prompt_version": load_prompt(daemon_spec(first.daemon).prompt("executor")).version,
        "comments": [redactor.text(row.comment) for row in rows if row.comment.strip()],
    }


def _write(out: TextIO, line: dict[str, Any]) -> None:
    out.write(json.dumps(line, ensure_ascii=False) + "\n")


async def _person_names(pool: Pool) -> list[str]:
    """Display names of every principal who is a person (services are not)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT display_name FROM principals WHERE role <> 'service' ORDER BY id"
        )
        return [row["display_name"] for row in await cursor.fetchall()]
