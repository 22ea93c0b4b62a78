"""Matching a merchant's descriptors to a known vendor without a model (issue 16): only an
unambiguous match counts."""

from __future__ import annotations

from ledgerd.company_lookup import normalize_descriptor
from ledgerd.vendor_match import KnownVendor, match_vendor

UBER = KnownVendor("1", "Uber", aliases=("Uber Technologies",), domain="uber.com")
LYFT = KnownVendor("2", "Lyft", domain="lyft.com")
AMAZON = KnownVendor("3", "Amazon", domain="amazon.com")
AWS = KnownVendor("4", "Amazon Web Services", aliases=("AWS",), domain="aws.amazon.com")
SHELL = KnownVendor("5", "Shell", descriptors=("SHELL OIL 00500347790 TACOMA WA",))


def _match(raw: str, *vendors: KnownVendor) -> tuple[str, str] | None:
    found = match_vendor(normalize_descriptor(raw), [raw], vendors)
    return (found.vendor.canonical_name, found.rule) if found else None


def test_a_descriptor_starting_with_a_vendor_name_matches_it() -> None:
    assert _match("UBER *TRIP-6HGJMV", UBER, LYFT) == ("Uber", "prefix")


def test_the_longest_name_wins_and_a_tie_matches_nothing() -> None:
    assert _match("AMAZON WEB SERVICES AWS.AMAZON.COM WA", AMAZON, AWS) == (
        "Amazon Web Services",
        "prefix",
    )
    twin = KnownVendor("6", "Uber Eats Partner", aliases=("Uber",))
    assert _match("UBER *TRIP-6HGJMV", UBER, twin) is None


def test_a_descriptor_already_on_a_vendor_matches_exactly() -> None:
    assert _match("SHELL OIL 00512345678 TACOMA WA", SHELL) == ("Shell", "name")


def test_a_domain_alone_matches_and_a_conflicting_domain_refuses() -> None:
    assert _match("RIDESHARE *2XLCEH LYFT.COM CA", UBER, LYFT) == ("Lyft", "domain")
    assert _match("UBER *2XLCEH LYFT.COM CA", UBER, LYFT) is None


def test_short_names_and_unknown_merchants_are_left_to_the_daemon() -> None:
    dd = KnownVendor("7", "DD")
    assert _match("DD *DOORDASH BURMA KITCHEN", dd) is None
    assert _match("SQ *BLUE BOTTLE COFF OAKLAND CA", UBER, LYFT, AMAZON) is None


def test_the_directory_name_must_be_the_vendor_or_an_alias() -> None:
    from ledgerd.vendor_match import names_agree

    assert names_agree(UBER, "Uber Technologies")
    assert not names_agree(UBER, "Uber Eats")
