"""Memory as tools: facts remembered in one run are recalled in a later run of the same tenant,
found by meaning and by words together, never by another tenant; against real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from accounting import vendors
from accounting.errors import AccessDenied, InvalidRequest, NotFound
from accounting.principals import Principal, Role
from ledgerd.config import ConfigError, load_settings
from ledgerd.db import Pool
from ledgerd.memory import (
    MIN_SIMILARITY,
    EmbeddingError,
    HttpEmbedder,
    OfflineEmbedder,
    RecallRequest,
    Recollection,
    RememberRequest,
    configure_embedder,
    embedder_from,
    recall,
    remember,
)
from tools import CATALOG, ToolDeclarationError, tool
from tools._declaration import ToolContext

ACME_VIEWER = Principal(id="acme-viewer", tenant_id="acme", role=Role.VIEWER)
ACME_ACCOUNTANT = Principal(id="acme-accountant", tenant_id="acme", role=Role.ACCOUNTANT)
GLOBEX_ACCOUNTANT = Principal(id="globex-accountant", tenant_id="globex", role=Role.ACCOUNTANT)

FIRST_RUN = ToolContext(run_id="ledger-question-1@r1", conversation_id="conv-7")
FOLLOW_UP = ToolContext(run_id="ledger-question-2@r1", conversation_id="conv-7")
OTHER_CONVERSATION = ToolContext(run_id="ledger-question-3@r1", conversation_id="conv-9")

FACTS = [
    "Acme pays Blue Bottle Coffee every Monday for the office espresso machine beans",
    "Gusto payroll fees are booked to account 6150, not 6100, per the owner in March 2025",
    "The AWS bill is split between engineering and marketing cost centres",
    "Uber rides for client visits count as travel, not meals",
]


@pytest.fixture(autouse=True)
def offline_embedder() -> Iterator[OfflineEmbedder]:
    """Every test starts on the offline embedder, whatever the developer's environment says."""
    embedder = OfflineEmbedder()
    configure_embedder(embedder)
    yield embedder
    configure_embedder(None)


@pytest.fixture
async def tenants(pool: Pool) -> dict[str, UUID]:
    """Tenants acme and globex, each with a vendor "Blue Bottle Coffee"; returns their ids."""
    async with pool.connection() as conn, conn.transaction():
        for tenant, name in (("acme", "Acme Robotics"), ("globex", "Globex Corporation")):
            await conn.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, name))
    made = {}
    for principal in (ACME_ACCOUNTANT, GLOBEX_ACCOUNTANT):
        vendor = await vendors.upsert_vendor(
            pool, principal, vendors.VendorUpsert(canonical_name="Blue Bottle Coffee")
        )
        made[principal.tenant_id] = vendor.id
    return made


_keys = iter(range(1_000_000))


async def note(
    pool: Pool,
    fact: str,
    *,
    principal: Principal = ACME_VIEWER,
    context: ToolContext = FIRST_RUN,
    vendor_id: UUID | None = None,
    key: str | None = None,
) -> UUID:
    memory = await remember(
        pool,
        principal,
        RememberRequest(fact=fact, vendor_id=vendor_id),
        idempotency_key=key or f"{context.run_id}/1/{next(_keys)}",
        context=context,
    )
    return memory.id


async def ask(
    pool: Pool,
    query: str,
    *,
    principal: Principal = ACME_VIEWER,
    context: ToolContext = FOLLOW_UP,
    **options: Any,
) -> Recollection:
    return await recall(pool, principal, RecallRequest(query=query, **options), context=context)


