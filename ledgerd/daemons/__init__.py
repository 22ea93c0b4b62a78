"""The daemons ledgerd ships, by kind."""

from __future__ import annotations

from ledgerd.daemons._spec import RESPOND, DaemonSpec, Evidence
from ledgerd.daemons.account_mapping import ACCOUNT_MAPPING, AccountMappingAnswer
from ledgerd.daemons.ledger_question import LEDGER_QUESTION, LedgerAnswer
from ledgerd.daemons.vendor_hydration import VENDOR_HYDRATION, VendorRecord

DAEMONS: dict[str, DaemonSpec] = {
    spec.kind: spec for spec in (VENDOR_HYDRATION, ACCOUNT_MAPPING, LEDGER_QUESTION)
}


class UnknownDaemon(LookupError):
    pass


def daemon_spec(kind: str) -> DaemonSpec:
    try:
        return DAEMONS[kind]
    except KeyError:
        raise UnknownDaemon(f"unknown daemon {kind!r}; known: {sorted(DAEMONS)}") from None


__all__ = [
    "DAEMONS",
    "RESPOND",
    "AccountMappingAnswer",
    "DaemonSpec",
    "Evidence",
    "LedgerAnswer",
    "UnknownDaemon",
    "VendorRecord",
    "daemon_spec",
]
