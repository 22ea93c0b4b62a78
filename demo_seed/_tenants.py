"""The two demo tenants: who they are, their charts of accounts, banks and merchants.

Acme Robotics Inc. (San Francisco; builds warehouse robots: parts, prototypes, cloud, a growing
engineering team) and Globex Coffee Roasters LLC (Seattle; green coffee, dairy, packaging, a
cafe on Square and an online store on Shopify). Amounts are plausible list prices of 2025.

Designed answers, for demos and evaluations: Acme's AWS bill roughly doubles from Q2 to Q3 (the
largest Q3-over-Q2 growth of any vendor; payroll and benefits step up in Q2 and Q4 only, after
hiring rounds), Snowflake starts in Q3, Zoom, Dropbox and Asana are cancelled mid-year; Globex's
Cafe Imports purchases nearly double in Q3, Mailchimp is cancelled in August and replaced by
Klaviyo in September. Card payments from checking are transfers, not vendor spend.
"""

from __future__ import annotations

from typing import Any

from demo_seed._model import (
    ACH,
    LOCAL,
    ONLINE,
    RESTAURANT,
    Account,
    Annual,
    BankAccount,
    Frequent,
    MerchantSpec,
    Monthly,
    Months,
    Occasional,
    Pattern,
    PrincipalSpec,
    SemiMonthly,
    TenantSpec,
    Weekly,
    dec,
    monthly,
    quarterly,
    ramp,
)


def _m(key: str, pattern: Pattern, style: str = ONLINE, **options: Any) -> MerchantSpec:
    return MerchantSpec(key, pattern, style, **options)


def sub(key: str, day: int, amounts: Months, **options: Any) -> MerchantSpec:
    return _m(key, Monthly(day, amounts), **options)


def usage(key: str, day: int, amounts: Months, jitter: float = 0.08, **opt: Any) -> MerchantSpec:
    return _m(key, Monthly(day, amounts, jitter), **opt)


def freq(
    key: str, per_week: float, low: float, high: float, style: str = LOCAL, **opt: Any
) -> MerchantSpec:
    return _m(key, Frequent(per_week, low, high), style, **opt)


def occ(
    key: str, per_year: float, low: float, high: float, style: str = ONLINE, **opt: Any
) -> MerchantSpec:
    return _m(key, Occasional(per_year, low, high), style, **opt)


def yearly(key: str, month: int, day: int, amount: float, **options: Any) -> MerchantSpec:
    return _m(key, Annual(month, day, amount), **options)


def weekly(key: str, weekday: int, low: float, high: float, **options: Any) -> MerchantSpec:
    return _m(key, Weekly(weekday, low, high), **options)


def seasonal(*amounts: float) -> Months:
    return tuple(dec(a) for a in amounts)


def _chart(rows: str) -> tuple[Account, ...]:
    accounts = []
    for line in rows.strip().splitlines():
        code, name, account_type, category = (part.strip() for part in line.split("|"))
        accounts.append(Account(code, name, account_type, category))
    return tuple(accounts)


_GUSTO_NET = (
    "GUSTO PAY {num}",
    "ORIG CO NAME:GUSTO ORIG ID:{coid} DESC DATE:{yymmdd} CO ENTRY DESCR:NET {ref} "
    "SEC:CCD TRACE#:{trace} EED:{yymmdd} IND ID:{ref} IND NAME:{payee} TRN: {trn}",
    "GUSTO DES:NET {yymmdd} ID:{ref} INDN:{payee} CO ID:{coid} CCD",
    "ACH DEBIT GUSTO NET {num} PPD ID: {coid}",
)
_GUSTO_TAX = (
    "GUSTO TAX {num}",
    "ORIG CO NAME:GUSTO ORIG ID:{coid} DESC DATE:{yymmdd} CO ENTRY DESCR:TAX {ref} "
    "SEC:CCD TRACE#:{trace} EED:{yymmdd} IND ID:{ref} IND NAME:{payee} TRN: {trn}",
    "GUSTO DES:TAX {yymmdd} ID:{ref} INDN:{payee} CO ID:{coid} CCD",
)
_STRIPE_PAYOUT = (
    "ORIG CO NAME:STRIPE ORIG ID:{coid} DESC DATE:{yymmdd} CO ENTRY DESCR:TRANSFER SEC:CCD "
    "TRACE#:{trace} EED:{yymmdd} IND ID:ST-{ref} IND NAME:{payee} TRN: {trn}",
    "STRIPE TRANSFER ST-{ref}",
    "STRIPE DES:TRANSFER ID:ST-{ref} INDN:{payee} CO ID:{coid} CCD",
)
_GUSTO_FEE = ("GUSTO FEE {num}", "GUSTO DES:FEE {yymmdd} ID:{ref} INDN:{payee} CO ID:{coid} CCD")

