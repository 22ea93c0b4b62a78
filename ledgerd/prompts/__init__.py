"""Prompts live in files next to this module; each has a version: its content's hash.

The version is recorded with every model call (and span), so two runs' behaviour can be
compared by the exact prompt text they used, not by a file name that may have changed since.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


class UnknownPrompt(LookupError):
    pass


@cache
def load_prompt(name: str) -> Prompt:
    path = resources.files(__name__) / f"{name}.md"
    if not path.is_file():
        raise UnknownPrompt(f"no prompt file {name}.md in {__name__}")
    return Prompt(name=name, text=path.read_text(encoding="utf-8").strip())
