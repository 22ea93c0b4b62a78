"""The offline company directory: its data and how well it resolves messy bank descriptors."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from demo_seed import demo_dataset
from ledgerd.company_lookup import (
    CompanyLookup,
    OfflineCompanyDirectory,
    all_companies,
    normalize_descriptor,
)

DIRECTORY = OfflineCompanyDirectory()


def _standard_category_keys() -> set[str]:
    sql = (
        resources.files("ledgerd.db") / "migrations" / "0002_standard_categories.sql"
    ).read_text()
    return set(re.findall(r"\('([a-z_]+)',", sql))


def test_directory_has_enough_unique_companies_with_valid_facts() -> None:
    companies = all_companies()
    assert len(companies) >= 220
    names = Counter(c.name.lower() for c in companies)
    domains = Counter(c.domain for c in companies)
    assert [n for n, k in names.items() if k > 1] == []
    assert [d for d, k in domains.items() if k > 1] == []
    keys = _standard_category_keys()
    assert len(keys) >= 30  # the migration was parsed
    assert {c.category for c in companies} <= keys
    for company in companies:
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", company.domain), company
        city, _, region = company.headquarters.partition(", ")
        assert city and region, company
        assert all(alias.strip() and "|" not in alias for alias in company.aliases), company


def test_directory_covers_the_kinds_of_vendors_small_companies_pay() -> None:
    by_category = Counter(c.category for c in all_companies())
    for category in (
        "software",
        "cloud_hosting",
        "payroll",
        "travel",
        "meals",
        "shipping",
        "telecom",
        "advertising",
        "bank_fees",
        "insurance",
        "equipment",
        "training",
        "vehicle",
        "office_supplies",
        "professional_services",
    ):
        assert by_category[category] >= 5, category


@pytest.mark.parametrize(
    ("descriptor", "company"),
    [
        ("SQ *BLUE BOTTLE COFF OAKLAND CA", "Blue Bottle Coffee"),
        ("AMZN Mktp US*2K4L71", "Amazon"),
        ("GUSTO PAY 123456", "Gusto"),
        ("UBER   *TRIP HELP.UBER.COM", "Uber"),
    ],
)
async def test_resolves_the_canonical_messy_descriptors(descriptor: str, company: str) -> None:
    matches = await DIRECTORY.lookup(descriptor)
    assert matches[0].record.name == company
    assert matches[0].score >= 0.8


@pytest.mark.parametrize(
    ("descriptor", "company"),
    [
        ("UBER EATS PENDING SAN FRANCISCO CA", "Uber Eats"),
        ("UBER   *EATS HELP.UBER.COM", "Uber Eats"),
        ("GOOGLE *ADS1234567 cc@google.com CA", "Google Ads"),
        ("GOOGLE *GSUITE_acmerobotics.com", "Google"),
        ("GOOGLE CLOUD 4H8K2M CC@GOOGLE.COM", "Google Cloud"),
        ("AMAZON WEB SERVICES AWS.AMAZON.CO WA", "Amazon Web Services"),
        ("Amazon.com*RT4K21 Amzn.com/bill WA", "Amazon"),
        ("MSFT *AZURE", "Microsoft Azure"),
        ("ZOOM.US 888-555-0142 CA", "Zoom Communications"),
        ("APPLE.COM/BILL 866-555-0155 CA", "Apple"),
        ("CHECKCARD 0415 STARBUCKS STORE 05823 SEATTLE WA 24431065105", "Starbucks"),
        (
            "PURCHASE AUTHORIZED ON 04/15 PEETS COFFEE #0123 EMERYVILLE CA S385105722841 CARD 4821",
            "Peet's Coffee",
        ),
        ("TST* SWEETGREEN - SOMA SAN FRANCISCO CA", "Sweetgreen"),
        ("PAYPAL *STICKERMULE 402-555-0133 NY", "Sticker Mule"),
        ("AT&T*BILL PAYMENT 800-555-0100 TX", "AT&T"),
        ("H&R BLOCK #1234 OAKLAND CA", "H&R Block"),
        ("UNITED 0162345678901", "United Airlines"),
        ("DELTA AIR 0062345678901", "Delta Air Lines"),
        ("SOUTHWES 5262123456789", "Southwest Airlines"),
        ("DNH*GODADDY.COM", "GoDaddy"),
        ("T-MOBILE*AUTOPAY 800-555-0199 WA", "T-Mobile"),
        ("LYFT   *RIDE TUE 5PM", "Lyft"),
        ("SLACK T0123ABCD SAN FRANCISCOCA", "Slack Technologies"),
        ("WHOLEFDS OAK 10234", "Whole Foods Market"),
        ("COSTCO WHSE #0006 SEATTLE WA", "Costco Wholesale"),
        ("PGANDE WEB ONLINE 3WUYVN", "Pacific Gas and Electric"),
        ("7-ELEVEN 32145 OAKLAND CA", "7-Eleven"),
        ("HAMPTON INN BOSTON MA", "Hilton"),
        ("COURTYARD BY MARRIOTT SEATTLE WA", "Marriott International"),
        ("EB *PYDATA SF 855-555-0138 CA", "Eventbrite"),
        (
            "ORIG CO NAME:GUSTO ORIG ID:9138864001 DESC DATE:250415 CO ENTRY DESCR:NET 3K8D "
            "SEC:CCD TRACE#:021000021234567 EED:250415 IND ID:3K8DJ2 IND NAME:ACME ROBOTICS INC "
            "TRN: 1051234567TC",
            "Gusto",
        ),
        (
            "PUGET SOUND ENERG DES:BILLPAY ID:7HJ3KD INDN:GLOBEX COFFEE ROASTE "
            "CO ID:9424300002 PPD",
            "Puget Sound Energy",
        ),
        ("STARBUKS COFFEE", "Starbucks"),  # misspelt
        ("digikey", "DigiKey"),
        ("stripe.com", "Stripe"),
    ],
)
def test_resolves_real_world_descriptor_shapes(descriptor: str, company: str) -> None:
    matches = DIRECTORY.lookup_now(descriptor)
    assert matches, descriptor
    assert matches[0].record.name == company, [(m.record.name, m.score) for m in matches]


async def test_unknown_local_merchants_get_no_confident_match() -> None:
    for descriptor in ("JOES HARDWARE 0231 SEATTLE WA", "SOMA DELI & GRILL SAN FRANCISCO CA"):
        matches = await DIRECTORY.lookup(descriptor)
        assert all(m.score < 0.5 for m in matches), (descriptor, matches)


async def test_answers_follow_the_protocol() -> None:
    assert isinstance(DIRECTORY, CompanyLookup)
    matches = await DIRECTORY.lookup("GOOGLE", limit=2)
    assert len(matches) == 2
    assert all(0.0 <= m.score <= 1.0 for m in matches)
    assert matches[0].score >= matches[1].score
    assert await DIRECTORY.lookup("   ") == []
    assert await DIRECTORY.lookup("#### 0415 ****") == []


def test_normalize_descriptor_strips_processor_noise() -> None:
    assert normalize_descriptor("SQ *BLUE BOTTLE COFF OAKLAND CA") == "BLUE BOTTLE COFF"
    assert normalize_descriptor("AMZN Mktp US*2K4L71") == "AMAZON MARKETPLACE"
    assert normalize_descriptor("POS DEBIT JOES HARDWARE 0231 SEATTLE WA") == "JOES HARDWARE"
    assert normalize_descriptor("ACH DEBIT COMCAST PAYMENT PPD ID: 1234567890") == (
        "COMCAST PAYMENT"
    )


def test_a_directory_can_be_loaded_from_another_csv(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "name,domain,category,headquarters,aliases\n"
        'Initech,initech.example,software,"Austin, TX",Initrode|INTCH\n'
    )
    matches = OfflineCompanyDirectory(path).lookup_now("INITRODE*4K2M1 AUSTIN TX")
    assert [m.record.name for m in matches] == ["Initech"]
    bad = tmp_path / "bad.csv"
    bad.write_text("company,website\nInitech,initech.example\n")
    with pytest.raises(ValueError, match="expected columns"):
        OfflineCompanyDirectory(bad).lookup_now("Initech")


def test_most_seeded_directory_descriptors_resolve_to_their_company() -> None:
    total = right = 0
    wrong: Counter[tuple[str, str | None]] = Counter()
    for tenant in demo_dataset():
        pairs = {(t.raw_descriptor, t.company) for t in tenant.transactions if t.company}
        for descriptor, company in sorted(pairs, key=lambda p: (p[0], p[1] or "")):
            matches = DIRECTORY.lookup_now(descriptor, limit=1)
            total += 1
            if matches and matches[0].record.name == company:
                right += 1
            else:
                wrong[(descriptor, matches[0].record.name if matches else None)] += 1
    rate = right / total
    print(f"\nlookup accuracy on seeded descriptors: {right}/{total} = {rate:.1%}")
    assert total >= 3000
    assert rate >= 0.9, wrong.most_common(20)
