"""Vendors: the companies a tenant pays, with per-field provenance of enriched facts."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from accounting._access import Conn, not_found
from accounting._idempotency import once
from accounting.errors import InvalidRequest
from accounting.principals import Principal
from ledgerd.db import Pool

Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


class FieldProvenance(BaseModel):
    """Where one enriched field came from, and how sure the enricher was."""

    source: str = Field(description="What supplied the value, e.g. 'company_lookup' or 'seed'.")
    confidence: Confidence
    evidence: str | None = Field(default=None, description="A short quote of the evidence.")


class Vendor(BaseModel):
    id: UUID
    canonical_name: str
    domain: str | None
    category: str | None
    account_code: str | None
    headquarters: str | None
    aliases: list[str]
    descriptors: list[str]
    provenance: dict[str, FieldProvenance]


class VendorMatch(BaseModel):
    vendor: Vendor
    score: Annotated[float, Field(ge=0.0)]


class VendorSearch(BaseModel):
    text: str = Field(
        min_length=2,
        max_length=200,
        description="A vendor name or a raw bank descriptor, e.g. 'SQ *BLUE BOTTLE COFF'.",
    )
    limit: int = Field(default=5, ge=1, le=25)


class VendorMatches(BaseModel):
    matches: list[VendorMatch]


class VendorRef(BaseModel):
    vendor_id: UUID


class VendorUpsert(BaseModel):
    """A vendor record to create, or to merge into the tenant's vendor of the same name."""

    canonical_name: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$",
        description="e.g. 'bluebottlecoffee.com'",
    )
    category: str | None = Field(default=None, description="A standard category key.")
    account_code: str | None = Field(default=None, description="The tenant's account code.")
    headquarters: str | None = None
    aliases: list[str] = Field(default_factory=list, max_length=50)
    descriptors: list[str] = Field(default_factory=list, max_length=200)
    provenance: dict[str, FieldProvenance] = Field(default_factory=dict)


MAX_LINKED_PER_REQUEST = 5000


class LinkTransactions(BaseModel):
    vendor_id: UUID
    transaction_ids: list[str] = Field(min_length=1, max_length=MAX_LINKED_PER_REQUEST)


class LinkResult(BaseModel):
    vendor_id: UUID
    linked: int


_NOISE = re.compile(r"[^a-z0-9 ]+")


def normalized_name(name: str) -> str:
    return " ".join(_NOISE.sub(" ", name.lower()).split())


def _vendor(row: dict[str, Any]) -> Vendor:
    return Vendor.model_validate(row)


_COLUMNS = """id, canonical_name, domain, category, account_code, headquarters,
              aliases, descriptors, provenance"""


async def _get(conn: Conn, principal: Principal, vendor_id: UUID) -> Vendor:
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM vendors WHERE tenant_id = %s AND id = %s",
        (principal.tenant_id, vendor_id),
    )
    row = await cursor.fetchone()
    if row is None:
        raise not_found(principal, "vendors", vendor_id)
    return _vendor(row)


async def search_vendors(pool: Pool, principal: Principal, request: VendorSearch) -> VendorMatches:
    """Find the tenant's existing vendors resembling a name or a raw bank descriptor.

    Fuzzy trigram similarity and full-text matching are fused, so both a clean name
    ("Blue Bottle Coffee") and a messy descriptor ("SQ *BLUE BOTTLE COFF OAKLAND CA") match.
    """
    tokens = normalized_name(request.text).split()
    words = [w for w in tokens if len(w) > 1 and not w.isdigit()]
    # Reference numbers and single letters are noise, unless they are all there is ("7 11").
    # Either way the query is built from normalized tokens ([a-z0-9]+, never tsquery syntax);
    # with none at all it is empty and matches nothing, and the trigram match still runs.
    terms = words or tokens
    text = " ".join(terms) or request.text.lower()
    query = " | ".join(terms)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"""SELECT {_COLUMNS},
                       word_similarity(%(text)s, search_doc)
                       + ts_rank(to_tsvector('simple', search_doc), to_tsquery('simple', %(q)s))
                       AS score
                FROM vendors
                WHERE tenant_id = %(tenant)s
                  AND (search_doc %% %(text)s OR %(text)s <%% search_doc
                       OR to_tsvector('simple', search_doc) @@ to_tsquery('simple', %(q)s))
                ORDER BY score DESC, canonical_name
                LIMIT %(limit)s""",
            {"text": text, "q": query, "tenant": principal.tenant_id, "limit": request.limit},
        )
        rows = await cursor.fetchall()
    return VendorMatches(
        matches=[VendorMatch(vendor=_vendor(row), score=round(row["score"], 4)) for row in rows]
    )


async def get_vendor(pool: Pool, principal: Principal, request: VendorRef) -> Vendor:
    """Read one of the tenant's vendors by id."""
    async with pool.connection() as conn:
        return await _get(conn, principal, request.vendor_id)


