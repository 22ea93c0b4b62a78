"""`ClearReceipt`: an Update's answer that stays readable without the codec.

The payload converter (`ledgerd.plugin`) marks these and the codec (`ledgerd.security.codec`)
leaves them in clear, so the plain `temporal` CLI can show what `temporal workflow update
execute` answered. Subclass it only for ids, actions and times: what the caller already
knows, never a tenant's data.
"""

from __future__ import annotations

from pydantic import BaseModel

CLEAR = "ledgerd-clear"


class ClearReceipt(BaseModel):
    """Ids, actions and times only (see the module)."""
