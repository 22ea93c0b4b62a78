"""Daemon memory as tools: `remember` a fact in one run, `recall` it in a later one.

Facts are scoped to the tenant and found by meaning and by words together (pgvector and
PostgreSQL full-text search, fused). The embedder is pluggable: see docs/memory.md.
"""

from __future__ import annotations

from ledgerd.memory._embedders import (
    Embedder,
    EmbeddingError,
    HttpEmbedder,
    OfflineEmbedder,
    configure_embedder,
    current_embedder,
    embedder_from,
)
from ledgerd.memory._store import (
    MIN_SIMILARITY,
    Memory,
    RecalledMemory,
    RecallRequest,
    Recollection,
    RememberRequest,
    RunContext,
    recall,
    remember,
)

__all__ = [
    "MIN_SIMILARITY",
    "Embedder",
    "EmbeddingError",
    "HttpEmbedder",
    "Memory",
    "OfflineEmbedder",
    "RecallRequest",
    "RecalledMemory",
    "Recollection",
    "RememberRequest",
    "RunContext",
    "configure_embedder",
    "current_embedder",
    "embedder_from",
    "recall",
    "remember",
]