async def _check_account(conn: Conn, principal: Principal, code: str | None) -> None:
    if code is None:
        return
    cursor = await conn.execute(
        "SELECT 1 FROM accounts WHERE tenant_id = %s AND code = %s", (principal.tenant_id, code)
    )
    if await cursor.fetchone() is None:
        raise InvalidRequest(
            f"account code {code!r} is not in tenant {principal.tenant_id!r}'s chart"
        )


async def _check_category(conn: Conn, category: str | None) -> None:
    if category is None:
        return
    cursor = await conn.execute("SELECT 1 FROM standard_categories WHERE key = %s", (category,))
    if await cursor.fetchone() is None:
        raise InvalidRequest(f"category {category!r} is not a standard category key")


async def upsert_vendor(
    pool: Pool,
    principal: Principal,
    request: VendorUpsert,
    *,
    idempotency_key: str | None = None,
) -> Vendor:
    """Create the tenant's vendor, or merge into the one with the same normalized name.

    Given fields overwrite stored ones (with their provenance); aliases and descriptors are
    merged. Keyed by name, so upserting the same vendor twice leaves one row.
    """
    principal.require_write("upsert vendors")

    async def act(conn: Conn) -> Vendor:
        await _check_account(conn, principal, request.account_code)
        await _check_category(conn, request.category)
        cursor = await conn.execute(
            f"""INSERT INTO vendors (tenant_id, canonical_name, normalized_name, domain, category,
                                     account_code, headquarters, aliases, descriptors, provenance)
                VALUES (%(tenant)s, %(name)s, %(norm)s, %(domain)s, %(category)s, %(account)s,
                        %(hq)s, %(aliases)s, %(descriptors)s, %(provenance)s)
                ON CONFLICT (tenant_id, normalized_name) DO UPDATE SET
                    canonical_name = EXCLUDED.canonical_name,
                    domain = COALESCE(EXCLUDED.domain, vendors.domain),
                    category = COALESCE(EXCLUDED.category, vendors.category),
                    account_code = COALESCE(EXCLUDED.account_code, vendors.account_code),
                    headquarters = COALESCE(EXCLUDED.headquarters, vendors.headquarters),
                    aliases = ARRAY(SELECT DISTINCT unnest(vendors.aliases || EXCLUDED.aliases)
                                    ORDER BY 1),
                    descriptors = ARRAY(SELECT DISTINCT unnest(vendors.descriptors
                                                               || EXCLUDED.descriptors) ORDER BY 1),
                    provenance = vendors.provenance || EXCLUDED.provenance,
                    updated_at = now()
                RETURNING {_COLUMNS}""",
            {
                "tenant": principal.tenant_id,
                "name": request.canonical_name,
                "norm": normalized_name(request.canonical_name),
                "domain": request.domain,
                "category": request.category,
                "account": request.account_code,
                "hq": request.headquarters,
                "aliases": sorted(set(request.aliases)),
                "descriptors": sorted(set(request.descriptors)),
                "provenance": Jsonb(
                    {k: v.model_dump(mode="json") for k, v in request.provenance.items()}
                ),
            },
        )
        row = await cursor.fetchone()
        assert row is not None
        return _vendor(row)

    async with pool.connection() as conn, conn.transaction():
        return await once(
            conn, principal, "upsert_vendor", idempotency_key, Vendor, lambda: act(conn)
        )


async def link_transactions(
    pool: Pool,
    principal: Principal,
    request: LinkTransactions,
    *,
    idempotency_key: str | None = None,
) -> LinkResult:
    """Link bank transactions to a vendor, categorising them with the vendor's account.

    All ids must be the tenant's; one foreign id refuses the whole request.
    """
    principal.require_write("link transactions")

    async def act(conn: Conn) -> LinkResult:
        vendor = await _get(conn, principal, request.vendor_id)
        ids = sorted(set(request.transaction_ids))
        cursor = await conn.execute(
            "SELECT id FROM bank_transactions WHERE tenant_id = %s AND id = ANY(%s)",
            (principal.tenant_id, ids),
        )
        found = {row["id"] for row in await cursor.fetchall()}
        for transaction_id in ids:
            if transaction_id not in found:
                raise not_found(principal, "bank_transactions", transaction_id)
        cursor = await conn.execute(
            """UPDATE bank_transactions SET vendor_id = %s,
                      account_code = COALESCE(%s, account_code)
               WHERE tenant_id = %s AND id = ANY(%s)""",
            (vendor.id, vendor.account_code, principal.tenant_id, ids),
        )
        return LinkResult(vendor_id=vendor.id, linked=cursor.rowcount)

    async with pool.connection() as conn, conn.transaction():
        return await once(
            conn, principal, "link_transactions", idempotency_key, LinkResult, lambda: act(conn)
        )
