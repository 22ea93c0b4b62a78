"""`link to a known vendor`: a batch's deterministic first try for one merchant, before any
model is asked. Reads the tenant's vendors as they are now, so a merchant hydrated by an
earlier run of the same batch is known to every later one."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field
from temporalio import activity

from accounting.principals import Principal
from accounting.vendors import LinkTransactions, link_transactions
from ledgerd.runtime import dependencies
from ledgerd.vendor_match import KnownVendor, match_vendor, names_agree
from tools.company_lookup import provider

# The company directory's score from which a match names the company (tools/company_lookup).
STRONG_MATCH = 0.5


class KnownVendorRequest(BaseModel):
    principal: Principal
    key: str = Field(description="The merchant's normalised descriptor.")
    transaction_ids: list[str]
    idempotency_key: str


class KnownVendorLink(BaseModel):
    vendor_id: str | None = None
    canonical_name: str | None = None
    rule: str | None = None
    linked: int = 0


@activity.defn(name="link_known_vendor")
async def link_known_vendor(request: KnownVendorRequest) -> KnownVendorLink:
    pool = dependencies().pool
    tenant = request.principal.tenant_id
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT id::text, canonical_name, aliases, descriptors, domain FROM vendors
               WHERE tenant_id = %s ORDER BY canonical_name""",
            (tenant,),
        )
        vendors = [
            KnownVendor(
                id=row["id"],
                canonical_name=row["canonical_name"],
                aliases=tuple(row["aliases"] or ()),
                descriptors=tuple(row["descriptors"] or ()),
                domain=row["domain"],
            )
            for row in await cursor.fetchall()
        ]
        cursor = await conn.execute(
            """SELECT DISTINCT raw_descriptor FROM bank_transactions
               WHERE tenant_id = %s AND id = ANY(%s)""",
            (tenant, request.transaction_ids),
        )
        raw = [row["raw_descriptor"] for row in await cursor.fetchall()]
    match = match_vendor(request.key, raw, vendors)
    if match is None or not await _directory_agrees(match.vendor, raw):
        return KnownVendorLink()
    # Through the platform's handler: the caller's role and tenant checks apply, and the
    # key makes a retried activity link once.
    result = await link_transactions(
        pool,
        request.principal,
        LinkTransactions(vendor_id=UUID(match.vendor.id), transaction_ids=request.transaction_ids),
        idempotency_key=request.idempotency_key,
    )
    return KnownVendorLink(
        vendor_id=match.vendor.id,
        canonical_name=match.vendor.canonical_name,
        rule=match.rule,
        linked=result.linked,
    )


async def _directory_agrees(vendor: KnownVendor, raw_descriptors: list[str]) -> bool:
    """The words of a descriptor can start with a known vendor's name and still be another
    company ("UBER *EATS" is Uber Eats, not Uber). The company directory, which a daemon
    would consult, must name this vendor for every descriptor of the merchant; where it
    names another company, or none, the daemon decides."""
    directory = provider()
    for raw in raw_descriptors:
        found = await directory.lookup(raw, limit=1)
        if not found or found[0].score < STRONG_MATCH:
            return False
        if not names_agree(vendor, found[0].record.name):
            return False
    return True
