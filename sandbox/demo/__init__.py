"""A believable, reproducible demo world for the sandbox.

Ops, finance and managers judge the product by what they see in a demo, and the income
detector and ownership matcher are tested against the truth planted here, so the data has to
look like real bank data: payroll that lands on the previous business day when payday is a
holiday, owners written "SMITH, JOHN" by one bank and "John A Smith" by another, a few
accounts that belong to somebody else, stale balances, microdeposits that time out.

Everything is derived from the seed through per-customer and per-account sub-seeds (never the
global RNG or ``hash()``), so one seed and one ``now`` always give the same world, and customer
``i`` does not depend on how many customers were asked for. Transactions are expensive (a
year of them per account), so :func:`generate` only plants a per-account ``txn_seed`` and the
income truth; :func:`transactions_for` / :func:`ledger` build the history on demand.
"""

from __future__ import annotations

import hashlib
import math
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

from sandbox.demo.dynamic import add_dynamic_payment_methods
from sandbox.demo.model import (
    Cadence,
    DemoAccount,
    DemoCustomer,
    DemoIncome,
    DemoInstitution,
    DemoIntent,
    DemoOwner,
    DemoTransaction,
    DemoWorld,
    IntentOutcome,
    OwnershipTruth,
    VerificationMethod,
)
from services.calendar import is_business_day, on_or_before_business_day

__all__ = [
    "HISTORY_DAYS",
    "INTENT_WINDOW_DAYS",
    "Ledger",
    "PayStream",
    "generate",
    "institutions",
    "ledger",
    "pay_streams",
    "transactions_for",
]

T = TypeVar("T")

MINUTE = 60
HOUR = 3_600
DAY = 86_400
HISTORY_DAYS = 365  # transactions cover a year back from `now`
INTENT_WINDOW_DAYS = 90  # intents are created within this many days before `now`
MAX_BALANCE = 2_500_000  # $25,000: balances stay in a range a demo viewer finds plausible


# --------------------------------------------------------------------------------------------
# Seeds and small random helpers
# --------------------------------------------------------------------------------------------


def _sub_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (``hash()`` is salted per process, so never that)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _unit(*parts: object) -> float:
    """A stable number in [0, 1) for one decision (e.g. "is this payday missed?")."""
    return _sub_seed(*parts) / float(1 << 63)


def _weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    total = sum(weight for _, weight in options)
    pick = rng.random() * total
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


_NOT_DECOMPOSABLE = str.maketrans(
    {"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae"}
)


