"""Reading the guardrail's brief to a judge: the answer, the tool evidence and the task.

The brief marks the answer and the evidence as data (`<data source=...>` blocks); the
stand-in's judges read through the marks, as a model would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ledgerd.injection import unwrap
from standin._policy import user_text
from standin._wire import MessagesRequest

# The judge heuristics' own notion of an injection: the blunt override phrasings. A model
# judge reads more; this one is deliberately no better than a quick read.
_OBVIOUS = re.compile(
    r"ignore (?:all |any )?(?:previous|prior|above) instructions|disregard (?:all |your )?"
    r"(?:previous |prior )?instructions|system prompt|you are now",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Brief:
    answer: dict[str, Any] | None
    evidence: str
    task: str

    def injections(self) -> list[str]:
        """Obvious override phrasings in the evidence or the task, quoted shortly."""
        found = []
        for text in (self.evidence, self.task):
            for match in _OBVIOUS.finditer(text):
                found.append(f"instructions in the data: '{match[0]}'")
        return list(dict.fromkeys(found))[:5]


def read_brief(request: MessagesRequest) -> Brief:
    text = user_text(request)
    answer_part, _, rest = text.partition("\n\nTool evidence:\n")
    evidence, _, task = rest.partition("\n\nTask:\n")
    raw = unwrap(answer_part.removeprefix("Answer to review:\n"))
    try:
        answer = json.loads(raw)
    except json.JSONDecodeError:
        answer = None
    return Brief(
        answer=answer if isinstance(answer, dict) else None,
        evidence=unwrap(evidence),
        task=task,
    )
