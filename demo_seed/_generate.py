"""Generate the demo tenants' vendors and bank transactions from their specs.

Pure and deterministic: every random draw comes from a `random.Random` seeded from a fixed
string (never the global RNG, never the clock), and every collection is iterated in a fixed
order, so the output is identical on every run, machine and PYTHONHASHSEED.

Each merchant spec gets its own RNG (seeded from tenant, position and merchant), so editing one
merchant does not reshuffle every other merchant's transactions.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from accounting.vendors import normalized_name
from demo_seed._model import (
    ACH,
    CENT,
    LOCAL,
    RESTAURANT,
    Annual,
    BankAccount,
    Frequent,
    MerchantSpec,
    Monthly,
    Occasional,
    SemiMonthly,
    TenantSpec,
    Weekly,
)
from ledgerd.company_lookup import CompanyRecord, all_companies

YEAR = 2025
FIRST_DAY = date(YEAR, 1, 1)
LAST_DAY = date(YEAR, 12, 31)
# Fixed creation times: rows must not depend on when the seed ran.
TENANT_CREATED_AT = datetime(2024, 12, 1, tzinfo=UTC)
VENDOR_CREATED_AT = datetime(2025, 1, 1, tzinfo=UTC)
VENDOR_SHARE = 0.6
_VENDOR_NAMESPACE = uuid.UUID("6f1c2a4e-5b7d-4c1e-9a3f-2d8e0b9c7a15")
_SEED_SALT = "ledgerd-demo-2025"

# How real statements print some well-known merchants; "{stem}" is not used here.
KNOWN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Amazon": (
        "AMZN Mktp US*{ref}",
        "AMZN Mktp US {ref}",
        "Amazon.com*{ref}",
        "AMAZON MKTPL*{ref}",
        "AMZN MKTP US*{ref} AMZN.COM/BILLWA",
        "Amazon.com*{ref} Amzn.com/bill WA",
    ),
    "Amazon Web Services": (
        "AMAZON WEB SERVICES AWS.AMAZON.CO WA",
        "Amazon web services aws.amazon.co WA",
        "AWS EMEA aws.amazon.co LU",
    ),
    "Google": (
        "GOOGLE *GSUITE_{tenantdomain}",
        "GOOGLE *Google Workspace cc@google.com CA",
        "GOOGLE*WORKSPACE {ref} CC@GOOGLE.COM",
    ),
    "Google Ads": ("GOOGLE *ADS{digits10}", "GOOGLE *ADS{digits10} cc@google.com CA"),
    "Google Cloud": ("GOOGLE *CLOUD {ref}", "GOOGLE CLOUD {ref} CC@GOOGLE.COM"),
    "Uber": (
        "UBER   *TRIP HELP.UBER.COM",
        "UBER *TRIP {ref} HELP.UBER.COM CA",
        "UBER   *TRIP",
        "UBER *TRIP-{ref}",
    ),
    "Uber Eats": ("UBER   *EATS HELP.UBER.COM", "UBER *EATS {ref} HELP.UBER.COM CA", "UBER EATS"),
    "Lyft": (
        "LYFT   *RIDE {weekday} {hour}",
        "LYFT *RIDE {weekday} {hour}",
        "LYFT *{ref} LYFT.COM CA",
    ),
    "Apple": (
        "APPLE STORE #R{store} {city} {st}",
        "APPLE.COM/US {phone} CA",
        "APPLE ONLINE STORE CUPERTINO CA",
    ),
    "Microsoft": (
        "MSFT *{ref}",
        "MICROSOFT*MICROSOFT 365 B MSBILL.INFO WA",
        "MICROSOFT#G{num} MSBILL.INFO WA",
    ),
    "Microsoft Azure": ("MSFT *AZURE", "MICROSOFT*AZURE {ref} MSBILL.INFO WA"),
    "Zoom Communications": (
        "ZOOM.US {phone} CA",
        "ZOOM.US*{ref} SAN JOSE CA",
        "ZOOM VIDEO COMMUNICATIONS",
    ),
    "Slack Technologies": (
        "SLACK T{ref} SAN FRANCISCOCA",
        "SLACK TECHNOLOGIES DUBLIN",
        "Slack T{ref}",
    ),
    "GitHub": ("GITHUB, INC. {ref} CA", "GITHUB.COM {ref}", "GITHUB INC SAN FRANCISCO CA"),
    "DoorDash": (
        "DOORDASH*{restaurant}",
        "DD *DOORDASH {restaurant}",
        "DOORDASH*{restaurant} {phone} CA",
    ),
    "Starbucks": (
        "STARBUCKS STORE {store} {city} {st}",
        "STARBUCKS {store} {city} {st}",
        "CHECKCARD {mmdd} STARBUCKS STORE {store} {city} {st} {digits23}",
        "STARBUCKS CARD RELOAD {phone} WA",
    ),
    "Costco Wholesale": (
        "COSTCO WHSE #{store} {city} {st}",
        "COSTCO WHOLESALE {store} {city} {st}",
        "COSTCO *ONLINE {ref}",
    ),
    "Whole Foods Market": (
        "WHOLEFDS {cityabbr} {store}",
        "WHOLE FOODS MARKET {store} {city} {st}",
        "WFM {cityabbr} #{store} {city} {st}",
    ),
    "Comcast": (
        "COMCAST CABLE COMM {phone} {st}",
        "COMCAST BUSINESS {phone} PA",
        "COMCAST DES:PAYMENT ID:{ref} INDN:{payee} CO ID:{coid} PPD",
    ),
    "AT&T": (
        "AT&T*BILL PAYMENT {phone} TX",
        "ATT*BUS PHONE PMT {phone} TX",
        "AT&T DES:PAYMENT ID:{ref} INDN:{payee} CO ID:{coid} PPD",
    ),
    "Verizon": ("VERIZON WRLS {ref} {phone} NJ", "VERIZON WIRELESS PAYMENTS {phone}"),
    "T-Mobile": (
        "T-MOBILE*AUTOPAY {phone} WA",
        "TMOBILE*AUTO PAY {phone} WA",
        "T-MOBILE STORE {store} {city} {st}",
    ),
    "Pacific Gas and Electric": (
        "PGANDE WEB ONLINE {ref}",
        "PG&E/EZ-PAY {ref} CA",
        "PACIFIC GAS & ELECTRIC DES:WEB ONLINE ID:{ref} INDN:{payee} CO ID:{coid} WEB",
    ),
    "Puget Sound Energy": (
        "PUGET SOUND ENERG DES:BILLPAY ID:{ref} INDN:{payee} CO ID:{coid} PPD",
        "PSE BILL PAY {ref} WA",
        "PUGET SOUND ENERGY {phone} WA",
    ),
    "United Airlines": (
        "UNITED {ticket016}",
        "UNITED {ticket016} UNITED.COM TX",
        "UNITED AIRLINES {city} {st}",
    ),
    "Delta Air Lines": (
        "DELTA AIR {ticket006}",
        "DELTA AIR LINES ATLANTA",
        "DELTA {ticket006} DELTA.COM GA",
    ),
    "Alaska Airlines": (
        "ALASKA AIR {ticket027}",
        "ALASKA AIRLINES SEATTLE WA",
        "ALASKA AIR {ticket027} ALASKAAIR.COM WA",
    ),
    "Southwest Airlines": (
        "SOUTHWES {ticket526}",
        "SOUTHWEST {ticket526} DALLAS TX",
        "SOUTHWEST AIRLINES {phone} TX",
    ),
    "American Airlines": (
        "AMERICAN AIR{ticket001}",
        "AMERICAN AIRLINES {ticket001} FORT WORTH TX",
        "AA INFLIGHT {ref} FORT WORTH TX",
    ),
    "JetBlue": ("JETBLUE {ticket279}", "JETBLUE AIRWAYS {phone} NY"),
    "Air Canada": ("AIR CANADA {ticket014}", "AIR CANADA {ticket014} MONTREAL QC"),
    "Lufthansa": ("LUFTHANSA {ticket220}", "DEUTSCHE LUFTHANSA {ticket220} FRANKFURT DE"),
    "Marriott International": (
        "MARRIOTT {city} {st}",
        "COURTYARD BY MARRIOTT {city} {st}",
        "RESIDENCE INN {city} {st}",
        "MARRIOTT HOTELS {store} {city}",
    ),
    "Hilton": (
        "HILTON HOTELS {city} {st}",
        "HAMPTON INN {city} {st}",
        "HILTON GARDEN INN {city} {st}",
        "DOUBLETREE {city} {st}",
    ),
    "Hyatt": (
        "HYATT REGENCY {city} {st}",
        "HYATT PLACE {city} {st}",
        "HYATT HOTELS {store} {city} {st}",
    ),
    "Airbnb": ("AIRBNB * HM{ref} {phone} CA", "AIRBNB HM{ref} AIRBNB.COM CA"),
    "FedEx": ("FEDEX {digits9} MEMPHIS TN", "FEDEX OFFICE {store} {city} {st}", "FEDEX {digits9}"),
    "UPS": ("UPS*{digits18}", "THE UPS STORE {store} {city} {st}", "UPS*{ref} UPS.COM GA"),
    "USPS": (
        "USPS PO {digits10} {city} {st}",
        "USPS.COM CLICKNSHIP {phone} DC",
        "USPS CHANGE OF ADDRESS {phone}",
    ),
    "Gusto": ("GUSTO PAY {num}",),
    "American Express": (
        "AMEX EPAYMENT ACH PMT {ref}",
        "AMERICAN EXPRESS DES:ACH PMT ID:{ref} INDN:{payee} CO ID:{coid} CCD",
    ),
    "JPMorgan Chase": (
        "CHASE CREDIT CRD AUTOPAY {ref} PPD ID: {coid}",
        "CHASE CREDIT CRD EPAY {ref}",
    ),
    "Capital One": (
        "CAPITAL ONE DES:MOBILE PMT ID:{ref} INDN:{payee} CO ID:{coid} PPD",
        "CAPITAL ONE ONLINE PMT {ref}",
    ),
    "Sticker Mule": ("PAYPAL *STICKERMULE {phone} NY", "STICKER MULE AMSTERDAM NY"),
    "Shell": (
        "SHELL OIL {digits11} {city} {st}",
        "SHELL SERVICE STATION {city} {st}",
        "SHELL {digits8} {city} {st}",
    ),
    "Chevron": ("CHEVRON {store} {city} {st}", "CHEVRON 0{store} {city} {st}"),
    "Phillips 66": ("76 - {store} {city} {st}", "PHILLIPS 66 {store} {city} {st}"),
    "ParkMobile": ("PARKMOBILE {phone} GA", "PARKMOBILE-{store} {city} {st}"),
    "Tesla": ("TESLA SUPERCHARGER US {phone} CA", "TESLA INC SUPERCHARGER {ref}"),
    "Square": ("SQ *SQUARE SOFTWARE {ref}",),
    "Stripe": ("STRIPE {ref} STRIPE.COM CA",),
    "Instacart": (
        "INSTACART*{ref} {phone} CA",
        "IC* INSTACART {phone} CA",
        "INSTACART SUBSCRIPTION {phone} CA",
    ),
    "Expedia": ("EXPEDIA {digits13} EXPEDIA.COM WA", "EXPEDIA*{ref} {phone} WA"),
    "Booking.com": (
        "BOOKING.COM HOTEL AMSTERDAM",
        "BKG*HOTEL AT BOOKING.C {phone}",
        "BOOKING.COM {ref}",
    ),
    "Eventbrite": ("EB *{event} {phone} CA", "EVENTBRITE*{event} {phone} CA"),
}
_RESTAURANTS = (
    "TAQUERIA EL SOL",
    "RAMEN KOBO",
    "GOLDEN LOTUS",
    "MISSION PIZZA",
    "BURMA KITCHEN",
    "PHO 24",
)
_EVENTS = {
    "acme": ("ROBOTICS MEETUP", "PYDATA SF", "AUTOMATE EXPO", "HARDWARE SUMMIT"),
    "globex": ("COFFEE FEST", "SCA EXPO", "LATTE ART THROWDOWN", "ROASTERS GUILD"),
}
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

_ONLINE = (
    "{stem} {hqcity} {hqst}",
    "{stem}*{ref} {hqcity} {hqst}",
    "{stem} {domain} {hqst}",
    "{stem}* {ref}",
    "{stem} {phone} {hqst}",
)
_LOCAL_CARD = ("{stem} {city} {st}", "{stem} #{store} {city} {st}", "{stem} {store} {city} {st}")
_LOCAL_DEBIT = (
    "POS DEBIT {stem} {city} {st}",
    "CHECKCARD {mmdd} {stem} {city} {st} {digits23}",
    "PURCHASE AUTHORIZED ON {mm}/{dd} {stem} {city} {st} S{digits15} CARD {last4}",
    "DEBIT CARD PURCHASE - {stem}  {city} {st}",
)
_SQUARE = ("SQ *{stem} {city} {st}", "SQ *{stem} {city} {st}")
_TOAST = ("TST* {stem} {city} {st}", "TST*{stem} - {city} {st}")
_ACH_OUT = (
    "ORIG CO NAME:{achstem} ORIG ID:{coid} DESC DATE:{yymmdd} CO ENTRY DESCR:{achdesc} "
    "SEC:CCD TRACE#:{trace} EED:{yymmdd} IND ID:{ref} IND NAME:{payee} TRN: {trn}",
    "{achstem} DES:{achdesc} ID:{ref} INDN:{payee} CO ID:{coid} CCD",
    "ACH DEBIT {achstem} {achdesc} PPD ID: {coid}",
    "{achstem}  {achdesc} {num} PPD ID: {coid}",
)
_ACH_IN = (
    "ORIG CO NAME:{achstem} ORIG ID:{coid} DESC DATE:{yymmdd} CO ENTRY DESCR:PAYMENTS "
    "SEC:CCD TRACE#:{trace} EED:{yymmdd} IND ID:{ref} IND NAME:{payee} TRN: {trn}",
    "{achstem} DES:PAYABLES ID:{ref} INDN:{payee} CO ID:{coid} CCD",
    "WIRE TYPE:WIRE IN DATE: {yymmdd} TIME:{hhmm} ET TRN:{trn} ORIG:{stem} ID:{digits10} "
    "PMT DET:INV {num}",
    "DEPOSIT ACH CREDIT {achstem} {ref}",
)
_ACH_DESCRIPTIONS = ("PAYMENT", "BILL PAY", "AUTOPAY", "INVOICE", "EPAY", "WEB PMT")
_CARD_SIDE_PAYMENT = {
    "American Express": ("PAYMENT RECEIVED - THANK YOU", "ONLINE PAYMENT - THANK YOU"),
    "JPMorgan Chase": ("AUTOMATIC PAYMENT - THANK YOU", "Payment Thank You-Mobile"),
    "Capital One": ("CAPITAL ONE MOBILE PYMT", "ONLINE PAYMENT THANK YOU"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_CARD_WEIGHTS = (("amex", 0.55), ("ink", 0.30), ("checking", 0.15))


@dataclass(frozen=True)
class DemoTransaction:
    id: str
    tenant_id: str
    bank_account: str
    posted_date: date
    raw_descriptor: str
    amount: Decimal
    currency: str
    vendor_id: uuid.UUID | None
    account_code: str | None
    merchant: str
    """The merchant spec's key: a directory company's name or a local merchant's name."""
    company: str | None
    """The directory company this descriptor names; None when it names none."""
    transfer: bool = False
    """A credit-card payment between the tenant's own accounts: not spend."""