async def count_memories(pool: Pool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM memories")
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


async def test_a_later_run_recalls_a_fact_by_a_shared_word_and_by_a_spelling_variant(
    pool: Pool, tenants: dict[str, UUID]
) -> None:
    ids = [await note(pool, fact) for fact in FACTS]

    by_word = await ask(pool, "Which account do Gusto payroll fees go to?")
    best = by_word.memories[0]
    assert best.id == ids[1] and best.text == FACTS[1]
    # Both searches found it, so fusion puts it above anything found by one only.
    assert best.semantic_rank == 1 and best.fulltext_rank == 1
    assert all(m.score < best.score for m in by_word.memories[1:])
    assert best.conversation_id == "conv-7" and best.created_by == "acme-viewer"

    # "expresso" is in no fact: full-text cannot find it, shared trigrams can.
    by_variant = await ask(pool, "expresso")
    assert by_variant.memories[0].id == ids[0]
    assert by_variant.memories[0].fulltext_rank is None
    assert by_variant.memories[0].semantic_rank == 1

    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT source_run FROM memories WHERE id = %s", (ids[1],))
        assert await cursor.fetchone() == {"source_run": "ledger-question-1@r1"}


async def test_a_tenant_never_recalls_another_tenants_memory(
    pool: Pool, tenants: dict[str, UUID]
) -> None:
    await note(pool, FACTS[1], principal=ACME_ACCOUNTANT)
    await note(pool, "Globex books Gusto payroll to 6000", principal=GLOBEX_ACCOUNTANT)

    # Even the exact text finds nothing of acme's from globex, and vice versa.
    found = await ask(pool, FACTS[1], principal=GLOBEX_ACCOUNTANT)
    assert [m.text for m in found.memories] == ["Globex books Gusto payroll to 6000"]
    found = await ask(pool, "Globex books Gusto payroll to 6000", principal=ACME_VIEWER)
    assert [m.text for m in found.memories] == [FACTS[1]]


async def test_a_vendor_of_another_tenant_is_not_found(
    pool: Pool, tenants: dict[str, UUID]
) -> None:
    # Another tenant's vendor is "not found", exactly like one that does not exist: the
    # answer must not tell a caller which ids exist elsewhere.
    with pytest.raises(NotFound, match="not found in tenant 'acme'") as foreign:
        await note(pool, "Blue Bottle bills weekly", vendor_id=tenants["globex"])
    with pytest.raises(NotFound, match="not found in tenant 'acme'") as absent:
        await note(pool, "Blue Bottle bills weekly", vendor_id=UUID(int=7))
    assert str(foreign.value).replace(str(tenants["globex"]), "<id>") == str(absent.value).replace(
        str(UUID(int=7)), "<id>"
    )
    with pytest.raises(NotFound):
        await ask(pool, "Blue Bottle", vendor_id=tenants["globex"])
    assert await count_memories(pool) == 0

    await note(pool, "Blue Bottle bills weekly", vendor_id=tenants["acme"])
    await note(pool, "Blue Bottle Coffee is a fine vendor name, but not linked")
    linked = await ask(pool, "Blue Bottle", vendor_id=tenants["acme"])
    assert [(m.text, m.vendor_id) for m in linked.memories] == [
        ("Blue Bottle bills weekly", tenants["acme"])
    ]


async def test_a_retried_remember_stores_one_row(pool: Pool, tenants: dict[str, UUID]) -> None:
    first = await note(pool, FACTS[2], key="ledger-question-1@r1/3/1")
    again = await note(pool, FACTS[2], key="ledger-question-1@r1/3/1")
    assert first == again
    assert await count_memories(pool) == 1
    with pytest.raises(InvalidRequest, match="already used"):
        await note(pool, FACTS[2], principal=GLOBEX_ACCOUNTANT, key="ledger-question-1@r1/3/1")
    assert await count_memories(pool) == 1


async def test_recall_can_keep_to_this_conversation(pool: Pool, tenants: dict[str, UUID]) -> None:
    here = await note(pool, "The user means fiscal 2025 when they say this year")
    elsewhere = await note(
        pool, "The user means calendar 2024 when they say this year", context=OTHER_CONVERSATION
    )

    everywhere = await ask(pool, "what does this year mean")
    assert {m.id for m in everywhere.memories} == {here, elsewhere}
    only_here = await ask(pool, "what does this year mean", this_conversation_only=True)
    assert [m.id for m in only_here.memories] == [here]

    no_conversation = ToolContext(run_id="adhoc@r1")
    with pytest.raises(InvalidRequest, match="belongs to no conversation"):
        await ask(pool, "this year", context=no_conversation, this_conversation_only=True)


@dataclass
class StandInProvider:
    """What the stand-in provider saw; it answers with offline vectors of `dims`."""

    url: str
    dims: int
    requests: list[dict[str, Any]] = field(default_factory=list)


def _serve_embeddings(api_key: str, dims: int) -> tuple[ThreadingHTTPServer, StandInProvider]:
    seen: list[dict[str, Any]] = []
    vectors = OfflineEmbedder(dims)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers["Authorization"], **body})
            if self.headers["Authorization"] != f"Bearer {api_key}":
                # Like a careless provider: it quotes the header it refused.
                self._answer(401, {"error": f"invalid key in {self.headers['Authorization']}"})
                return
            data = [
                {"object": "embedding", "index": n, "embedding": vectors.vector(text)}
                for n, text in enumerate(body["input"])
            ]
            # Reversed: a client must order by `index`, not trust the list order.
            self._answer(200, {"object": "list", "data": data[::-1], "model": body["model"]})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return server, StandInProvider(url=url, dims=dims, requests=seen)


