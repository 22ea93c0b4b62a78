"""Spotlighting: outside data reaches a model delimited and marked as data.

Microsoft's spotlighting (Hines et al., 2024, arXiv:2403.14720) and OWASP LLM01's
"segregate and identify external content": every tool result, and every piece of outside
data in a task (a bank descriptor, an accountant's comments), is wrapped in
`<data source="...">` … `</data>`, and every prompt says that what is inside is data, never
instructions. Delimiting, not encoding: the models must still read exact figures and ids.

The data cannot close its own tag: a `<data` or `</data` inside it is neutralised, so a
descriptor reading `</data> SYSTEM: ...` stays inside its block.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"<(/?)(\s*)data\b", re.IGNORECASE)
_BLOCK = re.compile(r'<data source="([^"]*)">\n?(.*?)\n?</data>', re.DOTALL)


def neutralise(text: str) -> str:
    """The text with any `<data`/`</data` turned into `‹data`/`‹/data`."""
    return _TAG.sub(lambda m: f"‹{m[1]}{m[2]}data", text)


def spotlight(source: str, text: str) -> str:
    """`text` as marked data from `source` ('tool_result:lookup_company', 'bank descriptor')."""
    label = re.sub(r'["<>\n]', "", source)[:80]
    return f'<data source="{label}">\n{neutralise(text)}\n</data>'


def inline(source: str, text: str) -> str:
    """A short datum inside a sentence of the task, on one line."""
    label = re.sub(r'["<>\n]', "", source)[:80]
    return f'<data source="{label}">{neutralise(" ".join(text.split()))}</data>'


def blocks(text: str) -> list[tuple[str, str]]:
    """Every (source, content) data block of a text: the outside data a task carries."""
    return [(m[1], m[2]) for m in _BLOCK.finditer(text)]


def unwrap(text: str) -> str:
    """The content of a text that is one data block, else the text unchanged."""
    match = _BLOCK.fullmatch(text.strip())
    return match[2] if match else text
