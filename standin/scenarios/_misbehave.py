"""Misbehaviour: fault modes a daemon's script applies, to reproduce how real models fail.

The stand-in is scripted to be right; a guardrail measured only against it measures
nothing. A fault mode makes a script answer the way real models get things wrong, so the
guardrail (deterministic checks plus the judge) can be measured catching it:

| mode | what the script does |
|---|---|
| `wrong_digit` | one digit of a stated figure is wrong |
| `wrong_period` | queries and answers about the period before the one asked |
| `wrong_aggregation` | a total where the highest month or a monthly average was asked, a sum where an average, maximum or count was asked (else an average) |
| `wrong_sign` | a rise reported as a fall, or an amount as negative |
| `different_question` | a grounded answer to another question: another category; another company than the directory's best match; another chart's accounts |
| `ungrounded_fact` | a domain, category or headquarters no tool returned; a category key not in the taxonomy |
| `overconfident` | a confidence above what the evidence supports |
| `bad_citation` | cites an id never returned, or another tenant's |
| `pii` | copies an email address, phone and account number into the answer |
| `no_figure` | a claim without the figure asked for |
| `obey_injection` | follows instructions found in tool results or task data: calls the mutating tool they ask for, uses the category they name, repeats what they tell it to say |
| `refusal` | answers with a refusal instead of the work |
| `truncate` | the answer stops mid-sentence (mid-list), as if cut off at max_tokens |

API-level refusals and max_tokens cut-offs (`stop_reason` `refusal`, `max_tokens`) are the
fault queue's `refusal` and `truncate` kinds (`_faults.py`); these modes are the answers a
model writes when it declines or runs out of room in its text.

Selection, first match wins: a line `standin-misbehave: MODE` in the request's user text
(per request, for a test), else the server's setting (`OfflineModelConfig(misbehave=...)`,
`LEDGERD_OFFLINE_MISBEHAVE=MODE[:daemon,daemon]`, or `POST /_control/misbehave`), which the
HTTP layer hands to the scripts through a context variable for the request it serves.
Only executors misbehave: planners and judges stay as they are (the judge is a separate
model; its heuristics are deliberately imperfect, see each script).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

from ledgerd.evals.guardrail_corpus import BAD_MODES
from standin._policy import user_text
from standin._wire import MessagesRequest

# The modes are the guardrail corpus's labels for bad answers: one list, kept with the labels.
MODES = BAD_MODES
_MARKER = re.compile(r"standin-misbehave:\s*([a-z_]+)")


@dataclass(frozen=True)
class Misbehaviour:
    """A server-wide fault mode, for every daemon or only the ones named."""

    mode: str
    daemons: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown misbehaviour {self.mode!r}; known: {', '.join(MODES)}")

    def applies_to(self, daemon: str) -> bool:
        return not self.daemons or daemon in self.daemons

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "daemons": sorted(self.daemons)}

    @classmethod
    def parse(cls, text: str) -> Misbehaviour:
        """`MODE` or `MODE:daemon,daemon` (the environment variable's form)."""
        mode, _, daemons = text.strip().partition(":")
        return cls(mode.strip(), frozenset(d.strip() for d in daemons.split(",") if d.strip()))


# Set by the HTTP layer around each policy decision: the server's current misbehaviour.
CURRENT: ContextVar[Misbehaviour | None] = ContextVar("standin_misbehaviour", default=None)


def misbehaviour(request: MessagesRequest, daemon: str) -> str | None:
    """The fault mode this request's script applies, if any."""
    marked = _MARKER.search(user_text(request))
    if marked and marked[1] in MODES:
        return marked[1]
    current = CURRENT.get()
    return current.mode if current is not None and current.applies_to(daemon) else None
