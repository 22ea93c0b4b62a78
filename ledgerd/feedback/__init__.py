"""Feedback on daemon responses, the rewards built from it, and fine-tuning datasets.

- `give_feedback(client, pool, principal, workflow_id, feedback)`: the CLI's and the HTTP
  API's way in (running or finished runs); the workflows' `feedback` Update reaches
  `save_feedback` through the `record_feedback` activity (running runs only);
- `rewards.run_reward(signals)`: one scalar per response, every weight named;
- `export_dataset(pool, out, tenant_id=..., kind=..., min_reward=...)`: supervised examples and
  preference pairs as JSONL, PII redacted (`Redactor`).

See docs/feedback.md.
"""

from ledgerd.feedback._export import DatasetKind, ExportSummary, export_dataset
from ledgerd.feedback._models import (
    DaemonResponse,
    Feedback,
    FeedbackReceipt,
    FieldProblem,
    InvalidFeedback,
    NotAnswered,
    RunFeedback,
    RunTarget,
    StoredFeedback,
    Thumbs,
    correction_problems,
    feedback_problems,
)
from ledgerd.feedback._redact import Redactor
from ledgerd.feedback._store import (
    give_feedback,
    load_feedback,
    load_response,
    run_target,
    save_feedback,
)

__all__ = [
    "DaemonResponse",
    "DatasetKind",
    "ExportSummary",
    "Feedback",
    "FeedbackReceipt",
    "FieldProblem",
    "InvalidFeedback",
    "NotAnswered",
    "Redactor",
    "RunFeedback",
    "RunTarget",
    "StoredFeedback",
    "Thumbs",
    "correction_problems",
    "export_dataset",
    "feedback_problems",
    "give_feedback",
    "load_feedback",
    "load_response",
    "run_target",
    "save_feedback",
]
