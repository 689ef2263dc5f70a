"""People before IDs: the one wording of a queue row or picker option (issue 9).

Every queue, list and picker names the customer (name and email), the bank and last 4 digits,
the amount and the age where they exist, and only then the Stripe ID:
"Ada Lovelace · ada@x.org · StripeBank ••6833 · $120.00 · 3 h ago · seti_…". Also what a
search box holds (an ID's start, or part of a name or email) and where a stored intent keeps
its bank. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.rules import wording
from services.rules.input_limits import as_searched
from services.rules.money import format_plain

SEP = " · "
NO_CUSTOMER = "No customer"
# A customer the store has no row for yet (a fresh store before the first account sync, or one
# made on Stripe since): its ID, which people can search and Stripe's Dashboard finds.
UNKNOWN_CUSTOMER = "{customer_id} (name not synced yet)"
# A search starting with one of these is the start of a Stripe ID, not a person.
ID_PREFIXES = ("cus_", "seti_", "pi_", "fca_", "pm_", "py_", "ch_", "fcsess_", "cs_")


@dataclass(frozen=True)
class Person:
    """A customer as people recognise them (from the mirrored customers table)."""

    name: str | None = None
    email: str | None = None


def person_words(person: Person | None, customer_id: str | None = None) -> str:
    """'Ada Lovelace · ada@x.org'; the one of them there is; else the customer's ID ('cus_7
    (name not synced yet)': it said "Customer not in the store yet" on every row of a fresh
    store); 'No customer' without one."""
    known = person or Person()
    parts = [p.strip() for p in (known.name, known.email) if p and p.strip()]
    if parts:
        return SEP.join(parts)
    return UNKNOWN_CUSTOMER.format(customer_id=customer_id) if customer_id else NO_CUSTOMER


# The same in a table whose Customer ID column holds the whole ID: its start, so the cell reads
# in full in a narrow column ("cus_x0411… (nam…" was all Collect showed at 1,400 px).
UNKNOWN_CELL = "{start}… · not synced"
ID_START = 8  # "cus_" and 4 characters: enough to tell rows apart at a glance
CELL_HELP = (
    "Name · email. “not synced”: the store has no row for the customer yet (“Sync from Stripe” "
    "reads it); the Customer ID column holds the whole ID."
)


def person_cell(person: Person | None, customer_id: str | None = None) -> str:
    """:func:`person_words` for a table cell beside a Customer ID column: a customer the store
    has no row for reads "cus_0uun… · not synced" instead of the whole ID in words."""
    known = person or Person()
    if any(p and p.strip() for p in (known.name, known.email)) or not customer_id:
        return person_words(person, customer_id)
    if len(customer_id) <= ID_START + 1:
        return f"{customer_id} · not synced"
    return UNKNOWN_CELL.format(start=customer_id[:ID_START])


def bank_words(bank: str | None, last4: str | None) -> str:
    """'StripeBank ••6833', 'Bank ••6833', 'StripeBank', or '' when nothing is known."""
    name = (bank or "").strip()
    digits = (last4 or "").strip()
    if not digits:
        return name
    return f"{name or 'Bank'} ••{digits}"


def label(
    *,
    person: Person | None,
    customer_id: str | None,
    bank: str | None = None,
    last4: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    age_seconds: int | None = None,
    ident: str | None = None,
    extra: str | None = None,
    anonymous: bool = False,
) -> str:
    """A row or option: person, bank, amount, age, ``extra``, then the ID (the customer's
    first when no name or email is known, so the option still tells people apart).
    ``anonymous``: for a role that may not see names and emails, no person words at all (the
    customer's ID before the request's)."""
    parts = ["" if anonymous else person_words(person, customer_id), bank_words(bank, last4)]
    if amount is not None and currency:
        parts.append(format_plain(amount, currency))
    if age_seconds is not None:
        parts.append(wording.ago(age_seconds))
    parts.append(extra or "")
    named = bool(person and ((person.name or "").strip() or (person.email or "").strip()))
    if anonymous and customer_id and customer_id != ident:
        parts.append(customer_id)
    if anonymous or named or ident != customer_id:  # else the person words name it already
        parts.append(ident or "")
    return SEP.join(p for p in parts if p)


def account_option(
    bank: str | None, last4: str | None, display_name: str | None, ident: str
) -> str:
    """One of a customer's accounts (the customer is known): 'StripeBank ••6833 · Checking ·
    fca_…'."""
    parts = (bank_words(bank, last4), (display_name or "").strip(), ident)
    return SEP.join(p for p in parts if p)


# Letters NFKD does not take apart into a base letter and a mark.
_UNMARKED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})


def fold(text: str) -> str:
    """``text`` as names are searched: lower case without accents ("José Nguyễn" → "jose
    nguyen"), quotes straight and spaces single ("O’Connor" → "o'connor"), so ops find a
    customer whichever way either side wrote the name."""
    parts = unicodedata.normalize("NFKD", as_searched(text).casefold().translate(_UNMARKED))
    return "".join(c for c in parts if not unicodedata.combining(c))


def is_id_search(text: str | None) -> bool:
    """Whether a search box holds the start of a Stripe ID rather than part of a name or email."""
    return (text or "").strip().lower().startswith(ID_PREFIXES)


def person_term(text: str | None) -> str:
    """The lower-case text to look for inside names and emails ('' for an ID or nothing)."""
    cleaned = (text or "").strip()
    return "" if is_id_search(cleaned) else cleaned.lower()


def intent_bank(intent: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(bank name, last 4) of a stored intent's bank account when its payment method was
    expanded (the sync expands it); (None, None) when only the ID is there."""
    pm = intent.get("payment_method")
    if not isinstance(pm, Mapping):
        return None, None
    bank = pm.get("us_bank_account")
    if not isinstance(bank, Mapping):
        return None, None
    name, last4 = bank.get("bank_name"), bank.get("last4")
    return (str(name) if name else None), (str(last4) if last4 else None)


def intent_amount(intent: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """(amount, currency) of a PaymentIntent; (None, None) for a SetupIntent."""
    amount, currency = intent.get("amount"), intent.get("currency")
    if isinstance(amount, int) and not isinstance(amount, bool) and currency:
        return amount, str(currency)
    return None, None


def first_of(shown: int, total: int, noun: str) -> str:
    """'first 50 of 1,204 requests', or '3 requests' ('1 request') when all are shown
    (``noun``: one, "request")."""
    if total > shown:
        return f"first {shown:,} of {wording.counted(total, noun)}"
    return wording.counted(total, noun)
