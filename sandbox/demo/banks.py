"""The demo world's banks: which institutions accounts are linked at, how often, and how each
prints card purchases and transfers (plus banks people type in by hand)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.demo.model import DemoInstitution


def _aba(prefix8: str) -> str:
    """Append the ABA check digit: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    d = [int(c) for c in prefix8]
    partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
    return prefix8 + str((10 - partial % 10) % 10)


@dataclass(frozen=True)
class Bank:
    institution: DemoInstitution
    weight: float  # share of linked accounts
    only_current: bool  # the bank reports `current` but no `cash.available`
    card_prefix: str  # how this bank prints debit-card purchases
    short: str  # how other banks print transfers to/from it


BANKS: tuple[Bank, ...] = (
    Bank(DemoInstitution("First Harbor Bank", _aba("02100008")), 17, False, "POS PURCHASE ", "FIRST HARBOR"),
    Bank(DemoInstitution("Summit Credit Union", _aba("32227164")), 13, True, "DEBIT CARD ", "SUMMIT CU"),
    Bank(
        DemoInstitution("Great Lakes Savings", _aba("07200091"), refresh_fails=True),
        10, False, "CHECKCARD ", "GREAT LAKES SVG",
    ),
    Bank(DemoInstitution("Pacific Coast Bank", _aba("12100024")), 14, False, "", "PACIFIC COAST BK"),
    Bank(DemoInstitution("Evergreen Federal", _aba("25107312")), 11, True, "PURCHASE ", "EVERGREEN FED"),
    Bank(DemoInstitution("StripeBank", "110000000"), 9, False, "", "STRIPEBANK"),
    Bank(DemoInstitution("Test Institution", "110000000"), 7, False, "", "TEST INSTITUTION"),
    Bank(DemoInstitution("Sandbox Bank (OAuth)", "110000000"), 7, False, "", "SANDBOX BANK"),
    Bank(DemoInstitution("Ownership Accounts", "110000000"), 5, True, "", "OWNERSHIP ACCTS"),
    Bank(
        DemoInstitution("Invalid Payment Accounts", "110000000", supports_payments=False),
        4, False, "", "INVALID PMT ACCTS",
    ),
    Bank(
        DemoInstitution("Down Bank (Error)", "110000000", refresh_fails=True, link_fails=True),
        2, False, "", "DOWN BANK",
    ),
)  # fmt: skip


BANK_BY_NAME = {bank.institution.name: bank for bank in BANKS}


DOWN_BANK = "Down Bank (Error)"


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
        for b in BANKS
    ]


# Banks people type in when they enter account numbers by hand (no FC account behind them).
MANUAL_BANKS = (
    "STRIPE TEST BANK",
    "Liberty Trust Bank",
    "Heartland Community Bank",
    "Bayview Credit Union",
    "Prairie State Bank",
    "Granite Mountain Bank",
    "First Harbor Bank",
    "Pacific Coast Bank",
)
