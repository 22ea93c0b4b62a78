"""Embedders turn memory text into vectors: an offline default and any OpenAI-compatible provider.

The offline embedder needs no download and no network, so tests, demos and air-gapped
installs work; its quality is lexical, not semantic (see `OfflineEmbedder`). A real provider
(Voyage AI, OpenAI, a local server speaking the same protocol) is one setting away.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import lru_cache
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from ledgerd.config import Settings, get_settings


class Embedder(Protocol):
    """Anything that embeds texts; `name` and `dims` are recorded with every stored vector."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> int | None:
        """The vector size, or None while unknown (a provider's, until its first answer)."""
        ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class EmbeddingError(Exception):
    """The embedding provider failed; `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


_WORD = re.compile(r"[a-z0-9]+")
# Words that carry no meaning of their own; without them two unrelated sentences would look
# alike merely for both saying "the ... is ... of".
# fmt: off
_STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with",
    "we", "our", "you", "your", "they", "their", "he", "she", "his", "her", "i", "my", "me", "do",
    "does", "did", "not",
})
# fmt: on


class OfflineEmbedder:
    """Feature-hashed word and character-trigram vectors: deterministic, free, instant.

    What it catches: shared words ("Gusto" in both texts) and spelling variants or typos,
    through shared trigrams ("espresso" / "expresso", "Stripe" / "Strpe", "payroll" /
    "payrolls"). What it cannot know: synonyms or paraphrases ("rent" / "lease", "car" /
    "vehicle"), since it has no model of meaning. Use a provider (`LEDGERD_EMBEDDER=http`)
    when recall must bridge different wordings.

    Each word and each trigram of `#word#` is hashed (BLAKE2b, so the same on every machine
    and Python process) to a signed coordinate; words weigh more than trigrams; the vector
    is L2-normalised so cosine similarity is a dot product.
    """

    VERSION = 1
    WORD_WEIGHT = 1.0
    TRIGRAM_WEIGHT = 0.5

    def __init__(self, dims: int = 1024) -> None:
        if dims < 16:
            raise ValueError(f"an offline embedding needs at least 16 dimensions, not {dims}")
        self._dims = dims

    @property
    def name(self) -> str:
        # The version is in the name: changing the hashing makes new vectors incomparable.
        return f"offline-hash-v{self.VERSION}"

    @property
    def dims(self) -> int:
        return self._dims

    def vector(self, text: str) -> list[float]:
        words = _WORD.findall(text.lower())
        # Keep stop words only when nothing else is left ("Is it?"), so no text embeds to zero.
        words = [w for w in words if w not in _STOP_WORDS] or words
        values = [0.0] * self._dims
        for word in words:
            self._add(values, f"w:{word}", self.WORD_WEIGHT)
            padded = f"#{word}#"
            for start in range(len(padded) - 2):
                self._add(values, f"t:{padded[start : start + 3]}", self.TRIGRAM_WEIGHT)
        norm = math.sqrt(sum(v * v for v in values))
        return [v / norm for v in values] if norm else values

    def _add(self, values: list[float], feature: str, weight: float) -> None:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        sign = 1.0 if number & 1 else -1.0  # a signed hash keeps collisions from only adding up
        values[(number >> 1) % self._dims] += sign * weight

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self.vector(text) for text in texts]

    def __repr__(self) -> str:
        return f"OfflineEmbedder(dims={self._dims})"


class HttpEmbedder:
    """Any `/v1/embeddings` endpoint of the OpenAI shape, e.g. Voyage AI's or OpenAI's.

    POST `{"input": [...], "model": ...}` with `Authorization: Bearer <key>`, answered by
    `{"data": [{"embedding": [...], "index": n}, ...]}`. `url` is the API's base URL
    (`https://api.voyageai.com/v1`); the full `.../embeddings` endpoint is accepted too.

    The key is kept as a `SecretStr` and never appears in a repr, an error or a log line.
    The vector size is the provider's: given as `dims` it is checked, otherwise it is learned
    from the first answer, and an answer of another size is refused either way.
    """

    def __init__(
        self,
        url: str,
        model: str,
        api_key: SecretStr | None = None,
        *,
        dims: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        base = url.rstrip("/")
        self._endpoint = base if base.endswith("/embeddings") else f"{base}/embeddings"
        self._model = model
        self._api_key = api_key
        self._dims = dims
        self._timeout = timeout

    @property
    def name(self) -> str:
        return f"http:{self._model}"

    @property
    def dims(self) -> int | None:
        return self._dims

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(
                    self._endpoint, json={"input": texts, "model": self._model}, headers=headers
                )
        except httpx.HTTPError as error:
            raise EmbeddingError(
                f"embedding provider {self._endpoint} unreachable: {type(error).__name__}",
                retryable=True,
            ) from None
        if response.status_code >= 400:
            retryable = response.status_code in (408, 409, 429) or response.status_code >= 500
            # Status and error type only: a provider's message may echo the input (a
            # remembered fact), and this text ends up in workflow history.
            raise EmbeddingError(
                f"embedding provider {self._endpoint} answered HTTP {response.status_code}"
                f"{_error_type(response)}",
                retryable=retryable,
            )
        return self._vectors(response.json(), len(texts))

    def _vectors(self, body: Any, expected: int) -> list[list[float]]:
        try:
            items = sorted(body["data"], key=lambda item: item.get("index", 0))
            vectors = [[float(x) for x in item["embedding"]] for item in items]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise EmbeddingError(
                f"embedding provider {self._endpoint} answered without data[].embedding",
                retryable=False,
            ) from None
        if len(vectors) != expected:
            raise EmbeddingError(
                f"embedding provider returned {len(vectors)} vectors for {expected} texts",
                retryable=False,
            )
        for vector in vectors:
            if self._dims is None:
                self._dims = len(vector)
            if len(vector) != self._dims:
                raise EmbeddingError(
                    f"embedding provider returned {len(vector)} dimensions, expected {self._dims}",
                    retryable=False,
                )
        return vectors

    def __repr__(self) -> str:
        return f"HttpEmbedder(url={self._endpoint!r}, model={self._model!r})"


@lru_cache(maxsize=4)
def embedder_from(settings: Settings) -> Embedder:
    """The embedder `settings` select; cached per (hashable, frozen) `Settings`."""
    if settings.embedder == "http":
        # Settings validation guarantees both at start-up; the asserts only narrow types.
        assert settings.embedding_url is not None and settings.embedding_model is not None
        return HttpEmbedder(
            settings.embedding_url, settings.embedding_model, settings.embedding_api_key
        )
    return OfflineEmbedder()


_configured: Embedder | None = None


def configure_embedder(embedder: Embedder | None) -> None:
    """Make `embedder` the process's embedder; None returns to the environment's settings.

    The worker calls this with `embedder_from(settings)` of the settings it was started with
    (which may differ from the environment's); tests use it to switch embedders.
    """
    global _configured
    _configured = embedder


def current_embedder() -> Embedder:
    """The embedder the memory handlers use.

    Handlers receive only (pool, principal, request), like every platform handler, so the
    embedder is a process-wide dependency, as the company-lookup provider is: the one
    configured, or else the one the environment's settings select.
    """
    return _configured if _configured is not None else embedder_from(get_settings())


def _error_type(response: httpx.Response) -> str:
    """` (invalid_request_error)` from an OpenAI-style error body, else nothing."""
    try:
        error = response.json().get("error")
    except ValueError:
        return ""
    kind = error.get("type") or error.get("code") if isinstance(error, dict) else None
    return f" ({str(kind)[:60]})" if kind else ""