@pytest.fixture
async def provider() -> AsyncIterator[StandInProvider]:
    """A tiny local `/v1/embeddings` server: a stand-in for Voyage AI or OpenAI, which are not
    reachable from the test environment. It speaks their request and response shape."""
    server, seen = _serve_embeddings("test-key-s3cr3t", dims=512)
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


async def test_http_embedder_speaks_the_openai_embeddings_shape(
    provider: StandInProvider,
) -> None:
    """Against the stand-in provider (no real provider is reachable here)."""
    embedder = HttpEmbedder(provider.url, "voyage-3.5", SecretStr("test-key-s3cr3t"))
    assert (embedder.name, embedder.dims) == ("http:voyage-3.5", None)
    texts = ["Gusto payroll", "Blue Bottle Coffee"]
    vectors = await embedder.embed(texts)
    assert vectors == [OfflineEmbedder(512).vector(t) for t in texts]  # in input order
    assert embedder.dims == 512
    assert provider.requests == [
        {
            "path": "/v1/embeddings",
            "auth": "Bearer test-key-s3cr3t",
            "input": texts,
            "model": "voyage-3.5",
        }
    ]

    wrong_key = HttpEmbedder(provider.url + "/embeddings", "voyage-3.5", SecretStr("wrong-k3y"))
    with pytest.raises(EmbeddingError, match="HTTP 401") as caught:
        await wrong_key.embed(["x"])
    assert "wrong-k3y" not in str(caught.value) and not caught.value.retryable
    assert "k3y" not in repr(wrong_key) and "s3cr3t" not in repr(embedder)

    expects_more = HttpEmbedder(provider.url, "voyage-3.5", SecretStr("test-key-s3cr3t"), dims=1024)
    with pytest.raises(EmbeddingError, match="returned 512 dimensions, expected 1024"):
        await expects_more.embed(["x"])
    unreachable = HttpEmbedder("http://127.0.0.1:9/v1", "m", None, timeout=2)
    with pytest.raises(EmbeddingError, match="unreachable") as caught:
        await unreachable.embed(["x"])
    assert caught.value.retryable


@pytest.mark.parametrize("dims", [OfflineEmbedder().dims, 64], ids=["same-size", "other-size"])
async def test_switching_embedders_never_compares_their_vectors(
    pool: Pool, tenants: dict[str, UUID], dims: int
) -> None:
    old = await note(pool, "Gusto payroll fees are booked to account 6150")
    server, stand_in = _serve_embeddings("k", dims=dims)
    try:
        configure_embedder(HttpEmbedder(stand_in.url, "voyage-3.5", SecretStr("k")))
        new = await note(pool, "Gusto payroll taxes go to account 2200")

        found = {m.id: m for m in (await ask(pool, "Gusto payroll account")).memories}
        # Same words, so the old row is still found, by full-text only; the new one by both.
        assert found[old].semantic_rank is None and found[old].fulltext_rank is not None
        assert found[new].semantic_rank == 1 and found[new].fulltext_rank is not None

        # A spelling variant needs the vectors: only the current embedder's row answers.
        variant = await ask(pool, "Gustto paroll")
        assert [m.id for m in variant.memories] == [new]
    finally:
        server.shutdown()
        server.server_close()
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT embedder, dims FROM memories ORDER BY created_at")
        assert await cursor.fetchall() == [
            {"embedder": "offline-hash-v1", "dims": OfflineEmbedder().dims},
            {"embedder": "http:voyage-3.5", "dims": dims},
        ]


