"""Fixed keys for tests only, set before any test module (or conftest) imports ledgerd.

Importing the daemon specs loads their prompts, which reads and caches the settings; keys set
after that would be ignored and a development key generated instead. The recorded histories
(tests/histories) are encrypted with the payload key and must replay on every machine, and
worker processes the tests start inherit these keys.
"""

from __future__ import annotations

import os
from base64 import b64encode
from hashlib import sha256

for _name in ("signing", "payload"):
    os.environ.setdefault(
        f"LEDGERD_{_name.upper()}_KEYS",
        f"test-{_name}="
        + b64encode(sha256(f"ledgerd test {_name} key".encode()).digest()).decode(),
    )