def _ascii(text: str) -> str:
    """Banks and email addresses drop accents: "José Núñez" → "Jose Nunez"."""
    folded = unicodedata.normalize("NFKD", text.translate(_NOT_DECOMPOSABLE))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _date_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _last_day_of_month(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _aba(prefix8: str) -> str:
    """Append the ABA check digit: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    d = [int(c) for c in prefix8]
    partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return prefix8 + str((10 - partial % 10) % 10)


# --------------------------------------------------------------------------------------------
# Institutions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bank:
    institution: DemoInstitution
    weight: float  # share of linked accounts
    only_current: bool  # the bank reports `current` but no `cash.available`
    card_prefix: str  # how this bank prints debit-card purchases
    short: str  # how other banks print transfers to/from it


_BANKS: tuple[_Bank, ...] = (
    _Bank(DemoInstitution("First Harbor Bank", _aba("02100008")), 17, False, "POS PURCHASE ", "FIRST HARBOR"),
    _Bank(DemoInstitution("Summit Credit Union", _aba("32227164")), 13, True, "DEBIT CARD ", "SUMMIT CU"),
    _Bank(
        DemoInstitution("Great Lakes Savings", _aba("07200091"), refresh_fails=True),
        10, False, "CHECKCARD ", "GREAT LAKES SVG",
    ),
    _Bank(DemoInstitution("Pacific Coast Bank", _aba("12100024")), 14, False, "", "PACIFIC COAST BK"),
    _Bank(DemoInstitution("Evergreen Federal", _aba("25107312")), 11, True, "PURCHASE ", "EVERGREEN FED"),
    _Bank(DemoInstitution("StripeBank", "110000000"), 9, False, "", "STRIPEBANK"),
    _Bank(DemoInstitution("Test Institution", "110000000"), 7, False, "", "TEST INSTITUTION"),
    _Bank(DemoInstitution("Sandbox Bank (OAuth)", "110000000"), 7, False, "", "SANDBOX BANK"),
    _Bank(DemoInstitution("Ownership Accounts", "110000000"), 5, True, "", "OWNERSHIP ACCTS"),
    _Bank(
        DemoInstitution("Invalid Payment Accounts", "110000000", supports_payments=False),
        4, False, "", "INVALID PMT ACCTS",
    ),
    _Bank(
        DemoInstitution("Down Bank (Error)", "110000000", refresh_fails=True, link_fails=True),
        2, False, "", "DOWN BANK",
    ),
)  # fmt: skip
_BANK_BY_NAME = {bank.institution.name: bank for bank in _BANKS}
_DOWN_BANK = "Down Bank (Error)"


def institutions() -> list[DemoInstitution]:
    """The demo banks, fresh copies (callers may not mutate the module's own)."""
    return [
        DemoInstitution(
            name=b.institution.name,
            routing_number=b.institution.routing_number,
            refresh_fails=b.institution.refresh_fails,
            link_fails=b.institution.link_fails,
            supports_payments=b.institution.supports_payments,
        )
        for b in _BANKS
    ]


# Banks people type in when they enter account numbers by hand (no FC account behind them).
_MANUAL_BANKS = (
    "STRIPE TEST BANK",
    "Liberty Trust Bank",
    "Heartland Community Bank",
    "Bayview Credit Union",
    "Prairie State Bank",
    "Granite Mountain Bank",
    "First Harbor Bank",
    "Pacific Coast Bank",
)


# --------------------------------------------------------------------------------------------
# People, names and places
# --------------------------------------------------------------------------------------------

_CULTURES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # culture: (weight, masculine first names, feminine first names, last names)
    "anglo": (
        38,
        ("James", "Robert", "John", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
         "Christopher", "Daniel", "Matthew", "Anthony", "Andrew", "Joshua", "Kevin", "Brian",
         "Timothy", "Jonathan", "Benjamin", "Samuel", "Nicholas", "Alexander", "Tyler", "Ryan"),
        ("Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
         "Sarah", "Karen", "Emily", "Margaret", "Katherine", "Rebecca", "Samantha", "Victoria",
         "Ashley", "Hannah", "Megan", "Olivia", "Abigail", "Madison", "Lauren", "Rachel"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
         "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
         "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
         "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Campbell",
         "Parker", "Evans", "Edwards", "Collins", "Stewart", "Murphy", "Cook", "Rogers",
         "O'Brien", "McCarthy", "Sullivan", "Bennett", "Hughes", "Foster", "Brooks"),
    ),
    "hispanic": (
        19,
        ("José", "Juan", "Luis", "Carlos", "Miguel", "Alejandro", "Francisco", "Javier", "Diego",
         "Andrés", "Jesús", "Guillermo", "Rafael", "Sebastián", "Mateo", "Santiago"),
        ("María", "Guadalupe", "Sofía", "Isabella", "Valentina", "Camila", "Lucía", "Ana",
         "Gabriela", "Daniela", "Mariana", "Ximena", "Rocío", "Carmen", "Elena"),
        ("García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
         "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales", "Reyes", "Cruz",
         "Ortiz", "Gutiérrez", "Chávez", "Ramos", "Vargas", "Castillo", "Jiménez",
         "García López", "De la Cruz", "Núñez", "Peña"),
    ),
    "african": (
        9,
        ("DeShawn", "Jamal", "Malik", "Terrence", "Darnell", "Marcus", "Kwame", "Chidi",
         "Oluwaseun", "Tyrone", "Andre", "Jerome"),
        ("Aaliyah", "Imani", "Keisha", "Latoya", "Ebony", "Amara", "Ngozi", "Adaeze", "Tanisha",
         "Jasmine", "Nia", "Zuri"),
        ("Washington", "Jefferson", "Okafor", "Mensah", "Adeyemi", "Okonkwo", "Banks", "Freeman",
         "Diallo", "Asante", "Robinson", "Coleman", "Jenkins", "Owusu", "Mbatha"),
    ),
    "chinese": (
        5,
        ("Wei", "Jun", "Hao", "Lei", "Ming", "Jian", "Tao", "Bo"),
        ("Mei", "Li", "Xiu", "Ying", "Fang", "Lan", "Jing", "Yan"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin"),
    ),
    "south_asian": (
        6,
        ("Arjun", "Rahul", "Vikram", "Aditya", "Rohan", "Sanjay", "Amit", "Karthik", "Ravi"),
        ("Priya", "Ananya", "Divya", "Kavya", "Neha", "Pooja", "Aishwarya", "Lakshmi", "Meera"),
        ("Patel", "Shah", "Sharma", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Desai", "Mehta",
         "Chatterjee", "Krishnan", "Nair", "Rao"),
    ),
    "vietnamese": (
        3,
        ("Minh", "Duc", "Tuan", "Huy", "Khoa", "Long"),
        ("Linh", "Thao", "Trang", "Ngoc", "Huong", "Mai"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng"),
    ),
    "korean": (
        3,
        ("Min-jun", "Ji-hoon", "Seo-jun", "Dong-hyun", "Jae-won"),
        ("Ji-woo", "Seo-yeon", "Ha-eun", "Soo-ah", "Min-ji"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
    ),
    "japanese": (
        2,
        ("Haruto", "Kenji", "Takashi", "Hiroshi", "Sora"),
        ("Yuki", "Aiko", "Haruka", "Sakura", "Emi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Yamamoto", "Nakamura"),
    ),
    "arabic": (
        4,
        ("Mohammed", "Ahmed", "Omar", "Yusuf", "Khalid", "Hassan", "Ali", "Karim", "Tariq"),
        ("Fatima", "Aisha", "Layla", "Mariam", "Noor", "Zainab", "Yasmin", "Huda"),
        ("Haddad", "Khan", "Hassan", "Abdullah", "Saleh", "Nasser", "Farah", "Mansour",
         "El-Amin", "Khoury"),
    ),
    "slavic": (
        5,
        ("Dmitri", "Aleksandr", "Ivan", "Sergei", "Pavel", "Tomasz", "Piotr", "Andrei"),
        ("Anastasia", "Ekaterina", "Olga", "Natalia", "Agnieszka", "Irina", "Svetlana"),
        ("Ivanov", "Petrov", "Smirnov", "Kowalski", "Nowak", "Novak", "Volkov", "Wiśniewski",
         "Kuznetsov", "Horvat"),
    ),
    "european": (
        4,
        ("Lukas", "Matteo", "Luca", "Pierre", "Hans", "Søren", "François", "Giovanni", "Lars"),
        ("Sophie", "Chloé", "Giulia", "Ingrid", "Zoë", "Elena", "Francesca", "Astrid"),
        ("Müller", "Schmidt", "Rossi", "Russo", "Bianchi", "Dubois", "Lefèvre", "Jensen",
         "Nielsen", "Andersson", "van der Berg", "O'Connor", "Fischer"),
    ),
}  # fmt: skip
_CULTURE_WEIGHTS = tuple((name, spec[0]) for name, spec in _CULTURES.items())

_NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "James": ("Jim", "Jimmy"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike",),
    "Richard": ("Rick", "Rich"),
    "Joseph": ("Joe",),
    "Thomas": ("Tom",),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Timothy": ("Tim",),
    "Jonathan": ("Jon",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Nicholas": ("Nick",),
    "Alexander": ("Alex",),
    "Patricia": ("Pat", "Trish"),
    "Jennifer": ("Jen", "Jenny"),
    "Elizabeth": ("Liz", "Beth", "Betsy"),
    "Barbara": ("Barb",),
    "Susan": ("Sue",),
    "Jessica": ("Jess",),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Margaret": ("Maggie", "Peggy"),
    "Rebecca": ("Becky",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"),
    "Abigail": ("Abby",),
    "Francisco": ("Paco", "Frank"),
    "José": ("Pepe",),
    "Alejandro": ("Alex",),
    "Guillermo": ("Memo",),
    "Jesús": ("Chuy",),
    "Guadalupe": ("Lupe",),
    "Dmitri": ("Dima",),
    "Aleksandr": ("Sasha",),
    "Ekaterina": ("Katya",),
    "Anastasia": ("Nastya",),
    "Mohammed": ("Mo",),
    "Giovanni": ("Gianni",),
    "Oluwaseun": ("Seun",),
}

_BUSINESS_FIRST = (
    "Acme", "Blue Ridge", "Summit Peak", "Harborview", "Redwood", "Lakeside", "Pioneer",
    "Golden Gate", "Maple Leaf", "Silverline", "Northstar", "Brightpath", "Cedar Hollow",
    "Ironwood", "Riverbend", "Sunrise", "Keystone", "Copperleaf", "Bluebird", "Tall Pines",
)  # fmt: skip
_BUSINESS_KIND = (
    "Widgets", "Landscaping", "Dental Group", "Plumbing", "Bakery", "Fitness", "Consulting",
    "Auto Repair", "Property Management", "Coffee Roasters", "Veterinary Clinic", "Print Shop",
    "Logistics", "Pet Grooming", "Yoga Studio", "Electric", "Roofing", "Catering",
    "Design Studio", "Hardware",
)  # fmt: skip
_BUSINESS_SUFFIX = (("LLC", 50), ("Inc.", 25), ("Co.", 10), ("Corp.", 5), ("", 10))

_CITIES = (
    ("San Francisco", "CA", "94103"), ("Oakland", "CA", "94612"), ("Los Angeles", "CA", "90026"),
    ("San Diego", "CA", "92104"), ("Sacramento", "CA", "95816"), ("Portland", "OR", "97214"),
    ("Seattle", "WA", "98122"), ("Spokane", "WA", "99201"), ("Boise", "ID", "83702"),
    ("Phoenix", "AZ", "85004"), ("Tucson", "AZ", "85719"), ("Las Vegas", "NV", "89101"),
    ("Salt Lake City", "UT", "84111"), ("Denver", "CO", "80206"), ("Albuquerque", "NM", "87102"),
    ("Austin", "TX", "78704"), ("Houston", "TX", "77006"), ("Dallas", "TX", "75204"),
    ("San Antonio", "TX", "78212"), ("El Paso", "TX", "79902"), ("Oklahoma City", "OK", "73102"),
    ("Kansas City", "MO", "64111"), ("St. Louis", "MO", "63104"), ("Omaha", "NE", "68102"),
    ("Minneapolis", "MN", "55408"), ("Milwaukee", "WI", "53202"), ("Chicago", "IL", "60614"),
    ("Detroit", "MI", "48201"), ("Grand Rapids", "MI", "49503"), ("Columbus", "OH", "43215"),
    ("Cleveland", "OH", "44113"), ("Indianapolis", "IN", "46204"), ("Louisville", "KY", "40204"),
    ("Nashville", "TN", "37203"), ("Memphis", "TN", "38104"), ("Atlanta", "GA", "30308"),
    ("Charlotte", "NC", "28202"), ("Raleigh", "NC", "27601"), ("Miami", "FL", "33130"),
    ("Orlando", "FL", "32801"), ("Tampa", "FL", "33602"), ("New Orleans", "LA", "70115"),
    ("Birmingham", "AL", "35203"), ("Richmond", "VA", "23220"), ("Washington", "DC", "20009"),
    ("Baltimore", "MD", "21201"), ("Philadelphia", "PA", "19103"), ("Pittsburgh", "PA", "15222"),
    ("Newark", "NJ", "07102"), ("Brooklyn", "NY", "11215"), ("Buffalo", "NY", "14201"),
    ("Boston", "MA", "02116"), ("Providence", "RI", "02903"), ("Hartford", "CT", "06103"),
    ("Burlington", "VT", "05401"), ("Portland", "ME", "04101"), ("Honolulu", "HI", "96813"),
    ("Anchorage", "AK", "99501"),
)  # fmt: skip
_STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Highland", "Jefferson", "Lincoln", "Madison", "Franklin", "Church", "Willow",
    "Meadow", "River", "Spring", "Valley", "Forest", "Ridge", "Mission", "Market", "Chestnut",
    "Walnut", "Cherry", "Magnolia", "Dogwood", "Laurel", "Grant", "Jackson", "Adams",
    "Townsend", "Harbor", "Prospect", "Summit", "Orchard",
)  # fmt: skip
_STREET_SUFFIX = ("St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Way", "Ct", "Pl", "Ter")
_EMAIL_DOMAINS = (
    ("gmail.com", 46), ("yahoo.com", 12), ("outlook.com", 10), ("icloud.com", 10),
    ("hotmail.com", 6), ("aol.com", 3), ("proton.me", 3), ("comcast.net", 3), ("att.net", 2),
    ("me.com", 2), ("msn.com", 2), ("live.com", 1),
)  # fmt: skip


@dataclass(frozen=True)
class _Person:
    first: str  # as the person gives it to the merchant (may be a nickname)
    last: str
    formal_first: str  # the legal first name a bank would print
    middle_initial: str
    suffix: str  # "", "Jr.", "Sr.", "III"
    culture: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first, self.last, self.suffix) if p)


def _person(rng: random.Random, *, culture: str | None = None, last: str | None = None) -> _Person:
    culture = culture or _weighted(rng, _CULTURE_WEIGHTS)
    _, masculine, feminine, lasts = _CULTURES[culture]
    formal = rng.choice(masculine if rng.random() < 0.5 else feminine)
    first = formal
    if formal in _NICKNAMES and rng.random() < 0.25:
        first = rng.choice(_NICKNAMES[formal])  # signs up as "Bob", the bank knows "Robert"
    suffix = (
        _weighted(rng, (("", 95), ("Jr.", 3), ("Sr.", 1), ("III", 1))) if culture == "anglo" else ""
    )
    return _Person(
        first=first,
        last=last or rng.choice(lasts),
        formal_first=formal,
        middle_initial=chr(ord("A") + rng.randrange(26)),
        suffix=suffix,
        culture=culture,
    )


def _email_local(rng: random.Random, person: _Person) -> str:
    first = _ascii(person.first).lower().replace("'", "").replace(" ", "")
    last = _ascii(person.last).lower().replace("'", "").replace(" ", "").replace("-", "")
    year = str(rng.randrange(60, 105) % 100).zfill(2)
    pattern = _weighted(
        rng,
        (
            (f"{first}.{last}", 30), (f"{first}{last}", 15), (f"{first[0]}{last}", 15),
            (f"{first}.{last}{rng.randrange(1, 99)}", 10), (f"{first}_{last}", 6),
            (f"{last}.{first}", 6), (f"{first}{year}", 8), (f"{first[0]}.{last}", 5),
            (f"{last}{first[0]}{rng.randrange(1, 9)}", 5),
        ),
    )  # fmt: skip
    return pattern


def _phone(rng: random.Random) -> str:
    """Owner-style phone, like Stripe's own examples: "+1 555-555-5555"."""
    return f"+1 555-{rng.randrange(200, 1000)}-{rng.randrange(10_000):04d}"


def _address(rng: random.Random, *, business: bool = False) -> dict:
    city, state, postal = rng.choice(_CITIES)
    number = rng.randrange(10, 9_999) if rng.random() < 0.9 else rng.randrange(10_000, 40_000)
    line1 = f"{number} {rng.choice(_STREETS)} {rng.choice(_STREET_SUFFIX)}"
    line2: str | None = None
    roll = rng.random()
    if business and roll < 0.4:
        line2 = f"Suite {rng.randrange(100, 900)}"
    elif not business and roll < 0.22:
        line2 = rng.choice(
            (f"Apt {rng.randrange(1, 40)}{rng.choice('ABCD')}", f"Unit {rng.randrange(1, 300)}")
        )
    return {
        "line1": line1,
        "line2": line2,
        "city": city,
        "state": state,
        "postal_code": postal,
        "country": "US",
    }


def _raw_address(address: dict, *, upper: bool) -> str:
    """Banks give owner addresses as one unparsed string (reference §2.2)."""
    street = address["line1"] + (f" {address['line2']}" if address["line2"] else "")
    text = f"{street} {address['city']}, {address['state']} {address['postal_code']}"
    return _ascii(text).upper() if upper else text


# --------------------------------------------------------------------------------------------
# Owners (truth for the ownership matcher)
# --------------------------------------------------------------------------------------------


def _variant_name(rng: random.Random, person: _Person) -> tuple[str, str]:
    """The customer as some bank writes them, never identical to the customer's name."""
    first, last = person.formal_first, person.last
    options: list[tuple[str, float]] = [
        ("upper", 24), ("last_first", 18), ("initials", 12), ("middle_initial", 16),
    ]  # fmt: skip
    if person.first != person.formal_first:
        options.append(("formal", 40))
    elif first in _NICKNAMES:
        options.append(("nickname", 12))
    options.append(("suffix", 10 if person.suffix else 4))
    kind = _weighted(rng, options)
    given = person.first if kind in ("upper", "last_first", "initials") else first
    if kind == "upper":
        name = _ascii(person.name).upper()
        if name == person.name:  # already upper-case-proof (rare) -> write it last-first
            kind, name = "last_first", f"{last.upper()}, {given.upper()}"
    elif kind == "last_first":
        name = f"{_ascii(last).upper()}, {_ascii(given).upper()}"
        if rng.random() < 0.3:
            name = f"{last}, {given}"
    elif kind == "initials":
        name = f"{given[0]}. {last}" if rng.random() < 0.5 else f"{given[0]} {_ascii(last).upper()}"
    elif kind == "middle_initial":
        name = f"{first} {person.middle_initial} {last}"
        if rng.random() < 0.5:
            name = _ascii(f"{first} {person.middle_initial}. {last}").upper()
    elif kind == "formal":
        name = rng.choice((f"{first} {last}", _ascii(f"{first} {last}").upper()))
    elif kind == "nickname":
        name = f"{rng.choice(_NICKNAMES[first])} {last}"
    elif person.suffix:  # suffix dropped by the bank
        name = _ascii(f"{person.first} {last}").upper()
    else:  # suffix added by the bank
        name = _ascii(f"{first} {last} {rng.choice(('JR', 'SR', 'II'))}").upper()
    if name == person.name:
        name = f"{_ascii(last).upper()}, {_ascii(person.first).upper()}"
        kind = "last_first"
    return name, kind


def _owner_contact(
    rng: random.Random, owner: DemoOwner, *, email: str | None, phone: str | None, address: dict
) -> DemoOwner:
    """Only `name` is guaranteed; email/phone/address depend on the bank (reference §2.2)."""
    if email and rng.random() < 0.3:
        owner.email = email
    if phone and rng.random() < 0.35:
        owner.phone = phone
    if rng.random() < 0.5:
        owner.raw_address = _raw_address(address, upper=rng.random() < 0.5)
    return owner


def _individual_owners(
    rng: random.Random, person: _Person, customer: DemoCustomer
) -> tuple[list[DemoOwner], OwnershipTruth]:
    truth: OwnershipTruth = _weighted(
        rng, (("exact", 48), ("variant", 34), ("joint", 14), ("mismatch", 4))
    )
    phone = _owner_phone(customer.phone)

    def me() -> DemoOwner:
        if truth == "exact" or (truth == "joint" and rng.random() < 0.5):
            owner = DemoOwner(name=customer.name, is_customer=True, name_variant="exact")
        else:
            name, kind = _variant_name(rng, person)
            owner = DemoOwner(name=name, is_customer=True, name_variant=kind)
        return _owner_contact(
            rng, owner, email=customer.email, phone=phone, address=customer.address
        )

    if truth in ("exact", "variant"):
        return [me()], truth
    same_family = rng.random() < 0.7
    other = _person(rng, culture=person.culture, last=person.last if same_family else None)
    if truth == "mismatch":
        owner = DemoOwner(name=other.name, is_customer=False, name_variant="other_person")
        if rng.random() < 0.5:
            owner.name = _ascii(other.name).upper()
        other_email = f"{_email_local(rng, other)}@{_weighted(rng, _EMAIL_DOMAINS)}"
        return [
            _owner_contact(rng, owner, email=other_email, phone=_phone(rng), address=_address(rng))
        ], truth
    if rng.random() < 0.6:  # two owner records
        co = DemoOwner(name=other.name, is_customer=False, name_variant="co_owner")
        if rng.random() < 0.5:
            co.name = _ascii(co.name).upper()
        co = _owner_contact(rng, co, email=None, phone=_phone(rng), address=customer.address)
        return [me(), co], truth
    # one owner record holding both names, the way many banks print joint accounts
    mine = _ascii(f"{person.formal_first}").upper()
    theirs = _ascii(other.formal_first).upper()
    if same_family:
        text = rng.choice(
            (f"{mine} & {theirs} {_ascii(person.last).upper()}",
             f"{mine} {_ascii(person.last).upper()} AND {theirs} {_ascii(person.last).upper()}")
        )  # fmt: skip
    else:
        text = f"{mine} {_ascii(person.last).upper()} OR {theirs} {_ascii(other.last).upper()}"
    joint = DemoOwner(name=text, is_customer=True, name_variant="joint_string")
    return [_owner_contact(rng, joint, email=None, phone=phone, address=customer.address)], truth


def _business_owners(
    rng: random.Random, customer: DemoCustomer, principal: _Person
) -> tuple[list[DemoOwner], OwnershipTruth]:
    truth: OwnershipTruth = _weighted(
        rng, (("exact", 45), ("variant", 35), ("joint", 12), ("mismatch", 8))
    )
    legal = customer.name
    if truth == "mismatch":  # the owner's personal account got linked instead
        owner = DemoOwner(
            name=_ascii(principal.name).upper(), is_customer=False, name_variant="other_person"
        )
        return [owner], truth
    if truth == "variant":
        bare = legal.rsplit(" ", 1)[0] if legal.endswith(("LLC", "Inc.", "Co.", "Corp.")) else legal
        suffix = legal[len(bare) :].strip()
        dotted = "L.L.C." if suffix == "LLC" else suffix.rstrip(".").upper()
        name = rng.choice(
            (_ascii(legal).upper().replace(".", ""), _ascii(bare).upper(), f"{bare} {dotted}".strip(), f"{bare}, {suffix}".rstrip(", "))
        )  # fmt: skip
        if name == legal:
            name = legal.upper() + " "
            name = name.strip() if name.strip() != legal else f"THE {legal.upper()}"
        business = DemoOwner(name=name, is_customer=True, name_variant="business")
    else:
        business = DemoOwner(name=legal, is_customer=True, name_variant="exact")
    business = _owner_contact(
        rng, business, email=customer.email, phone=None, address=customer.address
    )
    if truth == "joint":
        co = DemoOwner(
            name=_ascii(principal.name).upper(), is_customer=False, name_variant="co_owner"
        )
        return [business, co], truth
    return [business], truth


# --------------------------------------------------------------------------------------------
# Income streams (planted truth) and their schedules
# --------------------------------------------------------------------------------------------

Rule = Literal[
    "weekly", "biweekly", "semimonthly_1_15", "semimonthly_15_last", "monthly_day",
    "monthly_last_business", "monthly_nth_wednesday", "irregular",
]  # fmt: skip

_EMPLOYERS = (
    "NORTHWIND TRADERS", "CONTOSO LTD", "GLOBEX CORP", "INITECH INC", "UMBRELLA HEALTH",
    "STARK LOGISTICS", "WAYNE ENTERPRISES", "HOOLI INC", "VANDELAY INDUSTRIES", "PIED PIPER",
    "BLUTH COMPANY", "DUNDER MIFFLIN", "TYRELL SYSTEMS", "SOYLENT FOODS", "MASSIVE DYNAMIC",
    "OCEANIC AIR", "CYBERDYNE", "WONKA CONFECTIONS", "GRINGOTTS HOLDINGS", "KRUSTY CO",
    "CITY OF SPRINGFIELD", "COUNTY SCHOOL DIST", "ST MARY MEDICAL CTR", "STATE UNIV PAYROLL",
)  # fmt: skip
_GIG_PAYERS = (
    "UBER USA 6787 EDI PAYMNT", "LYFT DRIVER PAYOUT", "DOORDASH INC DASHER", "UPWORK ESCROW INC",
    "ETSY INC PAYOUT", "INSTACART SHOPPER PAY", "FIVERR INTL PAYOUT", "TASKRABBIT PAYOUT",
)  # fmt: skip


@dataclass(frozen=True)
class PayStream:
    """One planted recurring deposit with the rule that dates it (richer than DemoIncome)."""

    description: str
    cadence: Cadence
    rule: Rule
    amount: int  # typical deposit, cents
    anchor: date  # a real payday (weekly/biweekly) — the schedule repeats from here
    day: int  # monthly_day: day of month; monthly_nth_wednesday: n
    key: int  # sub-seed for per-date decisions (missed, bonus, drift)
    hour_offset: int  # seconds after 10:00 UTC the bank posts it (same date in every US zone)
    per_day: float = 0.0  # irregular: chance of a payout on a given day


def _weekday_anchor(rng: random.Random, weekday: int, today: date) -> date:
    back = (today.weekday() - weekday) % 7 + 7 * rng.randrange(0, 2)
    return today - timedelta(days=back)


def _make_stream(
    rng: random.Random, *, seed: int, index: int, today: date, business: bool
) -> PayStream:
    key = _sub_seed(seed, "stream", index)
    offset = rng.randrange(0, 2 * HOUR)
    if business:
        if index == 0:
            anchor = _weekday_anchor(rng, rng.choice((0, 1)), today)
            amount = rng.randrange(60_000, 350_000)
            return PayStream(
                f"STRIPE TRANSFER ST-{rng.randrange(10**7):07d}",
                "weekly",
                "weekly",
                amount,
                anchor,
                0,
                key,
                offset,
            )
        client = rng.choice(_EMPLOYERS)
        return PayStream(
            f"ACH CREDIT {client} PAYMENT",
            "irregular",
            "irregular",
            rng.randrange(50_000, 300_000),
            today,
            0,
            key,
            offset,
            per_day=rng.uniform(0.05, 0.12),
        )
    kind = _weighted(rng, (("payroll", 80), ("gig", 9), ("ssa", 7), ("pension", 4)))
    if kind == "gig":
        payer = rng.choice(_GIG_PAYERS)
        return PayStream(
            payer,
            "irregular",
            "irregular",
            rng.randrange(8_000, 45_000),
            today,
            0,
            key,
            offset,
            per_day=rng.uniform(0.08, 0.3),
        )
    if kind == "ssa":
        amount = rng.randrange(110_000, 320_000)
        return PayStream(
            "SSA TREAS 310 XXSOC SEC",
            "monthly",
            "monthly_nth_wednesday",
            amount,
            today,
            rng.choice((2, 3, 4)),
            key,
            offset,
        )
    if kind == "pension":
        amount = rng.randrange(60_000, 280_000)
        name = rng.choice(("CALPERS RETIREMENT", "TEACHERS RETIREMENT SYS", "FIDELITY PENSION PMT"))
        return PayStream(name, "monthly", "monthly_day", amount, today, 1, key, offset)
    employer = rng.choice(_EMPLOYERS)
    description = _weighted(
        rng,
        (
            (f"{employer} PAYROLL", 35), (f"{employer} DIR DEP", 20),
            (f"ADP WAGE PAY {employer}", 12), (f"GUSTO PAY {employer}", 10),
            (f"PAYCHEX {employer} PAYROLL", 8), (f"{employer} DIRECT DEP PPD", 15),
        ),
    )  # fmt: skip
    rule: Rule = _weighted(
        rng,
        (("weekly", 12), ("biweekly", 46), ("semimonthly_1_15", 13), ("semimonthly_15_last", 13),
         ("monthly_day", 8), ("monthly_last_business", 8)),
    )  # fmt: skip
    annual = rng.lognormvariate(math.log(5_800_000), 0.45)  # take-home, cents per year
    annual = min(max(annual, 2_200_000), 18_000_000)
    per_year = {"weekly": 52, "biweekly": 26, "monthly_day": 12, "monthly_last_business": 12}.get(
        rule, 24
    )
    cadence: Cadence = {
        "weekly": "weekly",
        "biweekly": "biweekly",
        "semimonthly_1_15": "semimonthly",
        "semimonthly_15_last": "semimonthly",
    }.get(rule, "monthly")  # type: ignore[assignment]
    anchor = _weekday_anchor(rng, 4 if rng.random() < 0.85 else rng.choice((2, 3)), today)
    day = rng.choice((1, 1, 15, 25, 28))
    return PayStream(description, cadence, rule, int(annual / per_year), anchor, day, key, offset)


def pay_streams(account: DemoAccount, *, now: int) -> list[PayStream]:
    """The recurring deposits planted in this account (derived from ``txn_seed`` alone).

    Only checking accounts are paid into: individuals get payroll, gig payouts or benefits;
    companies get weekly Stripe payouts and irregular client payments.
    """
    if account.subcategory != "checking":
        return []
    rng = random.Random(_sub_seed(account.txn_seed, "incomes"))
    today = _date_of(now)
    business = account.account_holder_type == "company"
    if business:
        count = _weighted(rng, ((1, 55), (2, 35), (0, 10)))
        streams = [
            _make_stream(rng, seed=account.txn_seed, index=i, today=today, business=True)
            for i in range(count)
        ]
        if count == 1 and rng.random() < 0.3:
            streams = [
                _make_stream(rng, seed=account.txn_seed, index=1, today=today, business=True)
            ]
        return streams
    count = _weighted(rng, ((1, 64), (2, 14), (0, 22)))
    return [
        _make_stream(rng, seed=account.txn_seed, index=i, today=today, business=False)
        for i in range(count)
    ]


def _scheduled_dates(stream: PayStream, start: date, end: date) -> list[date]:
    """Paydays in [start, end], moved to the previous business day like real payroll."""
    dates: list[date] = []
    if stream.rule in ("weekly", "biweekly"):
        step = 7 if stream.rule == "weekly" else 14
        k = math.ceil((start - stream.anchor).days / step) - 1
        while True:
            payday = stream.anchor + timedelta(days=step * k)
            k += 1
            if payday > end + timedelta(days=3):
                break
            dates.append(on_or_before_business_day(payday))
    elif stream.rule == "irregular":
        d = start
        while d <= end:
            if is_business_day(d) and _unit(stream.key, "gig", d.toordinal()) < stream.per_day:
                dates.append(d)
            d += timedelta(days=1)
    else:
        year, month = start.year, start.month
        month -= 1  # a payday shifted back can fall into the previous month
        if month == 0:
            year, month = year - 1, 12
        while date(year, month, 1) <= end + timedelta(days=3):
            last = _last_day_of_month(year, month)
            nominal: list[date]
            if stream.rule == "semimonthly_1_15":
                nominal = [date(year, month, 1), date(year, month, 15)]
            elif stream.rule == "semimonthly_15_last":
                nominal = [date(year, month, 15), last]
            elif stream.rule == "monthly_day":
                nominal = [date(year, month, min(stream.day, last.day))]
            elif stream.rule == "monthly_last_business":
                nominal = [last]
            else:  # Social Security: 2nd/3rd/4th Wednesday by birthday
                first_wed = date(year, month, 1) + timedelta(
                    days=(2 - date(year, month, 1).weekday()) % 7
                )
                nominal = [first_wed + timedelta(days=7 * (stream.day - 1))]
            dates.extend(on_or_before_business_day(d) for d in nominal)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [d for d in dates if start <= d <= end]


def _deposits(stream: PayStream, *, start: date, now: int) -> list[tuple[int, int]]:
    """(timestamp, amount) of every deposit of ``stream`` from ``start`` up to ``now``.

    Missed paydays (rare) and bonuses are decided per date, so any window agrees with any
    other; nothing is ever missed in the last 45 days, so the truth's `last_date` is firm.
    """
    out: list[tuple[int, int]] = []
    recent = _date_of(now) - timedelta(days=45)
    for d in _scheduled_dates(stream, start, _date_of(now)):
        ts = _day_start(d) + 10 * HOUR + stream.hour_offset
        if ts > now:
            continue
        ordinal = d.toordinal()
        if d < recent and stream.rule != "irregular" and _unit(stream.key, "miss", ordinal) < 0.015:
            continue
        if stream.rule == "irregular":
            factor = 0.45 + 1.1 * _unit(stream.key, "amt", ordinal)
        else:
            factor = 1 + (_unit(stream.key, "amt", ordinal) - 0.5) * 0.03
            if _unit(stream.key, "bonus", ordinal) < 0.025:
                factor *= 1.6 + _unit(stream.key, "bonus-size", ordinal)
        out.append((ts, int(round(stream.amount * factor))))
    return out


def _income_truth(stream: PayStream, *, now: int) -> DemoIncome:
    deposits: list[tuple[int, int]] = []
    for lookback in (40, 120, HISTORY_DAYS):  # gig payouts: look back only as far as needed
        deposits = _deposits(stream, start=_date_of(now) - timedelta(days=lookback), now=now)
        if deposits:
            break
    last = _date_of(deposits[-1][0]).isoformat() if deposits else ""
    return DemoIncome(
        description=stream.description,
        cadence=stream.cadence,
        typical_amount=stream.amount,
        last_date=last,
    )


# --------------------------------------------------------------------------------------------
# Accounts and balances
# --------------------------------------------------------------------------------------------

_DISPLAY_NAMES = {
    ("individual", "checking"): (
        "Everyday Checking", "Total Checking", "Advantage Checking", "Premier Checking",
        "Free Checking", "Interest Checking", "Student Checking", "Smart Checking",
    ),
    ("individual", "savings"): (
        "Way2Save Savings", "High Yield Savings", "Savings", "Money Market Savings",
        "Online Savings", "Emergency Fund",
    ),
    ("individual", "credit_card"): (
        "Cash Rewards Visa", "Platinum Mastercard", "Travel Rewards Card", "Everyday Visa Signature",
    ),
    ("company", "checking"): (
        "Business Checking", "Business Advantage Checking", "Analyzed Business Checking",
        "Small Business Checking",
    ),
    ("company", "savings"): ("Business Savings", "Business Money Market"),
    ("company", "credit_card"): ("Business Platinum Card", "Business Cash Rewards"),
}  # fmt: skip
_TEST_BANKS = {"StripeBank", "Test Institution", "Sandbox Bank (OAuth)"}


def _owner_phone(phone: str | None) -> str | None:
    """The same number in the "+1 555-555-5555" shape banks use (reference §2.2)."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
    return f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _balance_figure(rng: random.Random, subcategory: str, *, business: bool) -> int:
    roll = rng.random()
    if subcategory == "credit_card":
        if roll < 0.06:
            return 0
        return -min(int(rng.lognormvariate(math.log(140_000), 0.9)), 900_000)
    if subcategory == "savings":
        if roll < 0.05:
            return rng.randrange(0, 2_500)
        return min(int(rng.lognormvariate(math.log(650_000), 0.9)), MAX_BALANCE)
    if roll < 0.05:
        return rng.randrange(0, 5_000)  # scraping by
    if roll < 0.09:
        return -rng.randrange(100, 45_000)  # overdrawn
    if business:  # small businesses keep more on hand, up to $75,000
        figure = rng.lognormvariate(math.log(1_400_000), 0.8)
        return min(max(int(figure), 20_000), 3 * MAX_BALANCE)
    return min(max(int(rng.lognormvariate(math.log(260_000), 0.85)), 5_000), MAX_BALANCE)


def _balance_age(rng: random.Random, *, failing_bank: bool) -> int:
    """Seconds between the balance's `as_of` and now; about 45% are older than a day (stale)."""
    band = _weighted(rng, (("minutes", 25), ("hours", 30), ("days", 30), ("weeks", 15)))
    if failing_bank and band in ("minutes", "hours"):
        band = "weeks"  # refreshes there have been failing for a while
    if band == "minutes":
        return rng.randrange(MINUTE, HOUR)
    if band == "hours":
        return rng.randrange(HOUR, DAY - MINUTE)
    if band == "days":
        return rng.randrange(DAY + MINUTE, 7 * DAY)
    return rng.randrange(7 * DAY, 35 * DAY)


def _set_balance(
    rng: random.Random, account: DemoAccount, bank: _Bank, *, business: bool, now: int
) -> None:
    figure = _balance_figure(rng, account.subcategory, business=business)
    never = rng.random() < (0.3 if bank.institution.refresh_fails else 0.07)
    if account.status == "disconnected" or "balances" not in account.permissions or never:
        account.balance = None
        return
    as_of = min(
        max(
            now - _balance_age(rng, failing_bank=bank.institution.refresh_fails),
            account.created + 5,
        ),
        now,
    )
    if account.category == "credit":
        balance = {
            "as_of": as_of,
            "type": "credit",
            "current": {"usd": figure},
            "credit": {"used": {"usd": max(-figure, 0)}},
        }
    else:
        hold = 0 if rng.random() < 0.6 else rng.randrange(500, 20_000)
        available = None if bank.only_current else {"usd": figure - hold}
        balance = {
            "as_of": as_of,
            "type": "cash",
            "current": {"usd": figure},
            "cash": {"available": available},
        }
    account.balance = balance
    account.balance_refreshed_at = min(as_of + rng.randrange(2, 120), now)
    if account.status == "active":
        account.next_refresh_available_at = account.balance_refreshed_at + 120


def _account_kind(rng: random.Random, index: int, *, business: bool) -> str:
    if index == 0:
        return "checking" if business or rng.random() < 0.92 else "savings"
    return _weighted(rng, (("checking", 35), ("savings", 42), ("credit_card", 23)))


def _permissions(rng: random.Random) -> list[str]:
    perms = ["payment_method"]
    if rng.random() < 0.85:
        perms.append("balances")
    if rng.random() < 0.6:
        perms.append("ownership")
    if rng.random() < 0.45:
        perms.append("transactions")
    return sorted(perms)


def _account(
    rng: random.Random,
    *,
    customer: DemoCustomer,
    person: _Person,
    index: int,
    created: int,
    kind: str,
    bank: _Bank,
    txn_seed: int,
    now: int,
) -> DemoAccount:
    holder = "company" if customer.is_business else "individual"
    names = _DISPLAY_NAMES[(holder, kind)]
    display = rng.choice(names)
    last4 = f"{rng.randrange(10_000):04d}"
    if bank.institution.name == "StripeBank" and kind == "checking" and rng.random() < 0.5:
        display, last4 = "Sample Checking Account", "6789"  # Stripe's own test account
    status = _weighted(rng, (("active", 88), ("inactive", 7), ("disconnected", 5)))
    permissions = _permissions(rng)
    subscriptions = (
        ["transactions"]
        if "transactions" in permissions and status != "disconnected" and rng.random() < 0.5
        else []
    )
    account = DemoAccount(
        institution=bank.institution.name,
        display_name=display,
        last4=last4,
        category="credit" if kind == "credit_card" else "cash",
        subcategory=kind,
        status=status,  # type: ignore[arg-type]
        permissions=permissions,
        subscriptions=subscriptions,
        created=created,
        balance=None,
        owners=[],
        account_holder_type=holder,  # type: ignore[arg-type]
        txn_seed=txn_seed,
        routing_number=bank.institution.routing_number,
    )
    _set_balance(rng, account, bank, business=customer.is_business, now=now)
    if customer.is_business:
        account.owners, account.ownership_truth = _business_owners(rng, customer, person)
    else:
        account.owners, account.ownership_truth = _individual_owners(rng, person, customer)
    account.incomes = [_income_truth(s, now=now) for s in pay_streams(account, now=now)]
    return account


def _can_pay(account: DemoAccount) -> bool:
    """Whether an ACH debit could use this account (cash, at a bank that allows payments)."""
    bank = _BANK_BY_NAME.get(account.institution)
    return (
        account.category == "cash"
        and bank is not None
        and bank.institution.supports_payments
        and not bank.institution.link_fails
    )


# --------------------------------------------------------------------------------------------
# Intents (SetupIntents / PaymentIntents of the last 90 days)
# --------------------------------------------------------------------------------------------

_OUTCOMES: dict[VerificationMethod, tuple[tuple[IntentOutcome, float], ...]] = {
    # automatic: FC first, manual entry + microdeposits as the fallback
    "automatic": (
        ("instant_success", 36), ("manual_verified", 20), ("manual_pending", 7),
        ("manual_failed", 7), ("abandoned", 14), ("instant_failed", 7), ("canceled", 9),
    ),
    # instant: FC only, never manual
    "instant": (("instant_success", 45), ("instant_failed", 20), ("abandoned", 20), ("canceled", 15)),
    # microdeposits: manual only
    "microdeposits": (
        ("manual_verified", 45), ("manual_pending", 18), ("manual_failed", 17),
        ("abandoned", 12), ("canceled", 8),
    ),
}  # fmt: skip
_MICRODEPOSIT_FAILURES = (
    ("payment_method_microdeposit_verification_attempts_exceeded", 50),
    ("payment_method_microdeposit_verification_timeout", 35),
    ("payment_method_microdeposit_failed", 15),
)


@dataclass
class _IntentContext:
    rng: random.Random
    customer: DemoCustomer
    now: int
    window_start: int  # earliest creation time for an intent of this customer

    def pick(self, lo: int, hi: int) -> int | None:
        lo = max(lo, self.window_start)
        return self.rng.randrange(lo, hi) if hi > lo else None


def _requested_permissions(rng: random.Random, method: VerificationMethod) -> list[str]:
    if method == "microdeposits":
        return ["payment_method"]
    return _permissions(rng)


def _prefetch(rng: random.Random, permissions: list[str]) -> list[str]:
    chances = {"balances": 0.6, "ownership": 0.3, "transactions": 0.3}
    return [p for p in permissions if p in chances and rng.random() < chances[p]]


def _payment_amount(rng: random.Random, *, business: bool) -> int:
    median, low, high = (180_000, 5_000, 2_000_000) if business else (12_000, 500, 250_000)
    dollars = min(max(rng.lognormvariate(math.log(median / 100), 0.9), low / 100), high / 100)
    cents = _weighted(rng, ((0, 60), (99, 15), (50, 5), (rng.randrange(100), 20)))
    return int(dollars) * 100 + cents


def _settle_delay(rng: random.Random) -> int:
    """ACH debits settle in 1–4 business days (reference §6.4)."""
    return rng.randrange(1, 4) * DAY + rng.randrange(2 * HOUR, 20 * HOUR)


def _link_intent(
    ctx: _IntentContext, account: DemoAccount, index: int, link_started: int
) -> DemoIntent:
    """The intent whose FC session created ``account`` (1–10 minutes from start to success)."""
    rng = ctx.rng
    kind = "setup_intent" if rng.random() < 0.7 else "payment_intent"
    method: VerificationMethod = "automatic" if rng.random() < 0.72 else "instant"
    finished = min(account.created + rng.randrange(3, 30), ctx.now)
    intent = DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method=method,
        outcome="instant_success",
        created=link_started,
        permissions=list(account.permissions),
        prefetch=_prefetch(rng, account.permissions),
        account_index=index,
        finished_at=finished,
        institution=account.institution,
    )
    if kind == "payment_intent":
        _as_payment(ctx, intent, settle_from=finished)
    return intent


def _as_payment(ctx: _IntentContext, intent: DemoIntent, *, settle_from: int) -> None:
    """A debit settles days after confirmation; until then the PaymentIntent is processing."""
    intent.amount = _payment_amount(ctx.rng, business=ctx.customer.is_business)
    settled = settle_from + _settle_delay(ctx.rng)
    if settled > ctx.now:
        intent.outcome = "processing"
        intent.finished_at = None
    else:
        intent.finished_at = settled


def _manual_fields(rng: random.Random, intent: DemoIntent) -> None:
    bank = rng.choice(_MANUAL_BANKS)
    intent.manual_bank_name = bank
    intent.manual_last4 = "6789" if bank == "STRIPE TEST BANK" else f"{rng.randrange(10_000):04d}"
    intent.microdeposit_type = "descriptor_code" if rng.random() < 0.8 else "amounts"


def _extra_intent(
    ctx: _IntentContext,
    *,
    method: VerificationMethod,
    outcome: IntentOutcome,
    kind: str,
    linked: list[int],
) -> DemoIntent | None:
    """One more intent of the customer; None when its story does not fit the time window."""
    rng, now = ctx.rng, ctx.now
    accounts = ctx.customer.accounts
    intent = DemoIntent(
        kind=kind,  # type: ignore[arg-type]
        verification_method=method,
        outcome=outcome,
        created=0,
        permissions=_requested_permissions(rng, method),
    )
    created: int | None
    if outcome in ("instant_success", "processing") and method != "microdeposits" and linked:
        index = rng.choice(linked)  # a later payment / setup on an account already linked
        account = accounts[index]
        created = ctx.pick(account.created + HOUR, now - 10 * MINUTE)
        if outcome == "processing":
            created = ctx.pick(max(account.created + HOUR, now - 3 * DAY), now - 10 * MINUTE)
        if created is None:
            return None
        intent.account_index = index
        intent.institution = account.institution
        intent.permissions = list(account.permissions)
        intent.finished_at = created + rng.randrange(MINUTE, 10 * MINUTE)
    elif outcome in ("instant_success", "processing"):
        if method == "instant":
            return None  # nothing linked to pay from, and instant never falls back to manual
        if kind == "setup_intent":  # the customer fell back to manual entry instead
            return _extra_intent(
                ctx, method=method, outcome="manual_verified", kind=kind, linked=linked
            )
        _manual_fields(rng, intent)  # paid from a manually entered, already verified account
        intent.outcome = "processing"
        created = ctx.pick(now - 3 * DAY, now - 10 * MINUTE)
    elif outcome == "manual_verified":
        _manual_fields(rng, intent)
        delay = rng.randrange(DAY + 2 * HOUR, 4 * DAY)  # deposits land in 1–2 business days
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - delay)
        if created is None:
            return None
        intent.finished_at = created + delay
    elif outcome == "manual_pending":
        _manual_fields(rng, intent)
        created = ctx.pick(now - 9 * DAY, now - HOUR)
    elif outcome == "manual_failed":
        _manual_fields(rng, intent)
        code = _weighted(rng, _MICRODEPOSIT_FAILURES)
        if code.endswith("timeout"):
            delay = 10 * DAY + rng.randrange(HOUR, 6 * HOUR)  # the 10-day limit (§6.2)
        elif code.endswith("attempts_exceeded"):
            delay = rng.randrange(DAY, 4 * DAY)
        else:
            delay = rng.randrange(6 * HOUR, 2 * DAY)  # the deposits never went out
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - delay)
        if created is None:
            return None
        intent.finished_at = created + delay
        intent.failure_code = code
    elif outcome == "instant_failed":
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - 10 * MINUTE)
        if created is None:
            return None
        intent.institution = _DOWN_BANK
        intent.finished_at = created + rng.randrange(MINUTE, 5 * MINUTE)
    elif outcome == "abandoned":
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - 2 * DAY)
        if method != "microdeposits" and rng.random() < 0.3:
            intent.institution = rng.choice(_BANKS).institution.name  # quit in the bank picker
    else:  # canceled by the merchant
        created = ctx.pick(now - INTENT_WINDOW_DAYS * DAY, now - HOUR)
        if created is None:
            return None
        intent.finished_at = min(created + rng.randrange(10 * MINUTE, 5 * DAY), now)
    if created is None:
        return None
    intent.created = created
    if intent.finished_at is not None and intent.finished_at < created:
        intent.finished_at = created
    if method != "microdeposits" and intent.account_index is None and outcome != "instant_failed":
        intent.prefetch = []
    elif intent.account_index is not None:
        intent.prefetch = _prefetch(rng, intent.permissions)
    if kind == "payment_intent":
        intent.amount = _payment_amount(rng, business=ctx.customer.is_business)
        if intent.outcome in ("instant_success", "manual_verified") and intent.finished_at:
            settled = intent.finished_at + _settle_delay(rng)
            if settled > now:
                intent.outcome = "processing"
                intent.finished_at = None
            else:
                intent.finished_at = settled
        elif intent.outcome == "processing":
            intent.finished_at = None
    return intent


