"""The external company-lookup tool: public facts about a company behind a provider interface.

The offline provider is a directory of well-known companies shipped with ledgerd; a real
provider plugs in behind the same `CompanyLookup` protocol.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field

from accounting.principals import Principal
from ledgerd.company_lookup import CompanyLookup, CompanyMatch, OfflineCompanyDirectory
from ledgerd.db import Pool


class CompanyQuery(BaseModel):
    query: str = Field(
        min_length=2,
        max_length=200,
        description="A company name or a raw bank descriptor, e.g. 'UBER   *TRIP HELP.UBER.COM'.",
    )
    limit: int = Field(default=3, ge=1, le=10)


class CompanyMatches(BaseModel):
    matches: list[CompanyMatch]


@lru_cache(maxsize=1)
def provider() -> CompanyLookup:
    return OfflineCompanyDirectory()


async def lookup_company(pool: Pool, principal: Principal, request: CompanyQuery) -> CompanyMatches:
    """Look a company up in the external company directory: official name, web domain,
    standard category and headquarters, with a match score from 0 to 1.

    Use it to enrich a vendor from a messy bank descriptor; scores under 0.5 are weak.
    """
    return CompanyMatches(matches=await provider().lookup(request.query, limit=request.limit))
