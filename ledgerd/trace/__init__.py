"""Decision traces of daemon runs: what each step decided, joined from Temporal history and
PostgreSQL (`transcript_entries`, `model_calls`, `notification_outbox`).

- `build_trace(history_events, transcript_rows, model_call_rows, outbox_rows)`: pure, no I/O;
- `load_trace(client, conn, workflow_id)`: fetches those (following continue-as-new), decodes
  them with the client's codec (`decode_history`: payloads are encrypted) and builds;
- `render_trace(trace)`: aligned plain text for the terminal; `trace.model_dump_json()` for
  machines (`ledgerd trace <workflow-id> [--json]`).
"""

from ledgerd.trace._build import build_trace
from ledgerd.trace._load import decode_history, fetch_history_chain, load_trace
from ledgerd.trace._model import DecisionTrace
from ledgerd.trace._render import render_trace

__all__ = [
    "DecisionTrace",
    "build_trace",
    "decode_history",
    "fetch_history_chain",
    "load_trace",
    "render_trace",
]