@dataclass(frozen=True)
class DemoVendor:
    id: uuid.UUID
    tenant_id: str
    canonical_name: str
    normalized_name: str
    domain: str | None
    category: str
    account_code: str
    headquarters: str | None
    aliases: tuple[str, ...]
    descriptors: tuple[str, ...]
    provenance: dict[str, dict[str, object]]
    merchant: str


@dataclass(frozen=True)
class DemoTenantData:
    spec: TenantSpec
    vendors: tuple[DemoVendor, ...]
    transactions: tuple[DemoTransaction, ...]
    merchants: tuple[str, ...]
    """Every merchant key, in spec order."""
    directory_merchants: tuple[str, ...]
    """The merchants that are companies of the directory."""


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("/".join([_SEED_SALT, *map(str, parts)]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def normalized_vendor_name(name: str) -> str:
    """The platform's `vendors.normalized_name`, so `upsert_vendor` merges into seeded rows."""
    return normalized_name(name)


def vendor_uuid(tenant_id: str, normalized_name: str) -> uuid.UUID:
    return uuid.uuid5(_VENDOR_NAMESPACE, f"{tenant_id}/vendor/{normalized_name}")


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _poisson(rng: random.Random, rate: float) -> int:
    # Knuth's method: exact and deterministic for the small rates used here.
    if rate <= 0:
        return 0
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _days(first_month: int = 1, last_month: int = 12) -> list[date]:
    start = date(YEAR, first_month, 1)
    end = date(YEAR, last_month, calendar.monthrange(YEAR, last_month)[1])
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _business_day(day: date, forward: bool = True) -> date:
    step = timedelta(days=1 if forward else -1)
    while day.weekday() >= 5:
        day += step
    return min(max(day, FIRST_DAY), LAST_DAY)


def _month_day(month: int, day: int) -> date:
    return date(YEAR, month, min(day, calendar.monthrange(YEAR, month)[1]))


def _hq_location(record: CompanyRecord | None) -> tuple[str, str]:
    if record is None:
        return "", ""
    city, _, region = (part.strip() for part in record.headquarters.partition(","))
    region = region if len(region) == 2 else ""
    return city.upper(), region


def _default_stems(name: str) -> tuple[str, ...]:
    base = re.sub(r"[^A-Z0-9&.\- ]", "", name.upper().replace("'", "")).strip()
    stems = [base]
    for width in (13, 17):
        cut = base[:width].rstrip(" -.&")
        if len(cut) >= 4 and cut not in stems:
            stems.append(cut)
    return tuple(stems)


class _Merchant:
    """One merchant spec being generated: its RNG, stems, places and descriptor templates."""

    def __init__(
        self,
        tenant: TenantSpec,
        spec: MerchantSpec,
        position: int,
        record: CompanyRecord | None,
    ) -> None:
        self.tenant, self.spec, self.record = tenant, spec, record
        self.rng = _rng(tenant.id, position, spec.key)
        name = record.name if record is not None else spec.key
        self.stems = spec.stems or _default_stems(name)
        self.ach_stem = name.upper().replace("'", "")[:16].rstrip()
        self.coid = str(self.rng.randrange(1_000_000_000, 9_999_999_999))
        self.hqcity, self.hqst = _hq_location(record)
        self.domain = record.domain.upper() if record is not None else ""
        travel_like = record is not None and record.category == "travel"
        places = tenant.travel if travel_like else tenant.home
        self.places = [places[self.rng.randrange(len(places))] for _ in range(4)]
        if record is not None and not travel_like:
            # Chains also get charged on business trips; a neighbourhood bakery does not.
            self.places.append(tenant.travel[self.rng.randrange(len(tenant.travel))])
        self.stores = {place: str(self.rng.randrange(101, 9899)).zfill(4) for place in self.places}
        self.templates = self._templates()
        cards = [b.key for b in tenant.bank_accounts if b.kind == "card"]
        self.card = cards[self.rng.randrange(len(cards))]

    def _templates(self) -> tuple[str, ...]:
        spec = self.spec
        if spec.templates:
            return spec.templates
        if spec.key in KNOWN_TEMPLATES and spec.known:
            return KNOWN_TEMPLATES[spec.key]
        if spec.style == ACH:
            return _ACH_IN if spec.inflow else _ACH_OUT
        if spec.style in (LOCAL, RESTAURANT):
            extra = _SQUARE + _TOAST if spec.style == RESTAURANT else ()
            return _LOCAL_CARD + extra
        online = _ONLINE if self.hqst else tuple(t for t in _ONLINE if "{hq" not in t)
        compact = re.sub(r"[^A-Z0-9]", "", self.stems[0])
        if len(compact) <= 14:
            online += ("PAYPAL *" + compact + " {phone} CA",)
        return online

    def bank_account(self, recurring: bool) -> BankAccount:
        spec = self.spec
        by_key = {b.key: b for b in self.tenant.bank_accounts}
        if spec.accounts:
            return by_key[spec.accounts[self.rng.randrange(len(spec.accounts))]]
        if spec.style == ACH:
            return by_key["checking"]
        if recurring:
            return by_key[self.card]
        roll, total = self.rng.random(), 0.0
        for key, weight in _CARD_WEIGHTS:
            total += weight
            if roll < total:
                return by_key[key]
        return by_key["amex"]

    def descriptor(self, posted: date, account: BankAccount) -> str:
        rng = self.rng
        templates = self.templates
        debit_card = account.kind == "checking" and self.spec.style in (LOCAL, RESTAURANT)
        if debit_card and not self.spec.templates and self.spec.key not in KNOWN_TEMPLATES:
            templates = _LOCAL_DEBIT
        template = templates[rng.randrange(len(templates))]
        stem = self.stems[rng.randrange(len(self.stems))]
        place = self.places[rng.randrange(len(self.places))]
        bought = posted - timedelta(days=rng.choice((0, 1, 1, 2)))
        values: dict[str, Callable[[], str]] = {
            "stem": lambda: stem,
            "achstem": lambda: self.ach_stem,
            "city": lambda: place[0],
            "st": lambda: place[1],
            "cityabbr": lambda: place[0][:3],
            "store": lambda: self.stores[place],
            "hqcity": lambda: self.hqcity,
            "hqst": lambda: self.hqst,
            "domain": lambda: self.domain,
            "ref": lambda: "".join(
                rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)
            ),
            "num": lambda: str(rng.randrange(100000, 999999)),
            "phone": lambda: (
                f"{rng.choice(('800', '855', '866', '888'))}-555-01{rng.randrange(10, 99)}"
            ),
            "mmdd": lambda: bought.strftime("%m%d"),
            "mm": lambda: bought.strftime("%m"),
            "dd": lambda: bought.strftime("%d"),
            "yymmdd": lambda: posted.strftime("%y%m%d"),
            "hhmm": lambda: f"{rng.randrange(7, 18):02d}{rng.randrange(60):02d}",
            "last4": lambda: account.last4,
            "payee": lambda: self.tenant.payee,
            "tenantdomain": lambda: f"{self.tenant.id}.example.com",
            "coid": lambda: self.coid,
            "trace": lambda: str(rng.randrange(10**14, 10**15)),
            "trn": lambda: f"{rng.randrange(10**9, 10**10)}TC",
            "achdesc": lambda: _ACH_DESCRIPTIONS[rng.randrange(len(_ACH_DESCRIPTIONS))],
            "weekday": lambda: _WEEKDAYS[bought.weekday()],
            "hour": lambda: f"{rng.randrange(1, 13)}{rng.choice(('AM', 'PM'))}",
            "restaurant": lambda: _RESTAURANTS[rng.randrange(len(_RESTAURANTS))],
            "event": lambda: rng.choice(_EVENTS.get(self.tenant.id, ("MEETUP",))),
        }

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]()
            if name.startswith("digits"):
                width = int(name.removeprefix("digits"))
                return "".join(str(rng.randrange(10)) for _ in range(width))
            if name.startswith("ticket"):
                airline = name.removeprefix("ticket")
                return airline + "".join(str(rng.randrange(10)) for _ in range(10))
            raise KeyError(f"unknown placeholder {{{name}}} in {template!r}")

        return _PLACEHOLDER.sub(fill, template).rstrip()

    def amount(self, value: float) -> Decimal:
        sign = 1 if self.spec.inflow else -1
        return _money(value) * sign

    def events(self) -> list[tuple[date, Decimal, BankAccount]]:
        """(posted date, signed amount, bank account) for every charge of this spec."""
        pattern, rng = self.spec.pattern, self.rng
        out: list[tuple[date, Decimal, BankAccount]] = []
        ach = self.spec.style == ACH
        if isinstance(pattern, Monthly):
            for month, amount in enumerate(pattern.amounts, start=1):
                if amount is None:
                    continue
                day = _month_day(month, pattern.day)
                day = _business_day(day) if ach else day
                value = float(amount) * (1 + rng.uniform(-pattern.jitter, pattern.jitter))
                out.append((day, self.amount(value), self.bank_account(True)))
        elif isinstance(pattern, SemiMonthly):
            for month, amount in enumerate(pattern.amounts, start=1):
                if amount is None:
                    continue
                last = calendar.monthrange(YEAR, month)[1]
                for day_of_month in (15, last):
                    day = _business_day(date(YEAR, month, day_of_month), forward=False)
                    value = float(amount) * (1 + rng.uniform(-pattern.jitter, pattern.jitter))
                    out.append((day, self.amount(value), self.bank_account(True)))
        elif isinstance(pattern, Annual):
            day = _month_day(pattern.month, pattern.day)
            out.append(
                (
                    _business_day(day) if ach else day,
                    self.amount(pattern.amount),
                    self.bank_account(True),
                )
            )
        elif isinstance(pattern, Weekly):
            for day in _days(*pattern.months):
                if day.weekday() == pattern.weekday:
                    value = _log_uniform(rng, pattern.low, pattern.high)
                    out.append((day, self.amount(value), self.bank_account(False)))
        elif isinstance(pattern, Frequent):
            weekday_rate = pattern.per_week / (5 + 2 * pattern.weekend)
            for day in _days(*pattern.months):
                rate = weekday_rate * (pattern.weekend if day.weekday() >= 5 else 1.0)
                for _ in range(_poisson(rng, rate)):
                    value = _log_uniform(rng, pattern.low, pattern.high)
                    out.append((day, self.amount(value), self.bank_account(False)))
        elif isinstance(pattern, Occasional):
            days = _days(*pattern.months)
            share = len(days) / 365
            # At least once: a merchant on the list is one the tenant actually paid.
            for _ in range(max(1, _poisson(rng, pattern.per_year * share))):
                day = days[rng.randrange(len(days))]
                day = _business_day(day) if ach else day
                value = _log_uniform(rng, pattern.low, pattern.high)
                out.append((day, self.amount(value), self.bank_account(False)))
        return out


