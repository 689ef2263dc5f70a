"""Account owners as banks report them: the planted truth the ownership matcher is tested
against (an exact name, the customer written differently, a joint account, somebody else)."""

from __future__ import annotations

import random

from sandbox.demo.model import DemoCustomer, DemoOwner, OwnershipTruth
from sandbox.demo.names import EMAIL_DOMAINS, NICKNAMES
from sandbox.demo.people import (
    Person,
    as_owner_phone,
    email_local,
    new_person,
    one_line_address,
    random_address,
    random_phone,
)
from sandbox.demo.seeds import ascii_fold, weighted


def _variant_name(rng: random.Random, person: Person) -> tuple[str, str]:
    """The customer as some bank writes them, never identical to the customer's name."""
    first, last = person.formal_first, person.last
    options: list[tuple[str, float]] = [
        ("upper", 24), ("last_first", 18), ("initials", 12), ("middle_initial", 16),
    ]  # fmt: skip
    if person.first != person.formal_first:
        options.append(("formal", 40))
    elif first in NICKNAMES:
        options.append(("nickname", 12))
    options.append(("suffix", 10 if person.suffix else 4))
    kind = weighted(rng, options)
    given = person.first if kind in ("upper", "last_first", "initials") else first
    if kind == "upper":
        name = ascii_fold(person.name).upper()
        if name == person.name:  # already upper-case-proof (rare) -> write it last-first
            kind, name = "last_first", f"{last.upper()}, {given.upper()}"
    elif kind == "last_first":
        name = f"{ascii_fold(last).upper()}, {ascii_fold(given).upper()}"
        if rng.random() < 0.3:
            name = f"{last}, {given}"
    elif kind == "initials":
        name = (
            f"{given[0]}. {last}"
            if rng.random() < 0.5
            else f"{given[0]} {ascii_fold(last).upper()}"
        )
    elif kind == "middle_initial":
        name = f"{first} {person.middle_initial} {last}"
        if rng.random() < 0.5:
            name = ascii_fold(f"{first} {person.middle_initial}. {last}").upper()
    elif kind == "formal":
        name = rng.choice((f"{first} {last}", ascii_fold(f"{first} {last}").upper()))
    elif kind == "nickname":
        name = f"{rng.choice(NICKNAMES[first])} {last}"
    elif person.suffix:  # suffix dropped by the bank
        name = ascii_fold(f"{person.first} {last}").upper()
    else:  # suffix added by the bank
        name = ascii_fold(f"{first} {last} {rng.choice(('JR', 'SR', 'II'))}").upper()
    if name == person.name:
        name = f"{ascii_fold(last).upper()}, {ascii_fold(person.first).upper()}"
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
        owner.raw_address = one_line_address(address, upper=rng.random() < 0.5)
    return owner


def individual_owners(
    rng: random.Random, person: Person, customer: DemoCustomer
) -> tuple[list[DemoOwner], OwnershipTruth]:
    truth: OwnershipTruth = weighted(
        rng, (("exact", 48), ("variant", 34), ("joint", 14), ("mismatch", 4))
    )
    phone = as_owner_phone(customer.phone)

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
    other = new_person(rng, culture=person.culture, last=person.last if same_family else None)
    if truth == "mismatch":
        owner = DemoOwner(name=other.name, is_customer=False, name_variant="other_person")
        if rng.random() < 0.5:
            owner.name = ascii_fold(other.name).upper()
        other_email = f"{email_local(rng, other)}@{weighted(rng, EMAIL_DOMAINS)}"
        return [
            _owner_contact(
                rng, owner, email=other_email, phone=random_phone(rng), address=random_address(rng)
            )
        ], truth
    if rng.random() < 0.6:  # two owner records
        co = DemoOwner(name=other.name, is_customer=False, name_variant="co_owner")
        if rng.random() < 0.5:
            co.name = ascii_fold(co.name).upper()
        co = _owner_contact(rng, co, email=None, phone=random_phone(rng), address=customer.address)
        return [me(), co], truth
    # one owner record holding both names, the way many banks print joint accounts
    mine = ascii_fold(f"{person.formal_first}").upper()
    theirs = ascii_fold(other.formal_first).upper()
    if same_family:
        text = rng.choice(
            (f"{mine} & {theirs} {ascii_fold(person.last).upper()}",
             f"{mine} {ascii_fold(person.last).upper()} AND {theirs} {ascii_fold(person.last).upper()}")
        )  # fmt: skip
    else:
        text = (
            f"{mine} {ascii_fold(person.last).upper()} OR {theirs} {ascii_fold(other.last).upper()}"
        )
    joint = DemoOwner(name=text, is_customer=True, name_variant="joint_string")
    return [_owner_contact(rng, joint, email=None, phone=phone, address=customer.address)], truth


def business_owners(
    rng: random.Random, customer: DemoCustomer, principal: Person
) -> tuple[list[DemoOwner], OwnershipTruth]:
    truth: OwnershipTruth = weighted(
        rng, (("exact", 45), ("variant", 35), ("joint", 12), ("mismatch", 8))
    )
    legal = customer.name
    if truth == "mismatch":  # the owner's personal account got linked instead
        owner = DemoOwner(
            name=ascii_fold(principal.name).upper(), is_customer=False, name_variant="other_person"
        )
        return [owner], truth
    if truth == "variant":
        bare = legal.rsplit(" ", 1)[0] if legal.endswith(("LLC", "Inc.", "Co.", "Corp.")) else legal
        suffix = legal[len(bare) :].strip()
        dotted = "L.L.C." if suffix == "LLC" else suffix.rstrip(".").upper()
        name = rng.choice(
            (ascii_fold(legal).upper().replace(".", ""), ascii_fold(bare).upper(), f"{bare} {dotted}".strip(), f"{bare}, {suffix}".rstrip(", "))
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
            name=ascii_fold(principal.name).upper(), is_customer=False, name_variant="co_owner"
        )
        return [business, co], truth
    return [business], truth