def _intents(
    ctx: _IntentContext, links: list[tuple[int, int]], *, manual_only: bool
) -> list[DemoIntent]:
    rng = ctx.rng
    intents = [_link_intent(ctx, ctx.customer.accounts[i], i, started) for i, started in links]
    linked = [i for i, _ in links] + [
        i
        for i, a in enumerate(ctx.customer.accounts)
        if _can_pay(a)
        and a.status == "active"
        and i not in {j for j, _ in links}
        and rng.random() < 0.5
    ]
    extra = _weighted(rng, ((0, 38), (1, 32), (2, 18), (3, 12)))
    if manual_only or not intents:
        extra += 1
    for n in range(extra):
        kind = "setup_intent" if rng.random() < 0.55 else "payment_intent"
        if manual_only and n == 0:  # how they came to have no FC account: a manual entry
            method: VerificationMethod = "microdeposits" if rng.random() < 0.6 else "automatic"
            outcome: IntentOutcome = "manual_verified" if rng.random() < 0.7 else "manual_failed"
            first = _extra_intent(ctx, method=method, outcome=outcome, kind=kind, linked=linked)
            first = first or _extra_intent(
                ctx, method=method, outcome="manual_pending", kind=kind, linked=linked
            )
            intents.extend([first] if first else [])
            continue
        if manual_only:
            method = "microdeposits" if rng.random() < 0.6 else "automatic"
            outcome = _weighted(
                rng,
                (("manual_verified", 60), ("manual_pending", 15), ("manual_failed", 15), ("abandoned", 10)),
            )  # fmt: skip
        else:
            method = _weighted(rng, (("automatic", 55), ("instant", 20), ("microdeposits", 25)))
            outcome = _weighted(rng, _OUTCOMES[method])
            if kind == "payment_intent" and rng.random() < 0.1:
                outcome = "processing"
        intent = _extra_intent(ctx, method=method, outcome=outcome, kind=kind, linked=linked)
        if intent is not None:
            intents.append(intent)
    intents.sort(key=lambda it: it.created)
    return intents


