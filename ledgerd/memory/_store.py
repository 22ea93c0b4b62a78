"""The `remember` and `recall` handlers: tenant-scoped facts that outlive a workflow run.

Recall fuses two searches in one SQL query with reciprocal rank fusion (RRF): semantic
(cosine distance of the current embedder's vectors) and PostgreSQL full-text. A fact is
scored `1/(60 + rank)` in each search that found it, summed: found by both beats found by
one, and neither search's raw scores need calibrating against the other's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, Field

from accounting._access import Conn, not_found
from accounting._idempotency import once
from accounting.errors import InvalidRequest
from accounting.principals import Principal
from ledgerd.db import Pool
from ledgerd.memory._embedders import Embedder, current_embedder

# RRF's usual constant: it damps the difference between the first few ranks.
RRF_K = 60
# Each search contributes this many candidates per requested result before fusion.
CANDIDATES_PER_RESULT = 4
# Below this cosine similarity a vector neighbour counts as noise, not a semantic match.
# Offline vectors of unrelated texts mostly score near 0 (only hash collisions overlap), and
# a misspelt word in a short fact still scores above the floor (tests/test_memory.py finds
# "expresso"); an unrelated text that slips past it is ranked down by the fusion.
MIN_SIMILARITY = 0.1


class RunContext(Protocol):
    """What the runtime tells a handler about the call (`tools.ToolContext` satisfies it)."""

    @property
    def run_id(self) -> str: ...

    @property
    def conversation_id(self) -> str | None: ...


class RememberRequest(BaseModel):
    fact: str = Field(
        min_length=1,
        max_length=1000,
        description="One self-contained fact, worded so it makes sense without this "
        "conversation, e.g. 'Acme books Gusto payroll fees to 6150, not 6100 (owner, March 2025)'.",
    )
    vendor_id: UUID | None = Field(
        default=None, description="The tenant's vendor the fact is about, if any."
    )


class Memory(BaseModel):
    id: UUID
    text: str
    vendor_id: UUID | None
    conversation_id: str | None
    created_by: str
    created_at: datetime


class RecallRequest(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=1000,
        description="What to look for, in words the fact would use, e.g. 'Gusto payroll account'.",
    )
    limit: int = Field(default=5, ge=1, le=20)
    vendor_id: UUID | None = Field(default=None, description="Only facts about this vendor.")
    this_conversation_only: bool = Field(
        default=False, description="Only facts remembered earlier in this conversation."
    )


class RecalledMemory(Memory):
    score: float = Field(description="Fused RRF score; higher is better.")
    semantic_rank: int | None = Field(
        description="Rank in the similarity search, or null if it did not find this fact."
    )
    fulltext_rank: int | None = Field(
        description="Rank in the full-text search, or null if it did not find this fact."
    )
    similarity: float | None = Field(description="Cosine similarity to the query, 0..1.")


class Recollection(BaseModel):
    memories: list[RecalledMemory]


_COLUMNS = "id, text, vendor_id, conversation_id, created_by, created_at"


def _vector_literal(vector: list[float]) -> str:
    # pgvector's text form; no client-side type registration needed on the shared pool.
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


async def _check_vendor(conn: Conn, principal: Principal, vendor_id: UUID | None) -> None:
    if vendor_id is None:
        return
    cursor = await conn.execute(
        "SELECT 1 FROM vendors WHERE tenant_id = %s AND id = %s", (principal.tenant_id, vendor_id)
    )
    if await cursor.fetchone() is None:
        raise not_found(principal, "vendors", vendor_id)


async def _embed_one(embedder: Embedder, text: str) -> list[float]:
    [vector] = await embedder.embed([text])
    return vector


async def remember(
    pool: Pool,
    principal: Principal,
    request: RememberRequest,
    *,
    idempotency_key: str,
    context: RunContext,
) -> Memory:
    """Remember a fact for later runs of this tenant: a follow-up question, another day.

    Store durable, reusable facts only: a preference, a decision and its reason, a
    correction the user made, a mapping you had to work out. Not figures you can query
    again, and not guesses. Returns the memory's id, which an answer can cite.
    """
    # Any principal of the tenant may remember, viewers included: the people who ask
    # questions are often viewers, and a memory is a note for future answers, not a change
    # to the books. Recall shows `created_by`, so an answer can weigh who said it.
    embedder = current_embedder()
    # Embedded before the transaction, so no connection waits on the provider; a retried
    # call embeds again (cheap) but `once` still stores one row.
    vector = await _embed_one(embedder, request.fact)

    async def act(conn: Conn) -> Memory:
        await _check_vendor(conn, principal, request.vendor_id)
        cursor = await conn.execute(
            f"""INSERT INTO memories (tenant_id, text, embedding, embedder, dims, vendor_id,
                                      conversation_id, source_run, created_by)
                VALUES (%s, %s, %s::vector, %s, %s, %s, %s, %s, %s)
                RETURNING {_COLUMNS}""",
            (
                principal.tenant_id,
                request.fact,
                _vector_literal(vector),
                embedder.name,
                len(vector),
                request.vendor_id,
                context.conversation_id,
                context.run_id,
                principal.id,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        return Memory.model_validate(row)

    async with pool.connection() as conn, conn.transaction():
        return await once(conn, principal, "remember", idempotency_key, Memory, lambda: act(conn))


# One statement: the tenant's candidate rows, two ranked searches over them, fused.
# The distance is computed only for rows of the current embedder and size (inside CASE,
# whose order PostgreSQL keeps, unlike AND's): vectors of another embedder are never
# compared, and vectors of another size would be an error.
_RECALL = f"""
WITH scope AS MATERIALIZED (
    SELECT id, search,
           CASE WHEN embedder = %(embedder)s AND dims = %(dims)s
                THEN embedding <=> %(vector)s::vector END AS distance
    FROM memories
    WHERE tenant_id = %(tenant)s
      AND (%(vendor)s::uuid IS NULL OR vendor_id = %(vendor)s::uuid)
      AND (%(conversation)s::text IS NULL OR conversation_id = %(conversation)s::text)
),
query AS (
    -- Any of the query's words, not all of them: a question rarely repeats a whole fact.
    SELECT replace(plainto_tsquery('english', %(query)s)::text, ' & ', ' | ')::tsquery AS q
),
semantic AS (
    SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank
    FROM scope
    WHERE distance IS NOT NULL AND distance <= %(max_distance)s
    ORDER BY distance, id
    LIMIT %(candidates)s
),
fulltext AS (
    SELECT id, row_number() OVER (ORDER BY ts_rank_cd(search, q) DESC, id) AS rank
    FROM scope, query
    WHERE search @@ q
    ORDER BY rank
    LIMIT %(candidates)s
),
fused AS (
    SELECT COALESCE(s.id, f.id) AS id, s.rank AS semantic_rank, f.rank AS fulltext_rank,
           1 - s.distance AS similarity,
           COALESCE(1.0 / ({RRF_K} + s.rank), 0) + COALESCE(1.0 / ({RRF_K} + f.rank), 0) AS score
    FROM semantic s FULL JOIN fulltext f ON s.id = f.id
)
SELECT m.id, m.text, m.vendor_id, m.conversation_id, m.created_by, m.created_at,
       fused.semantic_rank, fused.fulltext_rank, fused.similarity, fused.score