ACME = TenantSpec(
    id="acme",
    name="Acme Robotics",
    legal_name="Acme Robotics Inc.",
    industry="Robotics hardware and software (warehouse automation)",
    contact_email="finance@example.com",
    fiscal_year_start=1,
    payee="ACME ROBOTICS INC",
    home=(
        ("SAN FRANCISCO", "CA"),
        ("SAN FRANCISCO", "CA"),
        ("SAN FRANCISCO", "CA"),
        ("OAKLAND", "CA"),
        ("SOUTH SAN FRAN", "CA"),
        ("BERKELEY", "CA"),
        ("EMERYVILLE", "CA"),
        ("PALO ALTO", "CA"),
    ),
    travel=(
        ("NEW YORK", "NY"),
        ("BOSTON", "MA"),
        ("SEATTLE", "WA"),
        ("AUSTIN", "TX"),
        ("LAS VEGAS", "NV"),
        ("CHICAGO", "IL"),
        ("PITTSBURGH", "PA"),
    ),
    principals=(
        PrincipalSpec("owner", "Maya Chen", "maya.chen@example.com"),
        PrincipalSpec("accountant", "Daniel Ortiz", "daniel.ortiz@example.com"),
        PrincipalSpec("viewer", "Priya Raman", "priya.raman@example.com"),
        PrincipalSpec("service", "Acme ledgerd service", "ledgerd+acme@example.com"),
    ),
    chart=_chart(
        """
        1000 | Chase Business Checking ..4821 | asset | cash
        1010 | Chase Business Savings ..4839 | asset | cash
        1200 | Accounts Receivable | asset | accounts_receivable
        1300 | Prepaid Expenses | asset | prepaid_expenses
        1500 | Lab and Computer Equipment | asset | fixed_assets
        2000 | Accounts Payable | liability | accounts_payable
        2100 | Amex Business Platinum ..1007 | liability | credit_cards
        2110 | Chase Ink Business ..3390 | liability | credit_cards
        2200 | Payroll Liabilities | liability | payroll_liabilities
        2500 | Venture Debt | liability | loans
        3000 | Preferred and Common Stock | equity | owner_equity
        3900 | Retained Earnings | equity | retained_earnings
        4000 | Robot Hardware Sales | income | revenue
        4100 | Fleet Software Subscriptions | income | revenue
        4900 | Interest Income | income | interest_income
        5000 | Components and Materials | expense | cost_of_goods_sold
        5100 | Contract Manufacturing | expense | cost_of_goods_sold
        6000 | Advertising and Marketing | expense | advertising
        6050 | Bank and Merchant Fees | expense | bank_fees
        6100 | Software and SaaS | expense | software
        6110 | Cloud Infrastructure | expense | cloud_hosting
        6200 | Contractors | expense | contractors
        6250 | Computer Equipment (under $2,500) | expense | equipment
        6300 | Insurance | expense | insurance
        6400 | Meals and Entertainment | expense | meals
        6450 | Office Supplies | expense | office_supplies
        6500 | Salaries and Wages | expense | payroll
        6510 | Employee Benefits | expense | payroll
        6600 | Legal and Accounting | expense | professional_services
        6700 | Rent | expense | rent
        6750 | Shipping and Postage | expense | shipping
        6800 | Taxes and Licenses | expense | taxes
        6850 | Telephone and Internet | expense | telecom
        6900 | Training and Conferences | expense | training
        6950 | Travel | expense | travel
        6960 | Utilities | expense | utilities
        6970 | Vehicle, Fuel and Parking | expense | vehicle
        6990 | Miscellaneous Expense | expense | other_expense
        """
    ),
    bank_accounts=(
        BankAccount("checking", "chase-checking-4821", "checking", "4821", "1000"),
        BankAccount("savings", "chase-savings-4839", "savings", "4839", "1010"),
        BankAccount("amex", "amex-platinum-1007", "card", "1007", "2100", "American Express"),
        BankAccount("ink", "chase-ink-3390", "card", "3390", "2110", "JPMorgan Chase"),
    ),
    category_accounts={"revenue": "4000", "payroll": "6500", "cost_of_goods_sold": "5000"},
    merchants=(
        # Software and subscriptions
        sub("Slack Technologies", 3, ramp(1462.50, 2103.75)),
        sub("Atlassian", 7, ramp(822.00, 1181.25)),
        sub("GitHub", 5, ramp(441.00, 693.00)),
        sub("Figma", 12, ramp(450.00, 675.00)),
        sub("Notion Labs", 9, ramp(240.00, 400.00)),
        sub("Zoom Communications", 14, monthly(219.90, 1, 5)),
        sub("Dropbox", 20, monthly(450.00, 1, 6)),
        sub("Asana", 16, monthly(687.50, 1, 7)),
        sub("Google", 1, ramp(506.00, 748.00)),
        sub("Microsoft", 4, monthly(264.00)),
        sub("Adobe", 19, monthly(179.97)),
        sub("Autodesk", 23, monthly(680.00)),
        yearly("Dassault Systemes", 2, 14, 11280.00),
        yearly("PTC", 6, 2, 7500.00),
        usage("Datadog", 2, quarterly(1180, 1420, 2310, 2650)),
        sub("Sentry", 11, monthly(312.00, 3)),
        sub("PagerDuty", 8, ramp(189.00, 273.00)),
        sub("Docker", 15, monthly(144.00)),
        yearly("JetBrains", 3, 3, 4890.00),
        sub("Postman", 17, monthly(171.00)),
        usage("OpenAI", 1, quarterly(420, 910, 1860, 2240), 0.15),
        usage("Anthropic", 1, quarterly(None, 650, 1750, 2100), 0.15),
        sub("1Password", 6, ramp(159.60, 239.40)),
        sub("DocuSign", 21, monthly(65.00)),
        sub("Intuit", 10, monthly(275.00)),
        yearly("Carta", 1, 20, 6800.00),
        sub("HubSpot", 13, monthly(890.00, 4)),
        sub("Loom", 18, monthly(150.00, 1, 9)),
        sub("Miro", 24, monthly(240.00)),
        sub("Calendly", 26, monthly(96.00)),
        sub("Grammarly", 27, monthly(75.00)),
        sub("Canva", 22, monthly(119.99)),
        sub("Zapier", 28, monthly(103.50)),
        sub("Okta", 6, monthly(240.00, 6)),
        sub("Mixpanel", 19, monthly(289.00)),
        sub("ZipRecruiter", 2, monthly(299.00, 3, 8)),
        # Cloud
        usage("Amazon Web Services", 2, quarterly(4300, 5500, 14200, 15800), 0.06, vendor=True),
        usage("Google Cloud", 2, quarterly(880, 910, 1150, 1240), 0.1),
        sub("Vercel", 11, monthly(120.00)),
        usage("Cloudflare", 1, monthly(250.00), 0.2),
        sub("DigitalOcean", 1, monthly(96.00, 1, 8)),
        usage("MongoDB", 1, quarterly(560, 610, 920, 1010)),
        usage("Snowflake", 1, quarterly(None, None, 1400, 1650), 0.12),
        sub("Backblaze", 1, monthly(42.50)),
        usage("Twilio", 1, monthly(180.00), 0.2),
        yearly("GoDaddy", 3, 11, 239.88),
        yearly("Namecheap", 8, 2, 87.44),
        # Telecom and utilities
        sub("Comcast", 22, monthly(389.90)),
        sub("AT&T", 18, monthly(512.40)),
        sub("Verizon", 25, monthly(140.00)),
        sub("RingCentral", 9, monthly(149.97)),
        _m(
            "Pacific Gas and Electric",
            Monthly(
                17,
                seasonal(1840, 1760, 1620, 1410, 1320, 1390, 1510, 1580, 1490, 1380, 1560, 1790),
                0.05,
            ),
            ACH,
        ),
        sub("Recology", 12, monthly(318.60), style=ACH),
        # Insurance and benefits
        sub("The Hartford", 5, monthly(642.00), style=ACH),
        yearly("Embroker", 4, 1, 18450.00, style=ACH),
        yearly("Vouch Insurance", 9, 1, 7240.00),
        sub("Kaiser Permanente", 1, quarterly(14200, 16100, 16100, 19800), style=ACH),
        sub("Guardian Life", 1, quarterly(1320, 1500, 1500, 1840), style=ACH),
        sub(
            "Principal Financial Group",
            20,
            quarterly(9800, 11200, 11200, 13900),
            style=ACH,
            category="payroll",
        ),
        # Payroll
        _m(
            "Gusto",
            SemiMonthly(quarterly(118000, 132000, 132000, 151000)),
            ACH,
            templates=_GUSTO_NET,
            vendor=True,
        ),
        _m(
            "Gusto",
            SemiMonthly(quarterly(46000, 51500, 51500, 58900)),
            ACH,
            templates=_GUSTO_TAX,
            vendor=True,
        ),
        _m("Gusto", Monthly(1, ramp(556.00, 766.00)), ACH, templates=_GUSTO_FEE, vendor=True),
        # Professional services, rent, contractors
        occ("Cooley", 8, 2500, 9500, ACH),
        sub("Pilot", 5, monthly(1150.00), style=ACH),
        yearly("LegalZoom", 3, 2, 299.00),
        yearly("Deloitte", 5, 20, 12500.00, style=ACH),
        sub(
            "HARBOR POINT PROPERTIES",
            1,
            monthly(28500.00),
            style=ACH,
            known=False,
            category="rent",
            vendor=True,
        ),
        sub("WeWork", 1, monthly(1250.00, 3)),
        sub("Public Storage", 1, monthly(289.00)),
        sub(
            "BAYSIDE JANITORIAL",
            28,
            monthly(1450.00),
            style=ACH,
            known=False,
            category="contractors",
        ),
        weekly("Upwork", 3, 400, 2600),
        occ("Fiverr", 6, 80, 650),
        occ("TaskRabbit", 5, 90, 320),
        _m("Robert Half", Occasional(6, 1800, 5200, (6, 9)), ACH),
        occ(
            "MISSION MACHINE WORKS", 10, 1200, 7800, ACH, known=False, category="cost_of_goods_sold"
        ),
        # Advertising and marketing
        usage("Google Ads", 1, quarterly(1800, 2100, 2600, 3400), 0.1),
        usage("Meta Platforms", 1, quarterly(900, 1100, 1000, 1600), 0.15),
        usage("LinkedIn", 1, quarterly(1500, 1500, 2200, 2300), 0.1),
        sub("LinkedIn", 15, monthly(59.99), templates=("LINKEDIN PRE {ref} LINKEDIN.COM CA",)),
        occ("Reddit", 4, 200, 900),
        occ("Vistaprint", 3, 45, 380),
        occ("Sticker Mule", 3, 60, 420),
        yearly("G2", 7, 10, 2999.00),
        _m("Indeed", Occasional(6, 150, 900, (2, 9))),
        # Training
        occ("Eventbrite", 8, 25, 899),
        yearly("Meetup", 2, 3, 179.88),
        sub("Coursera", 8, monthly(59.00)),
        occ("Udemy", 6, 12.99, 129.99),
        yearly("O'Reilly Media", 1, 10, 2495.00),
        yearly("Pluralsight", 6, 14, 2990.00),
        occ("Manning Publications", 4, 29.99, 79.99),
        occ("Barnes & Noble", 3, 18, 85, LOCAL),
        occ("DOGPATCH MAKERSPACE", 4, 45, 350, LOCAL, known=False, category="training"),
        # Travel
        freq("Uber", 10, 9, 68, vendor=False),
        freq("Lyft", 6, 8, 55),
        occ("United Airlines", 30, 189, 780),
        occ("Delta Air Lines", 18, 210, 690),
        occ("Alaska Airlines", 14, 129, 420),
        occ("Southwest Airlines", 16, 98, 389),
        occ("American Airlines", 8, 240, 920),
        occ("JetBlue", 5, 180, 560),
        _m("Lufthansa", Occasional(2, 900, 1900, (3, 4))),
        occ("Marriott International", 14, 239, 1480, LOCAL),
        occ("Hilton", 12, 189, 1290, LOCAL),
        occ("Hyatt", 8, 210, 1150, LOCAL),
        occ("Airbnb", 6, 480, 2400),
        occ("Expedia", 4, 150, 900),
        occ("Booking.com", 3, 180, 700),
        occ("Hertz", 5, 140, 620, LOCAL),
        occ("Enterprise Rent-A-Car", 4, 120, 480, LOCAL),
        occ("Avis", 3, 130, 520, LOCAL),
        occ("Amtrak", 4, 49, 189),
        # Meals and coffee
        freq("Blue Bottle Coffee", 9, 4.5, 38, RESTAURANT, vendor=False),
        freq("Starbucks", 5, 3.95, 24),
        freq("Peet's Coffee", 4, 3.5, 28),
        freq("Philz Coffee", 6, 4.25, 31, RESTAURANT),
        freq("Sweetgreen", 5, 13, 85, RESTAURANT),
        freq("Chipotle Mexican Grill", 3, 11, 64),
        freq("DoorDash", 5, 18, 240, ONLINE),
        freq("Uber Eats", 4, 17, 180, ONLINE),
        freq("Grubhub", 1, 22, 160, ONLINE),
        freq("Shake Shack", 0.8, 12, 75, RESTAURANT),
        freq("Panera Bread", 0.6, 11, 60),
        occ("Pret A Manger", 10, 8, 35, LOCAL),
        freq("McDonald's", 0.4, 6, 24),
        freq("Chick-fil-A", 0.8, 9, 48),
        freq("Taco Bell", 0.3, 7, 26),
        freq("Domino's", 0.5, 24, 95, ONLINE),
        freq("Five Guys", 0.4, 12, 45),
        freq("Cava", 1, 12, 62, RESTAURANT),
        freq("Panda Express", 0.4, 9, 38),
        freq("Jersey Mike's", 1, 10, 56),
        freq("7-Eleven", 0.8, 3, 22),
        freq("Whole Foods Market", 3, 12, 240),
        freq("Safeway", 1.5, 9, 180),
        freq("Trader Joe's", 1, 14, 160),
        freq("Instacart", 0.8, 45, 320, ONLINE),
        occ("ezCater", 24, 280, 1450),
        occ("Dunkin'", 8, 3, 18, LOCAL),
        freq("SOMA DELI & GRILL", 2.5, 9, 42, RESTAURANT, known=False, category="meals"),
        freq("LUCKY PHO", 1.2, 12, 68, RESTAURANT, known=False, category="meals"),
        # Office, supplies and parts
        freq("Amazon", 6, 8, 420, ONLINE, vendor=True),
        freq("Costco Wholesale", 0.6, 85, 640),
        freq("Staples", 0.8, 9, 180),
        occ("Office Depot", 12, 12, 240, LOCAL),
        freq("The Home Depot", 1.5, 8, 420),
        occ("Lowe's", 14, 9, 260, LOCAL),
        occ("Target", 14, 12, 160, LOCAL),
        occ("Walgreens", 10, 5, 45, LOCAL),
        occ("CVS Pharmacy", 6, 5, 40, LOCAL),
        occ("IKEA", 3, 120, 1400, LOCAL),
        occ("Uline", 12, 85, 890),
        occ("Grainger", 24, 35, 780),
        occ("Wayfair", 3, 140, 900),
        occ("Walmart", 5, 15, 120, LOCAL),
        freq("JOES HARDWARE", 0.6, 6, 140, known=False, category="office_supplies"),
        freq("McMaster-Carr", 2, 18, 950, ONLINE),
        freq("DigiKey", 2, 25, 2800, ONLINE),
        freq("Mouser Electronics", 1.5, 30, 2100, ONLINE),
        occ("Arrow Electronics", 12, 250, 6800),
        occ("Adafruit Industries", 20, 15, 340),
        occ("SparkFun Electronics", 18, 12, 280),
        occ("JLCPCB", 24, 48, 1400),
        occ("PCBWay", 10, 90, 2200),
        occ("Protolabs", 12, 450, 8900),
        occ("Xometry", 10, 300, 6400),
        occ("Texas Instruments", 6, 40, 900),
        occ("Raspberry Pi", 4, 80, 640),
        occ(
            "GOLDEN GATE FASTENERS", 12, 40, 620, LOCAL, known=False, category="cost_of_goods_sold"
        ),
        _m("Flexport", Occasional(4, 1800, 9600), ACH, category="cost_of_goods_sold"),
        # Equipment
        occ("NVIDIA", 4, 249, 1999),
        occ("Apple", 9, 129, 3499),
        sub("Apple", 6, monthly(9.99), templates=("APPLE.COM/BILL {phone} CA",)),
        occ("Dell Technologies", 4, 890, 2800),
        occ("Best Buy", 8, 25, 1400, LOCAL),
        occ("B&H Photo", 5, 60, 2200),
        occ("Newegg", 4, 40, 1200),
        occ("Micro Center", 5, 20, 900, LOCAL),
        occ("Logitech", 3, 40, 260),
        occ("Formlabs", 6, 149, 3500),
        occ("Prusa Research", 3, 45, 1099),
        occ("Bambu Lab", 4, 39, 1449),
        occ("Keysight Technologies", 1, 2400, 7800),
        occ("Tektronix", 1, 1800, 5600),
        occ("Fluke", 2, 140, 780),
        occ("Harbor Freight Tools", 10, 12, 320, LOCAL),
        occ("Herman Miller", 2, 1295, 4800),
        # Shipping
        freq("FedEx", 2, 14, 380, ONLINE),
        freq("UPS", 2, 12, 290, ONLINE),
        freq("USPS", 1, 6, 96, LOCAL),
        occ("DHL", 20, 45, 680),
        usage("Shippo", 3, monthly(125.00), 0.3),
        # Vehicle and parking
        freq("ParkMobile", 2, 2.5, 28, ONLINE),
        freq("SpotHero", 1, 12, 48, ONLINE),
        freq("LAZ Parking", 0.8, 8, 42),
        freq("Shell", 1, 35, 85),
        freq("Chevron", 1, 38, 92),
        occ("Tesla", 10, 12, 48),
        occ("ChargePoint", 12, 4, 22),
        # Money in, bank and card fees
        _m(
            "Stripe",
            Frequent(5, 1800, 14500, 0.0),
            ACH,
            inflow=True,
            coding="revenue",
            vendor=True,
            accounts=("checking",),
            templates=_STRIPE_PAYOUT,
        ),
        usage(
            "Stripe",
            3,
            monthly(186.00),
            0.25,
            templates=("STRIPE BILLING {ref} STRIPE.COM CA", "STRIPE {ref} SOUTH SAN FRANCA"),
        ),
        _m(
            "CONTOSO WAREHOUSING",
            Occasional(8, 18000, 145000),
            ACH,
            known=False,
            inflow=True,
            coding="revenue",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "NORTHWIND LOGISTICS",
            Occasional(7, 22000, 120000),
            ACH,
            known=False,
            inflow=True,
            coding="revenue",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "FABRIKAM FOODS",
            Occasional(5, 15000, 90000),
            ACH,
            known=False,
            inflow=True,
            coding="revenue",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "SAVINGS INTEREST",
            Monthly(31, monthly(212.40), 0.3),
            ACH,
            known=False,
            inflow=True,
            coding="interest_income",
            names_company=False,
            accounts=("savings",),
            templates=("INTEREST PAYMENT", "INTEREST EARNED"),
        ),
        _m(
            "JPMorgan Chase",
            Monthly(28, monthly(95.00)),
            ACH,
            names_company=False,
            accounts=("checking",),
            templates=("MONTHLY SERVICE FEE",),
        ),
        _m(
            "JPMorgan Chase",
            Occasional(18, 25, 45),
            ACH,
            names_company=False,
            accounts=("checking",),
            templates=("DOMESTIC WIRE FEE", "ONLINE DOMESTIC WIRE FEE"),
        ),
        _m(
            "American Express",
            Annual(1, 10, 695.00),
            ONLINE,
            names_company=False,
            accounts=("amex",),
            templates=("ANNUAL MEMBERSHIP FEE",),
        ),
    ),
)