# --------------------------------------------------------------------------------------------
# Customers and the world
# --------------------------------------------------------------------------------------------


def _customer_phone(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    exchange, line = rng.randrange(200, 1000), rng.randrange(10_000)
    return _weighted(
        rng,
        ((f"+1555{exchange}{line:04d}", 60), (f"(555) {exchange}-{line:04d}", 25),
         (f"555-{exchange}-{line:04d}", 15)),
    )  # fmt: skip


def _unique_email(rng: random.Random, local: str, domain: str, used: set[str]) -> str:
    email = f"{local}@{domain}"
    while email in used:
        email = f"{local}{rng.randrange(2, 999)}@{domain}"
    used.add(email)
    return email


def _business_identity(rng: random.Random, principal: _Person, used: set[str]) -> tuple[str, str]:
    first, kind = rng.choice(_BUSINESS_FIRST), rng.choice(_BUSINESS_KIND)
    suffix = _weighted(rng, _BUSINESS_SUFFIX)
    name = f"{first} {kind} {suffix}".strip()
    domain = "".join(ch for ch in f"{first}{kind}".lower() if ch.isalnum()) + rng.choice(
        (".com", ".com", ".co", ".net")
    )
    local = rng.choice(
        ("billing", "accounts", "ap", "office", "hello", "info", _ascii(principal.first).lower())
    )
    return name, _unique_email(rng, local, domain, used)


def _customer(seed: int, index: int, *, now: int, used_emails: set[str]) -> DemoCustomer:
    rng = random.Random(_sub_seed(seed, "customer", index))
    business = rng.random() < 0.05
    person = _person(rng)
    if business:
        name, email = _business_identity(rng, person, used_emails)
        description: str | None = f"Contact: {person.first} {person.last}"
    else:
        name = person.name
        email = _unique_email(
            rng, _email_local(rng, person), _weighted(rng, _EMAIL_DOMAINS), used_emails
        )
        description = None
    if rng.random() < 0.6:
        created = now - rng.randrange(DAY, INTENT_WINDOW_DAYS * DAY)
    else:
        created = now - rng.randrange(INTENT_WINDOW_DAYS * DAY, 730 * DAY)
    customer = DemoCustomer(
        name=name,
        email=email,
        phone=_customer_phone(rng),
        address=_address(rng, business=business),
        created=created,
        accounts=[],
        intents=[],
        description=description,
        is_business=business,
    )
    window_start = max(created + MINUTE, now - INTENT_WINDOW_DAYS * DAY)
    manual_only = rng.random() < 0.04
    count = 0 if manual_only else _weighted(rng, ((1, 55), (2, 32), (3, 13)))
    links: list[tuple[int, int]] = []
    for i in range(count):
        kind = _account_kind(rng, i, business=business)
        bank = _weighted(rng, tuple((b, b.weight) for b in _BANKS))
        payable = (
            kind != "credit_card"
            and bank.institution.supports_payments
            and not bank.institution.link_fails
        )
        if payable and rng.random() < 0.8 and now - 20 * MINUTE > window_start:
            started = rng.randrange(window_start, now - 20 * MINUTE)
            acct_created = started + rng.randrange(MINUTE, 10 * MINUTE)
            links.append((i, started))
        else:
            acct_created = rng.randrange(created + MINUTE, max(now - HOUR, created + 2 * MINUTE))
        txn_seed = _sub_seed(seed, "customer", index, "account", i)
        customer.accounts.append(
            _account(
                rng, customer=customer, person=person, index=i, created=acct_created,
                kind=kind, bank=bank, txn_seed=txn_seed, now=now,
            )
        )  # fmt: skip
    ctx = _IntentContext(rng=rng, customer=customer, now=now, window_start=window_start)
    customer.intents = _intents(ctx, links, manual_only=manual_only)
    dynamic = random.Random(_sub_seed(seed, "customer", index, "dynamic"))  # its own stream
    add_dynamic_payment_methods(dynamic, customer, now=now, window_start=window_start)
    return customer


def generate(*, seed: int, customers: int, now: int) -> DemoWorld:
    """The whole demo world; transactions are left to :func:`transactions_for` (lazy).

    Customer ``i`` depends only on ``seed``, ``i`` and ``now`` (except that a clashing email
    gets a number appended), so a world of 200 customers is the start of one of 20,000.
    """
    used_emails: set[str] = set()
    return DemoWorld(
        seed=seed,
        now=now,
        institutions=institutions(),
        customers=[_customer(seed, i, now=now, used_emails=used_emails) for i in range(customers)],
    )


# --------------------------------------------------------------------------------------------
# Transactions (lazy): a year of believable money movement that ends at the balance
# --------------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """An account's history: the balance a year ago plus everything that happened since.

    Invariant: ``opening_balance`` + the amounts of posted transactions with
    ``posted_at <= balance["as_of"]`` == ``balance["current"]["usd"]`` (``current`` is the
    posted balance before pending items, reference §2.1). Accounts without a balance end
    at a hidden figure instead.
    """

    opening_balance: int
    transactions: list[DemoTransaction]


@dataclass
class _Event:
    ts: int
    amount: int
    description: str
    card: bool = False  # card purchases post a day or two later and may be pending or void


@dataclass(frozen=True)
class _Category:
    weight: float
    low: int  # dollars
    high: int
    merchants: tuple[str, ...]  # "{n}" = a store number fixed per account


_PERSONAL_SPEND = (
    _Category(22, 18, 160, ("TRADER JOE'S #{n3}", "SAFEWAY #{n4}", "KROGER #{n3}", "WHOLEFDS MKT {n5}",
                            "COSTCO WHSE #{n4}", "ALDI {n5}", "PUBLIX #{n4}", "H-E-B #{n3}")),
    _Category(10, 25, 75, ("SHELL OIL {n5}", "CHEVRON {n7}", "EXXONMOBIL {n4}", "BP#{n7}",
                           "SPEEDWAY {n5}", "COSTCO GAS #{n4}", "76 - {n7}")),
    _Category(18, 12, 85, ("SQ *TACOS EL GORDO", "TST* SWEETGREEN {n3}", "CHIPOTLE {n4}",
                           "MCDONALD'S F{n5}", "PANERA BREAD #{n6}", "DOORDASH*CHIPOTLE",
                           "UBER *EATS", "GRUBHUB*THAIBASIL", "OLIVE GARDEN {n4}", "SQ *THE DAILY GRIND")),
    _Category(12, 3, 11, ("STARBUCKS STORE {n5}", "DUNKIN #{n6}", "SQ *BLUE BOTTLE COFFEE",
                          "PEET'S COFFEE {n5}", "SQ *RITUAL COFFEE")),
    _Category(15, 9, 190, ("AMAZON MKTPLACE PMTS", "AMZN Mktp US*{code}", "TARGET {n8}", "WAL-MART #{n4}",
                           "BEST BUY {n8}", "THE HOME DEPOT #{n4}", "TJ MAXX #{n4}", "ETSY.COM*{code}")),
    _Category(5, 8, 80, ("CVS/PHARMACY #{n5}", "WALGREENS #{n5}", "RITE AID {n5}")),
    _Category(8, 8, 42, ("UBER *TRIP", "LYFT *RIDE", "CLIPPER SYSTEMS", "MTA*NYCT PAYGO", "PARKWHIZ")),
    _Category(4, 10, 75, ("AMC {n4}", "TICKETMASTER", "STEAMGAMES.COM 4259522985", "AUDIBLE*{code}")),
    _Category(3, 15, 140, ("VENMO PAYMENT {n10}", "CASH APP*{name}")),
)  # fmt: skip
_BUSINESS_SPEND = (
    _Category(20, 40, 900, ("AMAZON BUSINESS", "ULINE *SHIP SUPPLIES", "STAPLES {n5}", "COSTCO WHSE #{n4}",
                            "THE HOME DEPOT #{n4}", "GRAINGER {n6}")),
    _Category(12, 25, 600, ("GOOGLE *ADS{n10}", "FACEBK *{code}", "YELP ADS", "LINKEDIN *JOBS")),
    _Category(8, 12, 150, ("SQ *THE DAILY GRIND", "CHIPOTLE {n4}", "DOORDASH*PANERA")),
    _Category(8, 30, 90, ("SHELL OIL {n5}", "CHEVRON {n7}", "EXXONMOBIL {n4}")),
    _Category(6, 100, 2_500, ("ACH DEBIT SUPPLIER {name} INV", "WIRE OUT {name} SUPPLY")),
)  # fmt: skip

_RENT = ("AVALON COMMUNITIES RENT", "GREYSTAR RE RENT PMT", "EQUITY RESIDENTIAL WEB PMT",
         "APPFOLIO RENT {n6}", "BILT RENT PMT", "ZILLOW RENT PMT")  # fmt: skip
_MORTGAGE = ("ROCKET MORTGAGE PMT", "MR COOPER MTG PMT", "PENNYMAC LOAN SVC PMT", "FREEDOM MTG PMT")
_UTILITIES = ("PG&E WEB ONLINE", "CON ED OF NY", "DUKE ENERGY PAYMENT", "COMED PAYMENT",
              "GEORGIA POWER", "XCEL ENERGY PMT", "SOCALGAS PAID")  # fmt: skip
_INTERNET = (
    ("COMCAST XFINITY", 8_999),
    ("SPECTRUM", 7_499),
    ("VERIZON FIOS", 6_499),
    ("AT&T INTERNET", 5_500),
)
_MOBILE = (("VERIZON WIRELESS", 14_500), ("T-MOBILE POSTPAID", 9_000), ("AT&T MOBILITY", 11_200),
           ("MINT MOBILE", 3_000))  # fmt: skip
_SUBSCRIPTIONS = (("NETFLIX.COM", 1_549), ("SPOTIFY USA", 1_199), ("HULU 877-8244858", 1_799),
                  ("APPLE.COM/BILL", 299), ("AMAZON PRIME*{code}", 1_499), ("DISNEY PLUS", 1_399),
                  ("YOUTUBE PREMIUM", 1_399), ("PLANET FITNESS", 2_499), ("NYTIMES DIGITAL", 1_700),
                  ("PELOTON MEMBERSHIP", 4_400))  # fmt: skip
_INSURANCE = ("GEICO AUTO", "STATE FARM INSURANCE", "PROGRESSIVE INS", "ALLSTATE PAYMENT")
_LOANS = (
    "TOYOTA FINANCIAL SVC",
    "HONDA FINANCIAL",
    "ALLY AUTO PMT",
    "NELNET STUDENT LN",
    "MOHELA STUDENT LN",
)
_FRIENDS = ("MARIA G", "JOHN D", "PRIYA S", "KEVIN L", "AMIR H", "SARAH K", "DMITRI P", "ANA R")


def _fill(template: str, rng: random.Random) -> str:
    """Fix the variable parts of a merchant descriptor (store numbers, reference codes)."""
    out = template
    for width in (10, 8, 7, 6, 5, 4, 3):
        out = out.replace(f"{{n{width}}}", str(rng.randrange(10 ** (width - 1), 10**width)))
    if "{code}" in out:
        out = out.replace(
            "{code}", "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9))
        )
    return out.replace("{name}", rng.choice(_FRIENDS))


class _Sim:
    """A forward simulation that steers the balance towards a target trajectory.

    Discretionary spending grows when the balance runs above the target and shrinks below
    it, the way people actually spend, so a year of history stays plausible; the last
    weeks glide towards the real balance and the opening balance absorbs what is left.
    """

    def __init__(self, account: DemoAccount, *, now: int) -> None:
        self.account = account
        self.now = now
        self.rng = random.Random(account.txn_seed)
        self.today = _date_of(now)
        self.start = self.today - timedelta(days=HISTORY_DAYS)
        if account.balance is not None:
            self.end_balance = int(account.balance["current"]["usd"])
            self.end_at = int(account.balance["as_of"])
        else:  # never refreshed / disconnected: a hidden figure, just as real
            hidden = random.Random(_sub_seed(account.txn_seed, "hidden"))
            business = account.account_holder_type == "company"
            self.end_balance = _balance_figure(hidden, account.subcategory, business=business)
            self.end_at = now
        bank = _BANK_BY_NAME.get(account.institution)
        self.card_prefix = bank.card_prefix if bank else ""
        self.events: list[_Event] = []
        self.by_day: dict[date, list[_Event]] = {}
        self.balance = 0
        self.start_balance = 0
        # a balance just after payday cannot glide to near zero without an overdraft first;
        # finish() explains the rest with one transfer after the paycheck instead
        self.glide_floor = -(10**12)
        suffix = f"{self.rng.randrange(10_000):04d}"
        self.correction_in = f"ONLINE TRANSFER FROM SAV ...{suffix}"
        self.correction_out = f"ONLINE TRANSFER TO SAV ...{suffix}"

    # scheduling helpers ---------------------------------------------------------------

    def at(
        self, d: date, *, amount: int, description: str, card: bool = False, hour: float = 10.0
    ) -> None:
        ts = _day_start(d) + int(hour * HOUR) + self.rng.randrange(0, 45 * MINUTE)
        if self.start <= d and ts <= self.now:
            self.by_day.setdefault(d, []).append(_Event(ts, amount, description, card))

    def monthly(
        self, *, day: int, amount: Callable[[date], int], description: str, card: bool = False
    ) -> None:
        """A bill on the same day every month (ACH debits wait for the next business day)."""
        year, month = self.start.year, self.start.month
        while date(year, month, 1) <= self.today:
            d = date(year, month, min(day, _last_day_of_month(year, month).day))
            if not card:
                d = d if is_business_day(d) else _next_business(d)
            self.at(d, amount=amount(d), description=description, card=card, hour=13 if card else 9)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def target(self, ts: int, level: int) -> int:
        """Hover around ``level``, then glide to the real balance over the last 25 days."""
        glide = 25 * DAY
        if ts >= self.end_at:
            return max(self.end_balance, self.glide_floor)
        if ts <= self.end_at - glide:
            return level
        share = (ts - (self.end_at - glide)) / glide
        goal = max(self.end_balance, self.glide_floor)
        return int(level + (goal - level) * share)

    # the day loop ----------------------------------------------------------------------

    def run(
        self,
        *,
        level: int,
        per_day: float,
        categories: Sequence[_Category],
        scale: float,
        daily: Callable[[date, int], None] | None = None,
    ) -> None:
        """Walk the year day by day: scheduled items, then card spending steered by the target."""
        rng = self.rng
        weights = [c.weight for c in categories]
        favorites = [
            [_fill(m, rng) for m in rng.sample(c.merchants, min(3, len(c.merchants)))]
            for c in categories
        ]
        stiffness = max(abs(level), 150_000)
        self.balance = self.start_balance = level
        d = self.start
        while d <= self.today:
            day_ts = _day_start(d)
            for event in sorted(self.by_day.get(d, ()), key=lambda e: e.ts):
                self._book(event)
            if daily is not None:
                daily(d, day_ts)
            if categories:
                gap = self.balance - self.target(day_ts, level)
                factor = min(max(1 + gap / stiffness, 0.2), 3.0)
                for _ in range(_poisson(rng, per_day * (0.6 + 0.4 * min(factor, 1.6)))):
                    i = rng.choices(range(len(categories)), weights)[0]
                    cat = categories[i]
                    dollars = rng.uniform(cat.low, cat.high) * scale * factor**0.5
                    merchant = rng.choice(favorites[i])
                    ts = day_ts + 13 * HOUR + rng.randrange(0, 11 * HOUR)
                    if ts <= self.now:
                        self._book(_Event(ts, -int(dollars * 100), merchant, card=True))
            d += timedelta(days=1)

    def _book(self, event: _Event) -> None:
        if event.card and not event.description.startswith(("VENMO", "ACH", "WIRE")):
            event.description = self.card_prefix + event.description
        self.events.append(event)
        self.balance += event.amount

    # turning events into Stripe-like transactions ----------------------------------------

    def finish(self) -> Ledger:
        """Turn events into transactions and land exactly on the account's balance.

        The steering keeps the balance near the target, not on it; a small miss moves the
        opening balance, a large one becomes one believable transfer a few days before
        ``as_of`` (shifting a whole year by thousands would make it implausible).
        """
        rng = self.rng
        txns = [self._transaction(e) for e in sorted(self.events, key=lambda e: e.ts)]
        counted = sum(
            t.amount for t in txns if t.posted_at is not None and t.posted_at <= self.end_at
        )
        miss = self.end_balance - (self.start_balance + counted)
        if abs(miss) <= max(abs(self.start_balance) // 4, 20_000):
            return Ledger(opening_balance=self.start_balance + miss, transactions=txns)
        lo = max(_day_start(self.start), self.end_at - 3 * DAY)
        hi = self.end_at - 6 * HOUR
        if miss < 0:  # money moved out after the last paycheck, not before it
            paid = [
                t.transacted_at for t in txns if t.amount > 0 and t.transacted_at <= self.end_at
            ]
            lo = max([lo, *(p + 30 * MINUTE for p in paid[-1:])])
            hi = self.end_at - 5 * MINUTE
        ts = rng.randrange(lo, hi) if hi > lo else max(self.end_at - MINUTE, _day_start(self.start))
        label = self.correction_in if miss > 0 else self.correction_out
        fix = DemoTransaction(amount=miss, description=label, transacted_at=ts, posted_at=ts)
        txns.append(fix)
        txns.sort(key=lambda t: t.transacted_at)
        return Ledger(opening_balance=self.start_balance, transactions=txns)

    def _transaction(self, e: _Event) -> DemoTransaction:
        rng = self.rng
        txn = DemoTransaction(amount=e.amount, description=e.description, transacted_at=e.ts)
        if e.card and rng.random() < 0.006:
            void_at = e.ts + rng.randrange(HOUR, 30 * HOUR)
            if void_at <= self.now:
                txn.status, txn.void_at = "void", void_at
            else:
                txn.status = "pending"
            return txn
        posted = e.ts + (rng.randrange(18 * HOUR, 60 * HOUR) if e.card else 0)
        if posted <= self.now:
            txn.posted_at = posted
        else:
            txn.status = "pending"
        return txn


def _next_business(d: date) -> date:
    d += timedelta(days=1)
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _seasonal(base: int, rng: random.Random) -> Callable[[date], int]:
    """Utility bills: higher in winter and high summer, never the same twice."""

    def amount(d: date) -> int:
        season = 1 + 0.35 * math.cos((d.month - 1) / 12 * 2 * math.pi) + 0.15 * (d.month in (7, 8))
        return -int(base * season * rng.uniform(0.85, 1.15))

    return amount


def _fixed(amount: int) -> Callable[[date], int]:
    return lambda _d: -amount


def _monthly_income(streams: list[PayStream]) -> int:
    per_month = {"weekly": 52 / 12, "biweekly": 26 / 12, "semimonthly": 2, "monthly": 1}
    total = 0.0
    for s in streams:
        if s.rule == "irregular":
            total += s.amount * s.per_day * 21.7
        else:
            total += s.amount * per_month[s.cadence]
    return int(total)


def _pay_period_income(streams: list[PayStream]) -> int:
    """Income of the longest pay period: a monthly earner needs a month of spending on hand."""
    per_month = {"weekly": 4.33, "biweekly": 2.17, "semimonthly": 2, "monthly": 1}
    return max(
        (
            int(_monthly_income([s]) / per_month[s.cadence])
            for s in streams
            if s.rule != "irregular"
        ),
        default=0,
    )


def _checking(sim: _Sim) -> None:
    rng, account = sim.rng, sim.account
    business = account.account_holder_type == "company"
    streams = pay_streams(account, now=sim.now)
    for stream in streams:
        for ts, amount in _deposits(stream, start=sim.start, now=sim.now):
            sim.by_day.setdefault(_date_of(ts), []).append(_Event(ts, amount, stream.description))
    income = _monthly_income(streams)
    swing = _pay_period_income(streams)  # how far a paycheck lifts the balance
    if income < 50_000:  # no paycheck here: the account is fed by transfers
        funding = (
            rng.randrange(80_000, 300_000) if not business else rng.randrange(400_000, 1_500_000)
        )
        source = f"ONLINE TRANSFER FROM SAV ...{rng.randrange(10_000):04d}"
        d = sim.start + timedelta(days=rng.randrange(0, 14))
        while d <= sim.today:
            label = source if rng.random() < 0.7 else rng.choice(
                (f"ZELLE FROM {rng.choice(_FRIENDS)}", "MOBILE DEPOSIT REF #" + str(rng.randrange(10**8, 10**9)))
            )  # fmt: skip
            sim.at(d, amount=int(funding / 2 * rng.uniform(0.8, 1.2)), description=label, hour=15)
            d += timedelta(days=rng.randrange(11, 18))
        income += funding
        swing = max(swing, funding // 2)
    fixed = 0
    if business:
        payroll = int(income * rng.uniform(0.3, 0.45) / 2.17)
        anchor = _weekday_anchor(rng, 4, sim.today)
        provider = rng.choice(("GUSTO", "ADP", "PAYCHEX"))
        d = anchor - timedelta(days=14 * 27)
        while d <= sim.today:
            pay = on_or_before_business_day(d)
            sim.at(
                pay,
                amount=-int(payroll * rng.uniform(0.97, 1.05)),
                description=f"{provider} NET PAY {rng.randrange(10**5, 10**6)}",
            )
            sim.at(
                pay,
                amount=-int(payroll * 0.28),
                description=f"{provider} TAX {rng.randrange(10**5, 10**6)}",
            )
            d += timedelta(days=14)
        rent = int(income * rng.uniform(0.08, 0.15))
        sim.monthly(day=1, amount=_fixed(rent), description=f"COMMERCIAL RENT {_fill('{n6}', rng)}")
        sim.monthly(
            day=rng.randrange(5, 25),
            amount=_seasonal(rng.randrange(15_000, 60_000), rng),
            description="COMCAST BUSINESS" if rng.random() < 0.5 else rng.choice(_UTILITIES),
        )
        sim.monthly(
            day=rng.randrange(1, 28),
            amount=_fixed(rng.choice((3_000, 5_500, 9_000))),
            description="INTUIT *QBOOKS ONLINE",
            card=True,
        )
        fixed = int(payroll * 1.28 * 2.17) + rent + 40_000
    else:
        if rng.random() < 0.72:
            housing = int(income * rng.uniform(0.22, 0.34))
            payee = _fill(rng.choice(_MORTGAGE if rng.random() < 0.35 else _RENT), rng)
            sim.monthly(day=1, amount=_fixed(housing), description=payee)
            fixed += housing
        bills = [
            (rng.choice(_UTILITIES), _seasonal(rng.randrange(5_500, 16_000), rng), False),
            (*(lambda p: (p[0], _fixed(p[1])))(rng.choice(_INTERNET)), False),
            (*(lambda p: (p[0], _fixed(p[1])))(rng.choice(_MOBILE)), False),
        ]
        if rng.random() < 0.5:
            bills.append((rng.choice(_INSURANCE), _fixed(rng.randrange(9_000, 24_000)), False))
        if rng.random() < 0.35:
            bills.append((rng.choice(_LOANS), _fixed(rng.randrange(18_000, 55_000)), False))
        for name, price in rng.sample(_SUBSCRIPTIONS, rng.randrange(1, 6)):
            bills.append((_fill(name, rng), _fixed(price), True))
        for description, price_on, card in bills:
            sim.monthly(
                day=rng.randrange(1, 29), amount=price_on, description=description, card=card
            )
            fixed += -price_on(date(2020, 1, 15))
    categories = _BUSINESS_SPEND if business else _PERSONAL_SPEND
    mean = sum(c.weight * (c.low + c.high) / 2 for c in categories) / sum(
        c.weight for c in categories
    )
    budget_per_day = max(income * 0.92 - fixed, income * 0.2) / 30.4 / 100  # dollars
    per_day = min(max(budget_per_day / mean, 0.6), 4.5 if not business else 6.0)
    scale = min(max(budget_per_day / (per_day * mean), 0.3), 4.0)
    if business:
        level = max(sim.end_balance, int(income * 0.5), 200_000)
    else:
        level = max(sim.end_balance, int(swing * 0.55) + 50_000)
        sim.glide_floor = int(swing * 0.5)
    transfer = _Transfers(sim, level=level, income=income)
    sim.run(level=level, per_day=per_day, categories=categories, scale=scale, daily=transfer)


class _Transfers:
    """Move money to/from savings when the balance strays far from its usual level."""

    def __init__(self, sim: _Sim, *, level: int, income: int) -> None:
        self.sim = sim
        self.level = level
        self.band = max(income, 150_000)
        self.floor = -sim.rng.choice((0, 5_000, 15_000, 30_000))  # how far they let it go
        self.last = 0
        self.last_fee = 0

    def __call__(self, d: date, day_ts: int) -> None:
        sim = self.sim
        ts = day_ts + 16 * HOUR + sim.rng.randrange(0, 3 * HOUR)
        if ts > sim.now:
            return
        target = sim.target(ts, self.level)
        gap = sim.balance - target
        if sim.balance < 0 and ts - self.last_fee > 30 * DAY and sim.rng.random() < 0.5:
            self.last_fee = ts
            sim._book(_Event(ts, -3_500, "OVERDRAFT FEE"))
        if sim.balance < self.floor and ts - self.last > 3 * DAY:
            self.last = ts
            top_up = max(target, 0) - sim.balance
            sim._book(_Event(ts, _round_to(int(top_up * 0.8), 5_000), sim.correction_in))
        elif gap > 1.2 * self.band and ts - self.last > 14 * DAY:
            self.last = ts
            sim._book(_Event(ts, -_round_to(int(gap * 0.7), 5_000), sim.correction_out))


def _round_to(value: int, step: int) -> int:
    return max(step, round(value / step) * step)


def _savings(sim: _Sim) -> None:
    rng = sim.rng
    level = max(sim.end_balance, 20_000)
    deposit = _round_to(int(rng.uniform(0.01, 0.04) * max(level, 100_000)), 2_500)
    source = f"ONLINE TRANSFER FROM CHK ...{rng.randrange(10_000):04d}"
    sim.monthly(day=rng.choice((1, 5, 15, 20)), amount=lambda _d: deposit, description=source)
    sim.correction_in, sim.correction_out = source, source.replace("FROM", "TO")
    apy = rng.choice((0.0001, 0.001, 0.005, 0.02, 0.035, 0.044))
    last_withdrawal = [0]
    back = source.replace("FROM", "TO")

    def daily(d: date, day_ts: int) -> None:
        if d == _last_day_of_month(d.year, d.month) and sim.balance > 0:
            interest = int(sim.balance * apy / 12)
            if interest > 0:
                sim._book(_Event(day_ts + 20 * HOUR, interest, "INTEREST PAYMENT"))
        ts = day_ts + 15 * HOUR
        gap = sim.balance - sim.target(ts, level)
        if ts <= sim.now and ts - last_withdrawal[0] > 20 * DAY and gap > max(2 * deposit, 20_000):
            last_withdrawal[0] = ts
            sim._book(_Event(ts, -_round_to(int(gap * rng.uniform(0.6, 1.0)), 1_000), back))
        elif (
            ts <= sim.now and ts - last_withdrawal[0] > 20 * DAY and gap < -max(2 * deposit, 20_000)
        ):
            last_withdrawal[0] = ts
            sim._book(_Event(ts, _round_to(int(-gap * 0.8), 1_000), source))

    sim.run(level=level, per_day=0, categories=(), scale=1.0, daily=daily)


def _credit_card(sim: _Sim) -> None:
    rng = sim.rng
    owed = -min(sim.end_balance, 0)
    monthly_spend = max(int(owed * rng.uniform(0.9, 1.4)), rng.randrange(30_000, 200_000))
    level = -int(monthly_spend * 0.6)
    full_payer = rng.random() < 0.6
    statement_day = rng.randrange(1, 28)
    payment_label = rng.choice(
        ("PAYMENT - THANK YOU", "AUTOPAY PAYMENT RECEIVED", "ONLINE PAYMENT THANK YOU")
    )
    statement = [0]

    def daily(d: date, day_ts: int) -> None:
        if d.day == statement_day:
            statement[0] = max(-sim.balance, 0)
            if not full_payer and statement[0] > 0:
                sim._book(
                    _Event(
                        day_ts + 6 * HOUR,
                        -int(statement[0] * 0.2299 / 12),
                        "INTEREST CHARGE ON PURCHASES",
                    )
                )
        if d.day == (statement_day + 22) % 28 + 1 and statement[0] > 0:
            share = 1.0 if full_payer else rng.uniform(0.3, 0.9)
            ts = day_ts + 11 * HOUR
            if ts <= sim.now:
                sim._book(_Event(ts, int(statement[0] * share), payment_label))
            statement[0] = 0

    mean = sum(c.weight * (c.low + c.high) / 2 for c in _PERSONAL_SPEND) / sum(
        c.weight for c in _PERSONAL_SPEND
    )
    budget_per_day = monthly_spend / 30.4 / 100
    per_day = min(max(budget_per_day / mean, 0.4), 3.5)
    scale = min(max(budget_per_day / (per_day * mean), 0.3), 4.0)
    sim.card_prefix = ""
    sim.correction_in = payment_label
    big = ("BEST BUY {n8}", "DELTA AIR LINES", "MARRIOTT HOTELS", "APPLE STORE R{n3}")
    sim.correction_out = _fill(rng.choice(big), rng)
    sim.run(level=level, per_day=per_day, categories=_PERSONAL_SPEND, scale=scale, daily=daily)


def ledger(account: DemoAccount, *, now: int) -> Ledger:
    """A year of the account's transactions (oldest first) and the balance they start from.

    Deterministic from ``account.txn_seed`` and ``now``; works for any account, whatever its
    permissions (the sandbox decides what a caller may see).
    """
    sim = _Sim(account, now=now)
    if account.category == "credit":
        _credit_card(sim)
    elif account.subcategory == "checking":
        _checking(sim)
    else:
        _savings(sim)
    return sim.finish()


def transactions_for(account: DemoAccount, *, now: int) -> list[DemoTransaction]:
    """The account's transactions for the year before ``now``, oldest first (see :func:`ledger`)."""
    return ledger(account, now=now).transactions
