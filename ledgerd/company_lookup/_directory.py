"""The offline company directory: a bundled CSV of real companies and a descriptor matcher.

This is a stand-in for a networked company-data provider (a Clearbit-like "name or domain to
company" API) behind the `CompanyLookup` protocol: deterministic, free and available in tests
and offline demos. It knows only the public facts in `companies.csv`.

Matching, in short: the query is normalised (see `_normalise`), candidates come from an index
of every name, alias and domain word (exact words, truncated words, run-together words), and
each candidate is scored on how much of its best name the query covers, how much of the query
its names explain, and whether the query starts with it. A domain in the query that equals a
company's domain is decisive. Plain difflib stands in for fuzzy matching of misspelt words:
descriptors are mostly truncated, not misspelt, and prefix matching handles truncation better
than an edit distance would (so no rapidfuzz dependency).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ledgerd.company_lookup._models import CompanyMatch, CompanyRecord
from ledgerd.company_lookup._normalise import (
    BASE_CITIES,
    GENERIC,
    Normalised,
    normalise,
    normalise_name,
)

_CSV_FIELDS = ("name", "domain", "category", "headquarters", "aliases")
# Below this a candidate shares no more than a common word with the query.
_MIN_SCORE = 0.3
_MIN_PREFIX = 4  # a truncated word must keep this many letters to count ("COFF" -> "COFFEE")


@dataclass(frozen=True)
class _Key:
    label: str  # as written in the directory, returned as evidence
    tokens: tuple[str, ...]
    compact: str
    is_domain: bool = False


@dataclass
class _Entry:
    record: CompanyRecord
    keys: list[_Key]
    vocabulary: frozenset[str]


def _token_weight(token: str) -> float:
    # "Slack Technologies": "SLACK" carries the name, "TECHNOLOGIES" barely anything.
    return 0.25 * len(token) if token in GENERIC else float(len(token))


def _token_credit(query_token: str, key_token: str) -> float:
    """How well one query word stands for one name word, 0..1."""
    if query_token == key_token:
        return 1.0
    shorter, longer = sorted((query_token, key_token), key=len)
    if len(shorter) >= _MIN_PREFIX and longer.startswith(shorter):
        return 0.6 + 0.35 * len(shorter) / len(longer)
    if len(shorter) >= 5 and len(longer) - len(shorter) <= 2 and shorter[0] == longer[0]:
        return _misspelling_credit(query_token, key_token)
    return 0.0


@functools.lru_cache(maxsize=65536)
def _misspelling_credit(query_token: str, key_token: str) -> float:
    ratio = difflib.SequenceMatcher(None, query_token, key_token).ratio()
    return 0.8 * ratio if ratio >= 0.82 else 0.0


def _domain_stems(host: str) -> list[str]:
    """ "help.uber.com" -> ["help.uber", "uber"]: the host without its TLD, then its parents."""
    labels = host.lower().split(".")[:-1]
    return [".".join(labels[i:]) for i in range(len(labels)) if labels[i:]]


class _Directory:
    def __init__(self, records: list[CompanyRecord]) -> None:
        self.records = records
        self.entries: list[_Entry] = []
        self.by_token: dict[str, set[int]] = defaultdict(set)
        self.by_prefix: dict[str, set[int]] = defaultdict(set)
        self.by_stem: dict[str, int] = {}
        self.compact_keys: list[tuple[str, int]] = []
        cities = set(BASE_CITIES)
        for index, record in enumerate(records):
            keys = [self._key(record.name)]
            keys += [self._key(alias) for alias in record.aliases]
            stem = _domain_stems(record.domain)[0]
            self.by_stem[stem] = index
            keys.append(_Key(record.domain, tuple(stem.upper().split(".")), "", is_domain=True))
            keys.append(self._key(stem.replace(".", "")))
            keys = [key for key in keys if key.tokens]
            vocabulary = frozenset(token for key in keys for token in key.tokens)
            self.entries.append(_Entry(record, keys, vocabulary))
            for token in vocabulary:
                self.by_token[token].add(index)
                for end in range(_MIN_PREFIX, len(token)):
                    self.by_prefix[token[:end]].add(index)
            for key in keys:
                if len(key.compact) >= 5:
                    self.compact_keys.append((key.compact, index))
            city = record.headquarters.split(",")[0]
            cities.add("".join(normalise_name(city)))
        self.cities = frozenset(cities)
        self.vocabulary = sorted(self.by_token)

    def _host_owner(self, host: str) -> int | None:
        """The company whose domain is `host` or its nearest parent ("help.uber.com": Uber)."""
        for stem in _domain_stems(host):
            if stem in self.by_stem:
                return self.by_stem[stem]
        return None

    @staticmethod
    def _key(label: str) -> _Key:
        tokens = normalise_name(label)
        return _Key(label, tokens, "".join(tokens))

    def _candidates(self, query: Normalised, compact: str) -> set[int]:
        found: set[int] = set()
        for token in query.tokens:
            found |= self.by_token.get(token, set())
            if len(token) >= _MIN_PREFIX:
                found |= self.by_prefix.get(token, set())
                for end in range(_MIN_PREFIX, len(token)):
                    found |= self.by_token.get(token[:end], set())
        for key_compact, index in self.compact_keys:
            if key_compact in compact:
                found.add(index)
        for host in query.hosts:
            owner = self._host_owner(host)
            if owner is not None:
                found.add(owner)
        if not found:
            # Last resort for misspellings ("STARBUKS"): the closest directory words.
            for token in query.tokens:
                if len(token) >= 5 and token not in GENERIC:
                    for near in difflib.get_close_matches(token, self.vocabulary, 3, 0.82):
                        found |= self.by_token[near]
        return found

    def _score(self, entry: _Entry, query: Normalised, compact: str, index: int) -> CompanyMatch:
        tokens = query.tokens
        weights = [_token_weight(t) for t in tokens]
        explained = [0.0] * len(tokens)
        best_cover, best_label = 0.0, entry.record.name
        domain_hit = any(self._host_owner(host) == index for host in query.hosts)
        for key in entry.keys:
            total = sum(_token_weight(t) for t in key.tokens)
            covered = 0.0
            for key_token in key.tokens:
                credit = 0.0
                for position, query_token in enumerate(tokens):
                    c = _token_credit(query_token, key_token)
                    if c > 0:
                        explained[position] = max(explained[position], c)
                        credit = max(credit, c)
                covered += credit * _token_weight(key_token)
            cover = covered / total if total else 0.0
            if key.compact and len(key.compact) >= 5 and key.compact in compact:
                cover = max(cover, 0.95)
                self._explain_span(tokens, key.compact, explained)
            if key.is_domain and domain_hit:
                cover = 1.0
            if cover > best_cover or (cover == best_cover and len(key.label) > len(best_label)):
                best_cover, best_label = cover, key.label
        relevant = sum(w for w in weights)
        query_cover = (
            sum(e * w for e, w in zip(explained, weights, strict=True)) / relevant
            if relevant
            else 0.0
        )
        leading = next((i for i, t in enumerate(tokens) if t not in GENERIC), 0)
        first = explained[leading] if tokens else 0.0
        score = 0.6 * best_cover + 0.3 * query_cover + 0.1 * first
        if domain_hit:
            # The merchant's own domain is strong evidence, but "GOOGLE *ADS cc@google.com"
            # still belongs to the more specific Google Ads.
            score += 0.03
        return CompanyMatch(
            record=entry.record, score=round(min(score, 1.0), 4), matched=best_label
        )

    @staticmethod
    def _explain_span(tokens: tuple[str, ...], key_compact: str, explained: list[float]) -> None:
        # A run-together name ("BLUEBOTTLECOFFEE", "AMAZON MARKETPLACE" as "AMAZONMARKETPLACE")
        # explains every query word it spans.
        joined = "".join(tokens)
        start = joined.find(key_compact)
        if start < 0:
            return
        end, offset = start + len(key_compact), 0
        for position, token in enumerate(tokens):
            token_start, offset = offset, offset + len(token)
            if token_start >= start and offset <= end:
                explained[position] = max(explained[position], 0.95)

    def lookup(self, query: str, limit: int) -> list[CompanyMatch]:
        normalised = normalise(query, self.cities)
        if not normalised.tokens and not normalised.hosts:
            return []
        compact = "".join(normalised.tokens)
        matches = [
            self._score(self.entries[index], normalised, compact, index)
            for index in sorted(self._candidates(normalised, compact))
        ]
        matches = [m for m in matches if m.score >= _MIN_SCORE]
        matches.sort(key=lambda m: (-m.score, m.record.name))
        return matches[: max(limit, 0)]


def _parse(lines: Iterable[str], source: str) -> list[CompanyRecord]:
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != _CSV_FIELDS:
        raise ValueError(f"{source}: expected columns {_CSV_FIELDS}, got {reader.fieldnames}")
    records = []
    for row in reader:
        aliases = [a.strip() for a in (row["aliases"] or "").split("|") if a.strip()]
        records.append(
            CompanyRecord(
                name=row["name"].strip(),
                domain=row["domain"].strip().lower(),
                category=row["category"].strip(),
                headquarters=row["headquarters"].strip(),
                aliases=aliases,
            )
        )
    return records


@functools.lru_cache(maxsize=8)
def _load(path: Path | None) -> _Directory:
    if path is None:
        text = resources.files("ledgerd.company_lookup").joinpath("companies.csv").read_text()
        return _Directory(_parse(io.StringIO(text), "companies.csv"))
    with path.open(newline="", encoding="utf-8") as handle:
        return _Directory(_parse(handle, str(path)))


def normalize_descriptor(raw: str) -> str:
    """A bank descriptor reduced to its merchant words: "SQ *BLUE BOTTLE COFF OAKLAND CA" ->
    "BLUE BOTTLE COFF". Processor prefixes, bank jargon, reference and phone numbers, URLs'
    TLDs and the trailing "CITY ST" are removed; a stable grouping key for unknown merchants."""
    return normalise(raw, _load(None).cities).text


def all_companies() -> list[CompanyRecord]:
    """Every company of the bundled directory, in file order."""
    return list(_load(None).records)


class OfflineCompanyDirectory:
    """`CompanyLookup` over a CSV of companies (the bundled one unless `path` is given).

    An offline stand-in for a real company-data provider (e.g. a Clearbit-like API): same
    protocol, no network, deterministic answers. The CSV is parsed and indexed once per path
    and shared by every instance.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path.resolve() if path is not None else None

    async def lookup(self, query: str, limit: int = 5) -> list[CompanyMatch]:
        return self.lookup_now(query, limit)

    def lookup_now(self, query: str, limit: int = 5) -> list[CompanyMatch]:
        """The same answer as `lookup`, for synchronous callers (the matcher never blocks)."""
        return _load(self._path).lookup(query, limit)

    def companies(self) -> list[CompanyRecord]:
        return list(_load(self._path).records)