def test_offline_vectors_are_deterministic_unit_vectors_of_the_given_size() -> None:
    embedder = OfflineEmbedder(dims=256)
    vector = embedder.vector(FACTS[0])
    assert len(vector) == embedder.dims == 256
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-9
    assert OfflineEmbedder(dims=256).vector(FACTS[0]) == vector

    # The same in another process with another hash seed: stored vectors stay comparable.
    script = (
        "import json;from ledgerd.memory import OfflineEmbedder;"
        f"print(json.dumps(OfflineEmbedder(256).vector({FACTS[0]!r})))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=True)
    assert json.loads(out.stdout) == vector

    def cosine(a: str, b: str) -> float:
        return sum(x * y for x, y in zip(embedder.vector(a), embedder.vector(b), strict=True))

    assert cosine("espresso machine", "expresso machine") > 0.5
    assert cosine("espresso machine", "payroll taxes") < 0.2
    # The honest limit: a synonym shares no letters, so it is no nearer than noise.
    assert cosine("rent", "lease") < MIN_SIMILARITY and cosine("car", "vehicle") < MIN_SIMILARITY
    assert cosine("office rent", "office lease") < cosine("office rent", "office rents")


def test_remember_is_declared_without_anything_the_runtime_injects() -> None:
    remember_tool, recall_tool = CATALOG["remember"], CATALOG["recall"]
    assert remember_tool.mutating and remember_tool.takes_context
    assert not recall_tool.mutating and recall_tool.takes_context
    for declared in (remember_tool, recall_tool):
        schema = json.dumps(declared.input_schema()).lower()
        for injected in ("principal", "tenant", "context", "conversation_id", "run_id", "key"):
            assert f'"{injected}' not in schema, (declared.name, injected)
    assert set(remember_tool.input_schema()["properties"]) == {"fact", "vendor_id"}
    assert remember_tool.description.startswith("Remember a fact for later runs")


async def test_the_tool_passes_the_runtime_context_to_the_handler(
    pool: Pool, tenants: dict[str, UUID]
) -> None:
    remember_tool = CATALOG["remember"]
    # A viewer may recall but never remember (the role matrix, docs/security.md).
    with pytest.raises(AccessDenied, match="tool 'remember' is for accountant, owner, service"):
        await remember_tool.invoke(pool, ACME_VIEWER, {"fact": FACTS[3]}, "viewer@r1/1/1")
    stored = await remember_tool.invoke(
        pool, ACME_ACCOUNTANT, {"fact": FACTS[3]}, "ledger-question-1@r1/2/1", FIRST_RUN
    )
    assert stored.model_dump()["conversation_id"] == "conv-7"
    # Without a context (an older caller), the call's key names the run; no conversation.
    bare = await remember_tool.invoke(pool, ACME_ACCOUNTANT, {"fact": FACTS[2]}, "adhoc@r1/1/1")
    assert bare.model_dump()["conversation_id"] is None
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT source_run FROM memories ORDER BY created_at")
        assert [r["source_run"] for r in await cursor.fetchall()] == [
            "ledger-question-1@r1",
            "adhoc@r1/1/1",
        ]


def test_a_handler_that_takes_context_is_still_checked_like_any_other() -> None:
    async def documented_but_not_mutating(
        pool: Pool, principal: Principal, request: RememberRequest, *, context: ToolContext
    ) -> Recollection:
        """Takes context but no key."""
        return Recollection(memories=[])

    assert tool(documented_but_not_mutating).takes_context
    with pytest.raises(ToolDeclarationError, match="must take `idempotency_key`"):
        tool(documented_but_not_mutating, mutating=True)


def test_the_http_embedder_is_configured_and_validated_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("LEDGERD_EMB"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LEDGERD_EMBEDDING_API_KEY", "pa-do-not-print-me")
    with pytest.raises(ConfigError, match="LEDGERD_EMBEDDER=http needs") as caught:
        load_settings(embedder="http", embedding_model="voyage-3.5")
    assert "do-not-print-me" not in str(caught.value)

    settings = load_settings(
        embedder="http", embedding_url="https://api.voyageai.com/v1", embedding_model="voyage-3.5"
    )
    hash(settings)  # still hashable: clients are cached per Settings
    embedder = embedder_from(settings)
    assert isinstance(embedder, HttpEmbedder) and embedder.name == "http:voyage-3.5"
    assert "do-not-print-me" not in repr(embedder) + repr(settings)
    assert isinstance(embedder_from(load_settings(embedder="offline")), OfflineEmbedder)
