"""Turn a raw bank descriptor into the words that name the merchant.

Card networks and ACH files wrap the merchant's name in processor prefixes ("SQ *", "TST*"),
bank jargon ("POS DEBIT", "CHECKCARD 0415", "PPD ID: ..."), reference numbers, phone numbers,
support URLs and a "CITY ST" suffix. Everything here strips that noise the same way for
descriptors and for the directory's own names, so both sides compare like with like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


US_STATES = _words(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR"
)
# Trailing country codes card networks append to foreign and cross-border charges.
_COUNTRY_SUFFIXES = _words("US USA GB GBR IE IRL NL NLD DE DEU FR FRA CAN AU AUS SG")

# Cities that appear as a descriptor's location suffix; the directory's headquarters cities are
# added at load time, so this only needs the places merchants are commonly charged from.
BASE_CITIES = frozenset(
    c.replace(" ", "")
    for c in (
        "SAN FRANCISCO",
        "SOUTH SAN FRANCISCO",
        "S SAN FRAN",
        "SOUTH SAN FRAN",
        "OAKLAND",
        "BERKELEY",
        "EMERYVILLE",
        "ALAMEDA",
        "SAN JOSE",
        "SANTA CLARA",
        "SUNNYVALE",
        "MOUNTAIN VIEW",
        "PALO ALTO",
        "MENLO PARK",
        "REDWOOD CITY",
        "SAN MATEO",
        "BURLINGAME",
        "DALY CITY",
        "FREMONT",
        "HAYWARD",
        "SAN LEANDRO",
        "WALNUT CREEK",
        "SAN RAFAEL",
        "MILLBRAE",
        "SACRAMENTO",
        "LOS ANGELES",
        "SANTA MONICA",
        "PASADENA",
        "IRVINE",
        "SAN DIEGO",
        "SEATTLE",
        "BELLEVUE",
        "REDMOND",
        "KIRKLAND",
        "TACOMA",
        "RENTON",
        "EVERETT",
        "TUKWILA",
        "SEATAC",
        "SPOKANE",
        "PORTLAND",
        "BEAVERTON",
        "BOISE",
        "DENVER",
        "BOULDER",
        "PHOENIX",
        "TEMPE",
        "SCOTTSDALE",
        "LAS VEGAS",
        "SALT LAKE CITY",
        "AUSTIN",
        "DALLAS",
        "HOUSTON",
        "SAN ANTONIO",
        "CHICAGO",
        "MINNEAPOLIS",
        "DETROIT",
        "COLUMBUS",
        "CLEVELAND",
        "PITTSBURGH",
        "PHILADELPHIA",
        "NEW YORK",
        "NEW YORK CITY",
        "NYC",
        "BROOKLYN",
        "JERSEY CITY",
        "NEWARK",
        "BOSTON",
        "CAMBRIDGE",
        "WASHINGTON",
        "ARLINGTON",
        "BALTIMORE",
        "ATLANTA",
        "CHARLOTTE",
        "RALEIGH",
        "NASHVILLE",
        "MIAMI",
        "ORLANDO",
        "TAMPA",
        "NEW ORLEANS",
        "KANSAS CITY",
        "ST LOUIS",
        "SAINT LOUIS",
        "HONOLULU",
        "ANCHORAGE",
        "TORONTO",
        "VANCOUVER",
        "MONTREAL",
        "LONDON",
        "DUBLIN",
        "AMSTERDAM",
        "PARIS",
        "BERLIN",
        "SYDNEY",
        "SINGAPORE",
        "TOKYO",
        "LUXEMBOURG",
        "LUXEMBOURG CITY",
        "SOUTH JORDAN",
        "LEHI",
        "PROVO",
        "ISSAQUAH",
        "SAN BRUNO",
        "SOUTH LAKE UNION",
        "CAPITOL HILL",
        "BALLARD",
        "FREMONT SEATTLE",
        "GEORGETOWN",
        "WOODINVILLE",
        "SNOQUALMIE",
        "NEWARK AIRPORT",
        "JFK",
        "SFO",
        "SEA",
        "OAK",
        "LAX",
        "ORD",
        "BOS",
        "DEN",
        "ATL",
        "DFW",
        "PDX",
        "SJC",
    )
)

# Processor and aggregator prefixes: the real merchant follows the star.
_PROCESSOR_PREFIX = re.compile(
    r"(?:^|\s)(?:SQ|SQU|TST|SP|PP|PAYPAL|DNH|IZ|IZETTLE|CKO|FS|BT|PY|WPY|GGLPAY|GOOGLE PAY|"
    r"APPLE PAY|APLPAY)\s?\*\s*(?=[A-Z0-9])"
)
_URL = re.compile(
    r"(?:HTTPS?://)?(?:WWW\.)?((?:[A-Z0-9][A-Z0-9-]*\.)+"
    r"(?:COM|NET|ORG|IO|CO|US|AI|APP|SO|DEV|INFO|BIZ|ME|TV|XYZ|CC|UK|CA|DE|GOV|EDU))\b(?:/\S*)?"
)
_PHONE = re.compile(r"\b(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")
# ACH addenda: the payee's own name and every id/trace field say nothing about the merchant.
_ACH_FIELDS = (
    re.compile(r"\b(?:INDN|IND NAME)\s*:.*?(?=\b(?:CO ID|TRN|CCD|PPD|WEB)\b|$)"),
    re.compile(r"\b(?:PPD|CCD|WEB|TEL|CO|ORIG|IND|CTX)?\s*ID\s*:\s*\S+"),
    re.compile(r"\bTRACE\s*#?\s*:?\s*\d+"),
    re.compile(r"\b(?:EED|DESC DATE|TRN)\s*:\s*\S+"),
    re.compile(r"\bSEC\s*:\s*[A-Z]{3}\b"),
    re.compile(r"\b(?:ORIG CO NAME|CO ENTRY DESCR|DES|DESCR)\s*:"),
)
_REWRITES = (
    (
        re.compile(r"\bAMZN\s*MKTP\s*(?:US|CA|UK)?\b|\bAMAZON\s*MKTPL?A?C?E?\b"),
        " AMAZON MARKETPLACE ",
    ),
    (re.compile(r"\bAMZN\b"), " AMAZON "),
    (re.compile(r"(?:^|\s)EB\s?\*"), " EVENTBRITE "),
    (re.compile(r"\bAMZ\s*\*"), " AMAZON "),
)
# Bank and network jargon: dropped outright.
_JARGON = _words(
    "POS ACH DEBIT CREDIT CHECKCARD CHKCARD CARD PURCHASE PURCH AUTHORIZED AUTH ON RECURRING "
    "PREAUTHORIZED PREAUTH PPD CCD WEB CTX ID DES INDN ORIG SEC TRACE EED IND TRN VISA DDA "
    "WITHDRAWAL WDRL ELECTRONIC EXT XFER PENDING MEMO DBT CRD PMNT SALE TRANSACTION TXN "
    "CONTACTLESS TAP CHIP SWIPE INTL FOREIGN"
)
# Words that often follow a merchant's name but never identify it: kept (a company's name may
# contain one) but not counted against a candidate that leaves them unexplained.
GENERIC = _words(
    "THE INC LLC LTD LP LLP PLC CORP CORPORATION CO COMPANY COM NET ORG WWW HELP SUPPORT TRIP "
    "RIDE RIDES STORE STORES SHOP ONLINE BILL BILLING PAYMENT PAYMENTS PMT PAY SUBSCRIPTION "
    "SUBSCR SUB MEMBERSHIP RENEWAL ORDER ORDERS FEE FEES AUTOPAY AUTO MONTHLY ANNUAL YEARLY "
    "PLAN PLANS US USA AMERICA NA TIP TIPS NET TAX TAXES MON TUE WED THU FRI SAT SUN AM PM "
    "AND OF FOR AT BY GROUP HOLDINGS INTERNATIONAL INTL TECHNOLOGIES TECHNOLOGY TECH LABS "
    "SYSTEMS SERVICES SERVICE SVC SVCS SOLUTIONS DIGITAL SOFTWARE APP APPS MOBILE WIRELESS "
    "ACCOUNT ACCT INVOICE INV ENTERPRISE BUSINESS PRO PREMIUM PLUS USAGE CHARGE CHARGES "
    "REFUND REF PURCHASE NEW"
)

_MIXED_REF = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-Z0-9]+$")
_LETTERS_THEN_DIGITS = re.compile(r"^([A-Z]{3,})\d{2,}$")
_CLOCK = re.compile(r"^\d{1,2}(?:AM|PM)$")
_MASK = re.compile(r"^X{2,}\d*$")


@dataclass(frozen=True)
class Normalised:
    tokens: tuple[str, ...]
    """Merchant words, upper case, in order."""
    hosts: tuple[str, ...]
    """Domain names found in the text, lower case (e.g. "help.uber.com")."""

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _fold(text: str) -> str:
    text = text.upper().replace("_", " ")
    # "AT&T", "H&R", "B&H": one word; "BARNES & NOBLE": two.
    text = re.sub(r"(?<=\w)&(?=\w)", "", text)
    return text.replace("'", "").replace("’", "")


def _clean_token(token: str) -> str | None:
    if not token or token in _JARGON or _CLOCK.match(token) or _MASK.match(token):
        return None
    if token.isdigit():
        # Store numbers and references are long; "7" (7-Eleven) and "76" are brand names.
        return token if len(token) <= 2 else None
    letters = _LETTERS_THEN_DIGITS.match(token)
    if letters:  # "ADS1234567", "PAY123456": a word with a reference glued on
        return letters.group(1)
    if _MIXED_REF.match(token) and sum(ch.isdigit() for ch in token) >= 2:
        return None  # "2K4L71", "T0123ABC": a reference number
    return token


def strip_location(tokens: list[str], cities: frozenset[str]) -> list[str]:
    """Drop a trailing "CITY ST" (also run together: "SAN FRANCISCOCA") but keep a name."""
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        last = tokens[-1]
        if last in US_STATES or last in _COUNTRY_SUFFIXES:
            tokens = tokens[:-1]
            changed = True
            continue
        for span in (3, 2, 1):
            if len(tokens) <= span:
                continue
            joined = "".join(tokens[-span:])
            if joined in cities or (
                len(joined) > 4 and joined[-2:] in US_STATES and joined[:-2] in cities
            ):
                tokens = tokens[:-span]
                changed = True
                break
    return tokens


def normalise(raw: str, cities: frozenset[str] = BASE_CITIES) -> Normalised:
    text = _fold(raw)
    hosts: list[str] = []

    def _host(match: re.Match[str]) -> str:
        host = match.group(1).lower()
        hosts.append(host)
        return " " + " ".join(host.split(".")[:-1]).upper() + " "

    text = _URL.sub(_host, text)
    text = _PHONE.sub(" ", text)
    text = _DATE.sub(" ", text)
    for pattern in _ACH_FIELDS:
        text = pattern.sub(" ", text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    stripped = _PROCESSOR_PREFIX.sub(" ", text)
    if re.search(r"[A-Z]{2}", stripped):  # "PAYPAL *" alone still means PayPal
        text = stripped
    tokens: list[str] = []
    for word in re.split(r"[^A-Z0-9&]+", text):
        cleaned = _clean_token(word.replace("&", ""))
        if cleaned:
            tokens.append(cleaned)
    tokens = strip_location(tokens, cities)
    return Normalised(tuple(tokens), tuple(hosts))


def normalise_name(name: str) -> tuple[str, ...]:
    """Words of a directory name or alias, normalised like a descriptor (no location strip)."""
    text = _fold(name).replace(".", " ")
    words = (w.replace("&", "") for w in re.split(r"[^A-Z0-9&]+", text))
    return tuple(w for w in words if w)
