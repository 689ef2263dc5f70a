"""Demo customers as people: names, email addresses, phone numbers and postal addresses."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.demo.names import (
    BUSINESS_FIRST,
    BUSINESS_KIND,
    BUSINESS_SUFFIX,
    CITIES,
    CULTURE_WEIGHTS,
    CULTURES,
    NICKNAMES,
    STREET_SUFFIX,
    STREETS,
)
from sandbox.demo.seeds import ascii_fold, weighted


@dataclass(frozen=True)
class Person:
    first: str  # as the person gives it to the merchant (may be a nickname)
    last: str
    formal_first: str  # the legal first name a bank would print
    middle_initial: str
    suffix: str  # "", "Jr.", "Sr.", "III"
    culture: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first, self.last, self.suffix) if p)


def new_person(
    rng: random.Random, *, culture: str | None = None, last: str | None = None
) -> Person:
    culture = culture or weighted(rng, CULTURE_WEIGHTS)
    _, masculine, feminine, lasts = CULTURES[culture]
    formal = rng.choice(masculine if rng.random() < 0.5 else feminine)
    first = formal
    if formal in NICKNAMES and rng.random() < 0.25:
        first = rng.choice(NICKNAMES[formal])  # signs up as "Bob", the bank knows "Robert"
    suffix = (
        weighted(rng, (("", 95), ("Jr.", 3), ("Sr.", 1), ("III", 1))) if culture == "anglo" else ""
    )
    return Person(
        first=first,
        last=last or rng.choice(lasts),
        formal_first=formal,
        middle_initial=chr(ord("A") + rng.randrange(26)),
        suffix=suffix,
        culture=culture,
    )


def email_local(rng: random.Random, person: Person) -> str:
    first = ascii_fold(person.first).lower().replace("'", "").replace(" ", "")
    last = ascii_fold(person.last).lower().replace("'", "").replace(" ", "").replace("-", "")
    year = str(rng.randrange(60, 105) % 100).zfill(2)
    pattern = weighted(
        rng,
        (
            (f"{first}.{last}", 30), (f"{first}{last}", 15), (f"{first[0]}{last}", 15),
            (f"{first}.{last}{rng.randrange(1, 99)}", 10), (f"{first}_{last}", 6),
            (f"{last}.{first}", 6), (f"{first}{year}", 8), (f"{first[0]}.{last}", 5),
            (f"{last}{first[0]}{rng.randrange(1, 9)}", 5),
        ),
    )  # fmt: skip
    return pattern


def random_phone(rng: random.Random) -> str:
    """Owner-style phone, like Stripe's own examples: "+1 555-555-5555"."""
    return f"+1 555-{rng.randrange(200, 1000)}-{rng.randrange(10_000):04d}"


def random_address(rng: random.Random, *, business: bool = False) -> dict:
    city, state, postal = rng.choice(CITIES)
    number = rng.randrange(10, 9_999) if rng.random() < 0.9 else rng.randrange(10_000, 40_000)
    line1 = f"{number} {rng.choice(STREETS)} {rng.choice(STREET_SUFFIX)}"
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


def one_line_address(address: dict, *, upper: bool) -> str:
    """Banks give owner addresses as one unparsed string (reference §2.2)."""
    street = address["line1"] + (f" {address['line2']}" if address["line2"] else "")
    text = f"{street} {address['city']}, {address['state']} {address['postal_code']}"
    return ascii_fold(text).upper() if upper else text


def as_owner_phone(phone: str | None) -> str | None:
    """The same number in the "+1 555-555-5555" shape banks use (reference §2.2)."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
    return f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"


def customer_phone(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    exchange, line = rng.randrange(200, 1000), rng.randrange(10_000)
    return weighted(
        rng,
        ((f"+1555{exchange}{line:04d}", 60), (f"(555) {exchange}-{line:04d}", 25),
         (f"555-{exchange}-{line:04d}", 15)),
    )  # fmt: skip


def unique_email(rng: random.Random, local: str, domain: str, used: set[str]) -> str:
    email = f"{local}@{domain}"
    while email in used:
        email = f"{local}{rng.randrange(2, 999)}@{domain}"
    used.add(email)
    return email


def business_identity(rng: random.Random, principal: Person, used: set[str]) -> tuple[str, str]:
    first, kind = rng.choice(BUSINESS_FIRST), rng.choice(BUSINESS_KIND)
    suffix = weighted(rng, BUSINESS_SUFFIX)
    name = f"{first} {kind} {suffix}".strip()
    domain = "".join(ch for ch in f"{first}{kind}".lower() if ch.isalnum()) + rng.choice(
        (".com", ".com", ".co", ".net")
    )
    local = rng.choice(
        (
            "billing",
            "accounts",
            "ap",
            "office",
            "hello",
            "info",
            ascii_fold(principal.first).lower(),
        )
    )
    return name, unique_email(rng, local, domain, used)