def _account_for(tenant: TenantSpec, category: str) -> str:
    if category in tenant.category_accounts:
        return tenant.category_accounts[category]
    for account in tenant.chart:
        if account.category == category:
            return account.code
    raise ValueError(f"tenant {tenant.id!r} has no account for category {category!r}")


def _coding(tenant: TenantSpec, coding: str) -> str:
    return coding if coding.isdigit() else _account_for(tenant, coding)


def _choose_vendors(tenant: TenantSpec, merchants: list[str]) -> set[str]:
    forced = {s.key for s in tenant.merchants if s.vendor is True}
    refused = {s.key for s in tenant.merchants if s.vendor is False}
    # Customers and interest are counterparties, not vendors: never pre-created.
    for key in merchants:
        specs = [s for s in tenant.merchants if s.key == key]
        if all(s.inflow and not s.known for s in specs):
            refused.add(key)
    eligible = [k for k in merchants if k not in forced and k not in refused]
    wanted = round(VENDOR_SHARE * len(merchants)) - len(forced)
    chosen = _rng(tenant.id, "vendors").sample(eligible, max(0, min(wanted, len(eligible))))
    return forced | set(chosen)


def generate_tenant(tenant: TenantSpec, directory: dict[str, CompanyRecord]) -> DemoTenantData:
    merchants: list[str] = []
    for spec in tenant.merchants:
        if spec.known and spec.key not in directory:
            raise ValueError(f"{tenant.id}: {spec.key!r} is not in the company directory")
        if spec.key not in merchants:
            merchants.append(spec.key)
    vendor_keys = _choose_vendors(tenant, merchants)

    raw: list[tuple[date, str, str, Decimal, int, str, str | None, str | None]] = []
    for position, spec in enumerate(tenant.merchants):
        record = directory.get(spec.key) if spec.known else None
        merchant = _Merchant(tenant, spec, position, record)
        company = spec.key if spec.known and spec.names_company else None
        coding = _coding(tenant, spec.coding) if spec.coding else None
        for posted, amount, account in merchant.events():
            descriptor = merchant.descriptor(posted, account)
            raw.append(
                (posted, account.name, descriptor, amount, position, spec.key, company, coding)
            )
    raw += _card_payments(tenant, raw)

    vendors = _vendors(tenant, directory, merchants, vendor_keys, raw)
    by_key = {v.merchant: v for v in vendors}
    raw.sort(key=lambda r: (r[0], r[1], r[4], r[2], r[3]))
    transactions = []
    for number, (
        posted,
        account_name,
        descriptor,
        amount,
        origin,
        key,
        company,
        coding,
    ) in enumerate(raw, 1):
        vendor = by_key.get(key)
        transactions.append(
            DemoTransaction(
                id=f"{tenant.id}-t{number:06d}",
                tenant_id=tenant.id,
                bank_account=account_name,
                posted_date=posted,
                raw_descriptor=descriptor,
                amount=amount,
                currency="USD",
                vendor_id=vendor.id if vendor else None,
                account_code=(coding or vendor.account_code) if vendor else None,
                merchant=key,
                company=company,
                transfer=origin >= _TRANSFER_POSITION,
            )
        )
    known = tuple(
        m
        for m in merchants
        if m in directory and any(s.known for s in tenant.merchants if s.key == m)
    )
    return DemoTenantData(tenant, tuple(vendors), tuple(transactions), tuple(merchants), known)


