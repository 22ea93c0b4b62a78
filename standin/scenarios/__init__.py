"""Daemon-specific scenarios for the offline stand-in, one module per daemon.

Each module calls `standin.register_scenario(...)` at import time and is
imported from here (`from standin.scenarios import <daemon>  # noqa: F401`).
`create_app` imports this package, so listing a module here is all it takes to enable it.
Scenarios are tried in registration order, before the generic policy.
"""

from standin.scenarios import (
    account_mapping,  # noqa: F401
    ledger_question,  # noqa: F401
    vendor_hydration,  # noqa: F401
)
