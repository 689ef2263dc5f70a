"""Compare a bank account's owners (Financial Connections) with the Stripe customer record.

Financial Connections returns the owners the bank has on file for a linked account
(``financial_connections.account_owner``: ``name`` always, ``email``/``phone``/
``raw_address`` when the institution shares them). Before debiting an account an operator
wants to know whether it belongs to the customer. Banks and customers write names very
differently ("SMITH, ROBERT J" vs "Bob Smith"), so exact string equality is useless and
this package compares the way a person would: order, nicknames, initials, suffixes,
double surnames, typos, joint owners and business legal forms.

Everything here is pure and total: odd input (None, missing keys, empty strings) gives
``no_data`` or low scores, never an exception, because the page shows the result next to
live Stripe data and must not crash on a bank's quirks.

The modules, in reading order:

- ``verdict``: :func:`match_owners`, a customer against every owner: per-field scores, the best
  owner, the verdict and its reason in words; ``results`` holds what it returns and the thresholds.
- ``names`` parses a written name into people, businesses and DBA/AKA aliases;
  ``similarity`` compares single words (nicknames from :mod:`services.rules.nicknames`, initials,
  typos, hyphenated compounds) and pairs the words of two names; ``people`` scores two people's
  names; ``compare`` compares any two names (:func:`compare_names`).
- ``contact`` (email, phone) and ``address`` compare the other fields; ``text`` folds and reads
  text safely.
- ``views``: the typed views the ownership review hands to pages, and its PII-free wording.

See https://docs.stripe.com/financial-connections/ownership for the owner object.
"""

from __future__ import annotations

from services.rules.owners.address import ParsedAddress, compare_addresses, parse_raw_address
from services.rules.owners.compare import compare_names
from services.rules.owners.contact import compare_emails, compare_phones
from services.rules.owners.results import (
    NAME_MATCH,
    NAME_MISMATCH,
    FieldMatch,
    OwnerMatch,
    OwnershipMatch,
)
from services.rules.owners.verdict import match_owners

__all__ = [
    "NAME_MATCH",
    "NAME_MISMATCH",
    "FieldMatch",
    "OwnerMatch",
    "OwnershipMatch",
    "ParsedAddress",
    "compare_addresses",
    "compare_emails",
    "compare_names",
    "compare_phones",
    "match_owners",
    "parse_raw_address",
]
