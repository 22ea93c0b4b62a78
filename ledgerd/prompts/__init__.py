"""Prompts live in files next to this module; each has a version: its content's hash.

The version is recorded with every model call (and span), so two runs' behaviour can be
compared by the exact prompt text they used, not by a file name that may have changed since.
A file of the same name in `LEDGERD_PROMPT_DIR` overrides the packaged one (a variant under
evaluation, docs/eval.md); its version is its own content's hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ledgerd.config import ConfigError, get_settings


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


class UnknownPrompt(LookupError):
    pass


def load_prompt(name: str) -> Prompt:
    try:
        override_dir = get_settings().prompt_dir
    except ConfigError:
        # Daemon specs load their prompts at import, before a CLI or worker reads (and
        # reports) its configuration; a bad one is refused there, with its variable's name.
        override_dir = None
    return _load_prompt(name, override_dir)


@cache
def _load_prompt(name: str, override_dir: Path | None) -> Prompt:
    path = resources.files(__name__) / f"{name}.md"
    if not path.is_file():
        raise UnknownPrompt(f"no prompt file {name}.md in {__name__}")
    override = override_dir / f"{name}.md" if override_dir is not None else None
    source = override if override is not None and override.is_file() else path
    return Prompt(name=name, text=source.read_text(encoding="utf-8").strip())