GLOBEX = TenantSpec(
    id="globex",
    name="Globex Coffee Roasters",
    legal_name="Globex Coffee Roasters LLC",
    industry="Specialty coffee roasting, wholesale and retail cafe",
    contact_email="books@example.com",
    fiscal_year_start=1,
    payee="GLOBEX COFFEE ROASTE",
    home=(
        ("SEATTLE", "WA"),
        ("SEATTLE", "WA"),
        ("SEATTLE", "WA"),
        ("TUKWILA", "WA"),
        ("BELLEVUE", "WA"),
        ("RENTON", "WA"),
        ("KIRKLAND", "WA"),
        ("TACOMA", "WA"),
    ),
    travel=(
        ("PORTLAND", "OR"),
        ("SAN FRANCISCO", "CA"),
        ("LOS ANGELES", "CA"),
        ("VANCOUVER", "BC"),
        ("HOUSTON", "TX"),
        ("BOSTON", "MA"),
    ),
    principals=(
        PrincipalSpec("owner", "Elena Marsh", "elena.marsh@example.com"),
        PrincipalSpec("accountant", "Sam Whitfield", "sam.whitfield@example.com"),
        PrincipalSpec("viewer", "Tomas Okafor", "tomas.okafor@example.com"),
        PrincipalSpec("service", "Globex ledgerd service", "ledgerd+globex@example.com"),
    ),
    chart=_chart(
        """
        10100 | BofA Business Checking ..2210 | asset | cash
        10200 | BofA Business Savings ..2288 | asset | cash
        11000 | Accounts Receivable - Wholesale | asset | accounts_receivable
        13000 | Prepaid Expenses | asset | prepaid_expenses
        15000 | Roasting and Cafe Equipment | asset | fixed_assets
        20000 | Accounts Payable | liability | accounts_payable
        21000 | Amex Blue Business ..3007 | liability | credit_cards
        21100 | Capital One Spark ..8841 | liability | credit_cards
        22000 | Payroll Liabilities | liability | payroll_liabilities
        25000 | Roaster Equipment Loan | liability | loans
        30000 | Members' Equity | equity | owner_equity
        32000 | Retained Earnings | equity | retained_earnings
        40000 | Wholesale Coffee Sales | income | revenue
        40100 | Cafe Sales | income | revenue
        40200 | Online Store Sales | income | revenue
        48000 | Interest Income | income | interest_income
        50000 | Green Coffee | expense | cost_of_goods_sold
        50100 | Packaging | expense | cost_of_goods_sold
        50200 | Milk, Syrups and Cafe Supplies | expense | cost_of_goods_sold
        60000 | Marketing | expense | advertising
        60500 | Merchant Processing Fees | expense | bank_fees
        61000 | Software Subscriptions | expense | software
        61100 | Website and Hosting | expense | cloud_hosting
        62000 | Contract Labor | expense | contractors
        62500 | Small Equipment and Computers | expense | equipment
        63000 | Insurance | expense | insurance
        64000 | Meals | expense | meals
        64500 | Office and Cafe Supplies | expense | office_supplies
        65000 | Wages | expense | payroll
        65100 | Payroll Taxes and Benefits | expense | payroll
        66000 | Professional Fees | expense | professional_services
        67000 | Roastery Lease | expense | rent
        67500 | Freight and Shipping | expense | shipping
        68000 | Licenses and Permits | expense | taxes
        68500 | Phone and Internet | expense | telecom
        69000 | Training | expense | training
        69500 | Travel | expense | travel
        69600 | Utilities | expense | utilities
        69700 | Delivery Van | expense | vehicle
        69900 | Other Expenses | expense | other_expense
        """
    ),
    bank_accounts=(
        BankAccount("checking", "bofa-checking-2210", "checking", "2210", "10100"),
        BankAccount("savings", "bofa-savings-2288", "savings", "2288", "10200"),
        BankAccount("amex", "amex-blue-business-3007", "card", "3007", "21000", "American Express"),
        BankAccount("ink", "capital-one-spark-8841", "card", "8841", "21100", "Capital One"),
    ),
    category_accounts={"revenue": "40100", "payroll": "65000", "cost_of_goods_sold": "50200"},
    merchants=(
        # Software and online sales channels
        sub("Shopify", 6, monthly(399.00)),
        sub(
            "Square",
            3,
            monthly(69.00),
            templates=("SQ *SQUARE SOFTWARE {ref}", "SQUARE INC* {ref} SQUAREUP.COM CA"),
        ),
        sub("Intuit", 10, monthly(200.00)),
        sub("Google", 1, ramp(84.00, 112.00)),
        sub("Microsoft", 4, monthly(39.60)),
        sub("Slack Technologies", 3, monthly(87.50)),
        sub("Zoom Communications", 14, monthly(15.99)),
        sub("Dropbox", 20, monthly(24.00)),
        sub("Canva", 22, monthly(14.99)),
        sub("Adobe", 19, monthly(89.99)),
        sub("1Password", 6, monthly(19.95)),
        sub("Calendly", 26, monthly(16.00)),
        sub("Airtable", 11, monthly(60.00)),
        sub("Notion Labs", 9, monthly(40.00)),
        sub("DocuSign", 21, monthly(25.00)),
        sub("Expensify", 13, monthly(45.00)),
        sub("BILL", 8, monthly(79.00), style=ACH),
        sub("Avalara", 15, monthly(50.00)),
        sub("Vimeo", 23, monthly(20.00)),
        sub("Typeform", 27, monthly(29.00)),
        sub("Grammarly", 28, monthly(12.00)),
        sub("Zapier", 17, monthly(29.99)),
        yearly("GoDaddy", 4, 2, 59.98),
        # Marketing
        sub("Mailchimp", 12, monthly(350.00, 1, 8)),
        sub("Klaviyo", 12, ramp(400.00, 560.00, 9, 12)),
        sub("Hootsuite", 18, monthly(99.00, 1, 4)),
        usage("Google Ads", 1, quarterly(450, 520, 780, 1250), 0.1),
        usage("Meta Platforms", 1, quarterly(300, 350, 500, 900), 0.15),
        occ("Pinterest", 4, 80, 400),
        occ("Nextdoor", 3, 40, 250),
        sub("Yelp", 7, monthly(300.00)),
        occ("Vistaprint", 5, 35, 420),
        occ("Sticker Mule", 4, 60, 380),
        _m("Indeed", Occasional(4, 120, 600, (3, 8))),
        # Green coffee, dairy, packaging and cafe supplies
        usage(
            "Cafe Imports", 9, quarterly(9800, 10400, 19800, 22500), 0.08, style=ACH, vendor=True
        ),
        occ("Sweet Maria's", 6, 150, 900),
        weekly("Sysco", 1, 380, 1400, style=ACH),
        weekly("US Foods", 3, 260, 980, style=ACH),
        freq("Restaurant Depot", 2, 60, 690),
        occ("WebstaurantStore", 18, 45, 1200),
        occ("Chefs' Warehouse", 20, 120, 850, ACH),
        occ("Smart & Final", 8, 25, 240, LOCAL),
        freq("Costco Wholesale", 2.5, 40, 780, category="cost_of_goods_sold"),
        weekly("Oatly", 2, 180, 420),
        weekly("Califia Farms", 2, 90, 260),
        weekly("Clover Sonoma", 1, 240, 620, style=ACH),
        weekly("Straus Family Creamery", 4, 180, 480, style=ACH),
        occ("Ghirardelli", 12, 90, 420),
        occ("Guittard Chocolate", 6, 120, 640),
        occ("Torani", 12, 60, 380),
        occ("Monin", 10, 55, 340),
        occ("Eco-Products", 14, 180, 960),
        freq("Uline", 1, 60, 1400, ONLINE, category="cost_of_goods_sold"),
        freq("Amazon", 6, 9, 380, ONLINE),
        occ(
            "RAINIER VALLEY PRINTING",
            6,
            120,
            900,
            LOCAL,
            known=False,
            category="cost_of_goods_sold",
        ),
        # Equipment
        yearly("La Marzocco", 5, 6, 21850.00),
        yearly("Probat", 8, 19, 6400.00, style=ACH),
        occ("Bunn", 3, 180, 2400),
        occ("Apple", 3, 129, 2499),
        occ("Best Buy", 4, 30, 900, LOCAL),
        occ("Dell Technologies", 1, 780, 1400),
        occ("HP", 3, 40, 450),
        occ("Harbor Freight Tools", 8, 10, 240, LOCAL),
        occ("Fluke", 1, 120, 480),
        occ("Grainger", 10, 40, 680),
        freq("The Home Depot", 1, 9, 380),
        occ("Lowe's", 10, 9, 260, LOCAL),
        occ("Logitech", 1, 40, 160),
        occ("B&H Photo", 2, 80, 900),
        occ("Samsung Electronics", 1, 300, 1100),
        freq("JOES HARDWARE", 0.8, 6, 160, known=False, category="office_supplies"),
        # Office
        occ("Staples", 10, 9, 160, LOCAL),
        occ("Office Depot", 8, 9, 140, LOCAL),
        occ("Target", 10, 10, 120, LOCAL),
        occ("Walmart", 8, 10, 110, LOCAL),
        occ("Walgreens", 6, 5, 40, LOCAL),
        occ("IKEA", 2, 80, 900, LOCAL),
        sub("Cintas", 8, monthly(186.40), style=ACH),
        occ("Wayfair", 2, 90, 700),
        # Shipping
        freq("UPS", 6, 9, 160, ONLINE),
        freq("USPS", 6, 4.5, 65, LOCAL),
        freq("FedEx", 1, 12, 210, ONLINE),
        occ("DHL", 4, 40, 260),
        sub("ShipStation", 5, ramp(59.99, 159.99)),
        sub("Stamps.com", 5, monthly(19.99)),
        # Telecom, utilities
        sub("Comcast", 22, monthly(229.90)),
        sub("T-Mobile", 18, monthly(210.00)),
        sub("Dialpad", 9, monthly(45.00)),
        _m(
            "Puget Sound Energy",
            Monthly(
                16,
                seasonal(2140, 2010, 1880, 1650, 1540, 1490, 1460, 1520, 1610, 1790, 1980, 2210),
                0.05,
            ),
            ACH,
        ),
        _m(
            "SEATTLE CITY LIGHT",
            Monthly(20, seasonal(820, 790, 740, 690, 650, 640, 660, 670, 680, 720, 780, 840), 0.05),
            ACH,
            known=False,
            category="utilities",
            vendor=True,
        ),
        sub(
            "SEATTLE PUBLIC UTILITIES",
            24,
            monthly(268.00),
            style=ACH,
            known=False,
            category="utilities",
        ),
        sub("Republic Services", 12, monthly(412.00), style=ACH),
        # Insurance and benefits
        sub("The Hartford", 5, monthly(486.00), style=ACH),
        sub("State Farm", 10, monthly(212.00), style=ACH),
        yearly("Hiscox", 3, 5, 1380.00),
        sub("Kaiser Permanente", 1, quarterly(5800, 6300, 6300, 6900), style=ACH),
        sub("Guardian Life", 1, monthly(610.00), style=ACH),
        sub(
            "Principal Financial Group",
            20,
            quarterly(1800, 2000, 2000, 2250),
            style=ACH,
            category="payroll",
        ),
        # Payroll
        _m(
            "Gusto",
            SemiMonthly(quarterly(24200, 26500, 26500, 29800)),
            ACH,
            templates=_GUSTO_NET,
            vendor=True,
        ),
        _m(
            "Gusto",
            SemiMonthly(quarterly(8700, 9600, 9600, 10900)),
            ACH,
            templates=_GUSTO_TAX,
            vendor=True,
        ),
        _m("Gusto", Monthly(1, ramp(194.00, 230.00)), ACH, templates=_GUSTO_FEE, vendor=True),
        # Professional services, rent, contractors
        yearly("LegalZoom", 2, 5, 299.00),
        sub(
            "EMERALD CITY CPA",
            15,
            monthly(650.00),
            style=ACH,
            known=False,
            category="professional_services",
        ),
        sub("Prologis", 1, monthly(14800.00), style=ACH, vendor=True),
        sub("Public Storage", 1, monthly(189.00)),
        occ("Upwork", 10, 150, 1400),
        occ("Fiverr", 6, 45, 380),
        occ("TaskRabbit", 6, 80, 260),
        occ("Thumbtack", 3, 120, 900),
        occ("Angi", 2, 150, 1200),
        # Training
        occ("Udemy", 4, 13, 85),
        yearly("MasterClass", 3, 3, 120.00),
        occ("Eventbrite", 10, 25, 450),
        occ("Barnes & Noble", 5, 15, 60, LOCAL),
        yearly("Skillshare", 1, 18, 168.00),
        occ("Coursera", 2, 49, 399),
        # Travel
        occ("Alaska Airlines", 14, 99, 420),
        occ("Delta Air Lines", 6, 180, 620),
        occ("Southwest Airlines", 4, 98, 320),
        occ("United Airlines", 3, 220, 640),
        occ("Air Canada", 2, 160, 480),
        occ("JetBlue", 2, 180, 520),
        occ("Hilton", 6, 160, 920, LOCAL),
        occ("Marriott International", 6, 180, 1100, LOCAL),
        occ("Hyatt", 3, 190, 900, LOCAL),
        occ("Airbnb", 3, 300, 1400),
        occ("Booking.com", 2, 150, 600),
        occ("Hertz", 3, 120, 480, LOCAL),
        occ("Enterprise Rent-A-Car", 4, 90, 420, LOCAL),
        occ("Avis", 2, 110, 390, LOCAL),
        occ("Amtrak", 6, 38, 110),
        occ("Expedia", 2, 140, 640),
        freq("Uber", 5, 9, 62, vendor=False),
        freq("Lyft", 3, 8, 48),
        # Meals
        freq("Starbucks", 6, 3.5, 22, vendor=False),
        occ("Blue Bottle Coffee", 6, 5, 20, RESTAURANT),
        occ("Peet's Coffee", 4, 4, 18, LOCAL),
        occ("Tim Hortons", 3, 3, 16, LOCAL),
        freq("Chipotle Mexican Grill", 1.5, 11, 58),
        freq("DoorDash", 3, 18, 140, ONLINE),
        freq("Uber Eats", 1.5, 16, 120, ONLINE),
        occ("Shake Shack", 4, 12, 60, RESTAURANT),
        freq("McDonald's", 0.6, 6, 24),
        freq("Taco Bell", 0.5, 7, 26),
        freq("Domino's", 0.5, 20, 80, ONLINE),
        occ("Pizza Hut", 6, 18, 70, ONLINE),
        occ("Five Guys", 6, 12, 45),
        freq("Jersey Mike's", 0.6, 10, 48),
        occ("Panda Express", 8, 9, 38),
        occ("Chick-fil-A", 8, 9, 42),
        freq("7-Eleven", 1.5, 3, 20),
        freq("Whole Foods Market", 2.5, 12, 180),
        freq("Trader Joe's", 1, 12, 140),
        freq("Safeway", 1, 9, 160),
        occ("Instacart", 10, 40, 260),
        occ("ezCater", 6, 180, 900),
        occ("Sweetgreen", 8, 12, 45, RESTAURANT),
        occ("Cava", 6, 12, 40, RESTAURANT),
        occ("Dunkin'", 2, 3, 14, LOCAL),
        freq("EASTLAKE BAKERY", 4, 6, 48, RESTAURANT, known=False, category="meals"),
        freq("PIKE ST NOODLE HOUSE", 1, 12, 64, RESTAURANT, known=False, category="meals"),
        # Vehicle
        freq("Shell", 3, 45, 120),
        freq("Chevron", 3, 48, 130),
        freq("Circle K", 1, 35, 95),
        freq("Phillips 66", 0.5, 40, 110),
        occ("Les Schwab", 3, 140, 980, LOCAL),
        occ("Jiffy Lube", 4, 69, 160, LOCAL),
        occ("AutoZone", 8, 12, 240, LOCAL),
        freq("ParkMobile", 4, 2.5, 24, ONLINE),
        occ("SpotHero", 6, 12, 40),
        # Money in, bank and card fees
        _m(
            "Square",
            Frequent(6, 650, 3400, 0.8),
            ACH,
            inflow=True,
            coding="revenue",
            vendor=True,
            accounts=("checking",),
            templates=(
                "SQUARE INC DES:SQ{yymmdd} ID:T3{ref} INDN:{payee} CO ID:{coid} CCD",
                "SQUARE INC SQ{yymmdd} {ref}",
            ),
        ),
        _m(
            "Shopify",
            Frequent(2, 300, 2500, 0.0),
            ACH,
            inflow=True,
            coding="40200",
            accounts=("checking",),
            templates=(
                "SHOPIFY DES:TRANSFER ID:ST-{ref} INDN:{payee} CO ID:{coid} CCD",
                "SHOPIFY PAYMENTS TRANSFER ST-{ref}",
            ),
        ),
        _m(
            "PayPal",
            Occasional(10, 120, 1800),
            ACH,
            inflow=True,
            coding="revenue",
            accounts=("checking",),
            templates=(
                "PAYPAL DES:TRANSFER ID:{ref} INDN:{payee} CO ID:{coid} PPD",
                "PAYPAL TRANSFER {ref}",
            ),
        ),
        _m(
            "NORTHWIND CAFE",
            Occasional(18, 900, 6400),
            ACH,
            known=False,
            inflow=True,
            coding="40000",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "FABRIKAM GROCERY",
            Occasional(14, 1500, 9200),
            ACH,
            known=False,
            inflow=True,
            coding="40000",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "TAILSPIN BAGELS",
            Occasional(12, 400, 2600),
            ACH,
            known=False,
            inflow=True,
            coding="40000",
            names_company=False,
            accounts=("checking",),
        ),
        _m(
            "SAVINGS INTEREST",
            Monthly(31, monthly(38.20), 0.3),
            ACH,
            known=False,
            inflow=True,
            coding="interest_income",
            names_company=False,
            accounts=("savings",),
            templates=("INTEREST PAYMENT", "INTEREST EARNED"),
        ),
        _m(
            "Bank of America",
            Monthly(28, monthly(29.95)),
            ACH,
            names_company=False,
            accounts=("checking",),
            templates=("MONTHLY MAINTENANCE FEE",),
        ),
        _m(
            "Bank of America",
            Occasional(6, 15, 30),
            ACH,
            names_company=False,
            accounts=("checking",),
            templates=("WIRE TRANSFER FEE", "STOP PAYMENT FEE"),
        ),
    ),
)

TENANTS: tuple[TenantSpec, ...] = (ACME, GLOBEX)
