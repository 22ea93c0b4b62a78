"""The records a company lookup returns, and the interface every provider implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class CompanyRecord(BaseModel):
    """Public facts about one company, as a company-data provider would return them."""

    # Records are cached and shared between callers: freezing them stops one caller's edit
    # from silently changing every later lookup.
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    domain: str = Field(min_length=3)
    category: str = Field(min_length=1, description="a key of the standard_categories table")
    headquarters: str = Field(min_length=1, description='"City, Region/Country"')
    aliases: list[str] = Field(default_factory=list)


class CompanyMatch(BaseModel):
    """One candidate for a query, best first in a lookup's answer."""

    model_config = ConfigDict(frozen=True)

    record: CompanyRecord
    score: float = Field(ge=0.0, le=1.0, description="confidence that the query names `record`")
    matched: str = Field(
        default="",
        description="the name, alias or domain of `record` the query matched best (evidence)",
    )


@runtime_checkable
class CompanyLookup(Protocol):
    """Resolve free text (a company name, a domain, a raw bank descriptor) to companies.

    Implementations: `OfflineCompanyDirectory` (bundled, deterministic); a networked
    provider (e.g. a Clearbit-like API) can be slotted in behind the same method.
    """

    async def lookup(self, query: str, limit: int = 5) -> list[CompanyMatch]:
        """Return up to `limit` candidates, best first; an empty list when nothing fits."""
        ...