_Raw = tuple[date, str, str, Decimal, int, str, str | None, str | None]
_TRANSFER_POSITION = 10_000  # card payments sort after every spec's rows of the same day


def _card_payments(tenant: TenantSpec, raw: list[_Raw]) -> list[_Raw]:
    """Each card's monthly statement, paid in full from checking on the 12th of next month."""
    checking = next(b for b in tenant.bank_accounts if b.kind == "checking")
    out: list[_Raw] = []
    for card in (b for b in tenant.bank_accounts if b.kind == "card"):
        rng = _rng(tenant.id, "card-payments", card.key)
        issuer = KNOWN_TEMPLATES[card.issuer]
        card_side = _CARD_SIDE_PAYMENT[card.issuer]
        for month in range(1, 12):
            spent = -sum(
                (r[3] for r in raw if r[1] == card.name and r[0].month == month), Decimal("0")
            )
            if spent <= 0:
                continue
            day = _business_day(date(YEAR, month + 1, 12))
            ref = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
            coid = str(rng.randrange(1_000_000_000, 9_999_999_999))
            text = issuer[rng.randrange(len(issuer))]
            text = text.replace("{ref}", ref).replace("{coid}", coid)
            text = text.replace("{payee}", tenant.payee)
            out.append(
                (
                    day,
                    checking.name,
                    text,
                    -spent,
                    _TRANSFER_POSITION,
                    card.issuer,
                    card.issuer,
                    card.ledger_code,
                )
            )
            side = card_side[rng.randrange(len(card_side))]
            out.append(
                (
                    day,
                    card.name,
                    side,
                    spent,
                    _TRANSFER_POSITION + 1,
                    f"{card.issuer} payment",
                    None,
                    None,
                )
            )
    return out


