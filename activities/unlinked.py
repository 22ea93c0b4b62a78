"""`find unlinked merchants`: group a tenant's unlinked transactions by merchant, for the
batch hydration to start one vendor hydration per merchant; and `link merchant remainder`:
link the rest of a merchant too large for one hydration to the vendor it found."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from pydantic import BaseModel, Field
from temporalio import activity

from accounting.principals import Principal
from accounting.transactions import TransactionFilter, list_transactions
from accounting.vendors import MAX_LINKED_PER_REQUEST, LinkTransactions, link_transactions
from ledgerd.company_lookup import normalize_descriptor
from ledgerd.runtime import dependencies

_PAGE = 500


class UnlinkedRequest(BaseModel):
    principal: Principal
    max_groups: int = Field(default=500, ge=1, le=5000)


class MerchantGroup(BaseModel):
    key: str = Field(
        description="The descriptor with reference numbers and processor noise removed."
    )
    transaction_ids: list[str]


@activity.defn(name="find_unlinked_merchants")
async def find_unlinked_merchants(request: UnlinkedRequest) -> list[MerchantGroup]:
    pool = dependencies().pool
    groups: dict[str, list[str]] = defaultdict(list)
    offset = 0
    while True:
        # Through the platform's handler, so the caller's tenant scope applies.
        page = await list_transactions(
            pool,
            request.principal,
            TransactionFilter(unlinked_only=True, limit=_PAGE, offset=offset),
        )
        for item in page.items:
            groups[normalize_descriptor(item.raw_descriptor) or item.raw_descriptor].append(item.id)
        offset += _PAGE
        activity.heartbeat(offset)
        if offset >= page.total:
            break
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: request.max_groups]
    return [MerchantGroup(key=key, transaction_ids=sorted(ids)) for key, ids in ranked]


class MerchantRemainder(BaseModel):
    principal: Principal
    vendor_id: UUID
    transaction_ids: list[str] = Field(min_length=1)
    idempotency_key: str


@activity.defn(name="link_merchant_remainder")
async def link_merchant_remainder(request: MerchantRemainder) -> int:
    """Link the transactions a merchant's hydration could not name to the vendor it found:
    they carry the same descriptor, so the daemon's decision holds for them too."""
    pool = dependencies().pool
    linked = 0
    size = MAX_LINKED_PER_REQUEST
    for start in range(0, len(request.transaction_ids), size):
        result = await link_transactions(
            pool,
            request.principal,
            LinkTransactions(
                vendor_id=request.vendor_id,
                transaction_ids=request.transaction_ids[start : start + size],
            ),
            idempotency_key=f"{request.idempotency_key}/{start}",
        )
        linked += result.linked
    return linked