FROM fused JOIN memories m ON m.id = fused.id
ORDER BY fused.score DESC, m.created_at DESC, m.id
LIMIT %(limit)s
"""


def _recalled(row: dict[str, Any]) -> RecalledMemory:
    similarity = row["similarity"]
    return RecalledMemory.model_validate(
        {
            **row,
            "score": round(float(row["score"]), 6),
            "similarity": None if similarity is None else round(float(similarity), 4),
        }
    )


async def recall(
    pool: Pool,
    principal: Principal,
    request: RecallRequest,
    *,
    context: RunContext,
) -> Recollection:
    """Recall facts remembered in earlier runs of this tenant, best match first.

    Matches by meaning and by words together; each result says which search found it
    (`semantic_rank`, `fulltext_rank`). Cite a memory by its id. A memory is what someone
    said earlier (`created_by`, `created_at`): check it against the ledger when it matters.
    """
    conversation = None
    if request.this_conversation_only:
        if context.conversation_id is None:
            raise InvalidRequest("this run belongs to no conversation; recall without the filter")
        conversation = context.conversation_id
    embedder = current_embedder()
    vector = await _embed_one(embedder, request.query)
    async with pool.connection() as conn:
        await _check_vendor(conn, principal, request.vendor_id)
        cursor = await conn.execute(
            _RECALL,
            {
                "tenant": principal.tenant_id,
                "vendor": request.vendor_id,
                "conversation": conversation,
                "embedder": embedder.name,
                "dims": len(vector),
                "vector": _vector_literal(vector),
                "max_distance": 1 - MIN_SIMILARITY,
                "query": request.query,
                "candidates": request.limit * CANDIDATES_PER_RESULT,
                "limit": request.limit,
            },
        )
        rows = await cursor.fetchall()
    return Recollection(memories=[_recalled(row) for row in rows])
