"""`find unlinked merchants`: group a tenant's unlinked transactions by merchant, for the
batch hydration to start one vendor hydration per merchant."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field
from temporalio import activity

from accounting.principals import Principal
from accounting.transactions import TransactionFilter, list_transactions
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
