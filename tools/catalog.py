"""Every tool a daemon can be given, each declared once over its handler."""

from __future__ import annotations

from accounting import accounts, clients, ledger_query, transactions, vendors
from ledgerd import memory
from tools._declaration import Tool, tool
from tools.company_lookup import lookup_company

CATALOG: dict[str, Tool] = {
    t.name: t
    for t in (
        tool(vendors.search_vendors),
        tool(vendors.get_vendor),
        tool(vendors.upsert_vendor, mutating=True),
        tool(vendors.link_transactions, mutating=True),
        tool(transactions.list_transactions),
        tool(transactions.aggregate_transactions),
        tool(ledger_query.query_ledger),
        tool(accounts.list_accounts),
        tool(accounts.list_standard_categories),
        tool(accounts.upsert_account, mutating=True),
        tool(clients.get_client_profile),
        tool(clients.update_client_profile, mutating=True),
        tool(lookup_company),
        tool(memory.remember, mutating=True),
        tool(memory.recall),
    )
}
