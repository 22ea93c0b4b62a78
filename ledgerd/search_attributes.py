"""The search attributes ledgerd writes, so runs can be found in the Temporal UI by tenant,
daemon and outcome (registered by `ledgerd dev`; see SEARCH_ATTRIBUTES in ledgerd.stack)."""

from temporalio.common import SearchAttributeKey

TENANT = SearchAttributeKey.for_keyword("LedgerdTenant")
DAEMON = SearchAttributeKey.for_keyword("LedgerdDaemon")
OUTCOME = SearchAttributeKey.for_keyword("LedgerdOutcome")
