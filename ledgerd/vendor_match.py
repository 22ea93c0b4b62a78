"""Match a merchant's bank descriptors to a vendor the tenant already has, without a model.

A batch over every unlinked merchant mostly meets merchants it knows: vendors that existed
before, or that an earlier run of the same batch just created. Their descriptors normalise
(ledgerd.company_lookup) to the vendor's name, an alias, a descriptor already on the vendor,
or carry its domain ("LYFT *2XLCEH LYFT.COM CA"). Only an unambiguous match counts: a tie
between two vendors, or a name and a domain that point at different vendors, is left to the
daemon. Pure functions, so they are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledgerd.company_lookup import normalize_descriptor
from ledgerd.company_lookup._normalise import normalise, normalise_name

# A name shorter than this matches only exactly, never as a prefix ("DD", "EB", "WFM").
_MIN_PREFIX_CHARS = 4


@dataclass(frozen=True)
class KnownVendor:
    id: str
    canonical_name: str
    aliases: tuple[str, ...] = ()
    descriptors: tuple[str, ...] = ()
    domain: str | None = None

    def names(self) -> set[tuple[str, ...]]:
        """Every token sequence that names this vendor, normalised like descriptor keys."""
        titles = (self.canonical_name, *self.aliases)
        found = {normalise_name(n) for n in titles}
        # Also as a descriptor would read it (bank jargon such as "WEB" dropped).
        found |= {tuple(normalize_descriptor(n).split()) for n in titles}
        found |= {tuple(normalize_descriptor(d).split()) for d in self.descriptors}
        return {n for n in found if n}


@dataclass(frozen=True)
class VendorMatch:
    vendor: KnownVendor
    rule: str  # "name" (exact), "prefix" (the descriptor starts with a name), "domain"


def _registrable(host: str) -> str:
    parts = host.lower().split(".")
    return ".".join(parts[-2:])


def match_vendor(
    key: str, raw_descriptors: Sequence[str], vendors: Iterable[KnownVendor]
) -> VendorMatch | None:
    """The one vendor `key` (a merchant's normalised descriptor) and its raw descriptors
    name, or None when none or more than one does."""
    tokens = tuple(key.split())
    exact: dict[str, KnownVendor] = {}
    prefix: dict[str, tuple[int, KnownVendor]] = {}
    by_domain: dict[str, KnownVendor] = {}
    hosts = {_registrable(h) for raw in raw_descriptors for h in normalise(raw).hosts}
    for vendor in vendors:
        if vendor.domain and _registrable(vendor.domain) in hosts:
            by_domain[vendor.id] = vendor
        for name in vendor.names():
            if name == tokens:
                exact[vendor.id] = vendor
            elif (
                len(" ".join(name)) >= _MIN_PREFIX_CHARS
                and len(name) < len(tokens)
                and tokens[: len(name)] == name
            ):
                held = prefix.get(vendor.id)
                if held is None or len(name) > held[0]:
                    prefix[vendor.id] = (len(name), vendor)
    named = _only(exact) or _longest(prefix)
    if named is not None and by_domain and named[0].id not in by_domain:
        return None  # the words name one vendor, the domain another
    if named is not None:
        return VendorMatch(named[0], named[1])
    if len(by_domain) == 1:
        return VendorMatch(next(iter(by_domain.values())), "domain")
    return None


def _only(found: dict[str, KnownVendor]) -> tuple[KnownVendor, str] | None:
    return (next(iter(found.values())), "name") if len(found) == 1 else None


def _longest(found: dict[str, tuple[int, KnownVendor]]) -> tuple[KnownVendor, str] | None:
    if not found:
        return None
    best = max(length for length, _ in found.values())
    winners = [vendor for length, vendor in found.values() if length == best]
    return (winners[0], "prefix") if len(winners) == 1 else None


def names_agree(vendor: KnownVendor, company_name: str) -> bool:
    """Whether `company_name` (e.g. the company directory's) is this vendor's name or alias."""
    wanted = normalise_name(company_name)
    return any(normalise_name(n) == wanted for n in (vendor.canonical_name, *vendor.aliases))