def _vendors(
    tenant: TenantSpec,
    directory: dict[str, CompanyRecord],
    merchants: list[str],
    vendor_keys: set[str],
    raw: list[_Raw],
) -> list[DemoVendor]:
    examples: dict[str, list[str]] = {}
    for row in sorted(raw, key=lambda r: (r[0], r[4], r[2])):
        seen = examples.setdefault(row[5], [])
        if len(seen) < 3 and row[2] not in seen:
            seen.append(row[2])
    vendors = []
    home_city, home_state = tenant.home[0]
    for key in merchants:
        if key not in vendor_keys:
            continue
        specs = [s for s in tenant.merchants if s.key == key]
        category = next((s.category for s in specs if s.category), None)
        record = directory.get(key) if specs[0].known else None
        if record is not None:
            name, domain, hq = record.name, record.domain, record.headquarters
            aliases = tuple(record.aliases)
            category = category or record.category
        else:
            name, domain, aliases = key.title().replace("'S", "'s"), None, ()
            hq = f"{home_city.title()}, {home_state}"
        assert category is not None, key
        account_code = _account_for(tenant, category)
        fields = ["canonical_name", "category", "account_code", "headquarters"]
        fields += ["domain", "aliases"] if record is not None else []
        normalized = normalized_vendor_name(name)
        vendors.append(
            DemoVendor(
                id=vendor_uuid(tenant.id, normalized),
                tenant_id=tenant.id,
                canonical_name=name,
                normalized_name=normalized,
                domain=domain,
                category=category,
                account_code=account_code,
                headquarters=hq,
                aliases=aliases,
                descriptors=tuple(examples.get(key, ())),
                provenance={f: {"source": "seed", "confidence": 1.0} for f in sorted(fields)},
                merchant=key,
            )
        )
    return vendors


def generate_all(tenants: tuple[TenantSpec, ...]) -> tuple[DemoTenantData, ...]:
    directory = {record.name: record for record in all_companies()}
    return tuple(generate_tenant(tenant, directory) for tenant in tenants)
