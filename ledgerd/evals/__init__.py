"""Evaluation sets for the daemons, and the grading that says whether an answer is right.

`ledger_questions`: questions over the demo ledger with their expected answers as SQL
(`datasets/ledger_questions.jsonl`), used by the tests and by `ledgerd eval questions`.
`vendor_hydration` and `client_onboarding`: known vendors and known chart mappings;
`compare` runs any of these datasets under two variants (prompts, models per role) for
`ledgerd eval compare` (docs/eval.md).
"""

from ledgerd.evals._compare import compare
from ledgerd.evals._dataset import load_datasets
from ledgerd.evals._report import ComparisonReport, render_table
from ledgerd.evals._variants import Variant, VariantError, parse_variant
from ledgerd.evals.ledger_questions import (
    Expected,
    Grade,
    Question,
    expected,
    grade,
    load_questions,
)

__all__ = [
    "ComparisonReport",
    "Expected",
    "Grade",
    "Question",
    "Variant",
    "VariantError",
    "compare",
    "expected",
    "grade",
    "load_datasets",
    "load_questions",
    "parse_variant",
    "render_table",
]
