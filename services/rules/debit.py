"""Pre-debit balance checks: will this ACH debit likely clear, judging by the FC balance?

An ACH debit that bounces for insufficient funds (R01) costs a return fee, can end the mandate
and shows up days later (reference §6.4), so operators look at the linked account's balance
before debiting. The balance is only as good as its source: a manually entered account has
none, a bank may give only the posted `current` figure, and `as_of` can be a day old
(reference §2.1). `assess_debit` therefore returns a verdict *and* the reasons behind it, most
important first, so a person can decide what to do (refresh, wait, debit anyway).

Everything here is pure: the account is a `financial_connections.account` dict as Stripe
returns it, and `now` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.rules import refresh_rule, wording
from services.rules.clock import unix_seconds
from services.rules.money import MoneyError, format_plain, validate_currency
from services.rules.relink import relink_needed

__all__ = [
    "Assessment",
    "DebitPolicy",
    "assess_debit",
    "effective_balance",
    "refresh_worth_offering",
]

OK = "ok"
INSUFFICIENT = "insufficient"
STALE = "stale"
UNAVAILABLE = "unavailable"
# How old a balance a short debit is judged on must be before a refresh is offered for it: a
# figure read minutes ago will not have changed, and each refresh is a bank call with a cooldown.
REFRESH_OFFER_AGE = 3_600


@dataclass(frozen=True)
class DebitPolicy:
    """How much headroom a debit needs and how old a balance may be before it is not trusted.

    Buffers exist because the balance can move between `as_of` and settlement (other debits,
    card holds), so "exactly enough" is usually not enough.
    """

    buffer_amount: int = 0
    buffer_percent: float = 0.0
    max_age_seconds: int = 86_400

    def __post_init__(self) -> None:
        if self.buffer_amount < 0 or self.buffer_percent < 0:
            raise ValueError("Debit buffers cannot be negative.")
        if not math.isfinite(self.buffer_percent):
            raise ValueError("The percentage buffer must be a finite number.")
        if self.max_age_seconds <= 0:
            raise ValueError("The maximum balance age must be positive.")

    def required(self, amount: int) -> int:
        """Balance needed to cover `amount`: amount + fixed buffer + percentage rounded up.

        The percentage goes through Decimal because float arithmetic turns 1,000 x 1.1 % into
        11.000000000000002, which `ceil` would round up to a whole extra cent.
        """
        percent = Decimal(amount) * Decimal(str(self.buffer_percent)) / 100
        return amount + self.buffer_amount + math.ceil(percent)


@dataclass(frozen=True)
class Assessment:
    """The verdict on one planned debit, with everything a page needs to explain it."""

    verdict: str
    reasons: tuple[str, ...]
    amount: int
    currency: str
    required: int
    balance: int | None
    balance_source: str | None
    as_of: int | None
    age_seconds: int | None
    shortfall: int | None
    refreshable_at: int | None
    can_refresh_now: bool
    # A refresh is due and Stripe allows it now: the balance is stale, or there is no figure
    # yet (never fetched, or the bank gave none) on an account a refresh can reach. The single
    # check, its "Refresh balance now" button and the batch all refresh on this one rule.
    needs_refresh: bool = False
    # A refresh is worth offering to a person: ``needs_refresh``, or the debit is short on a
    # balance at least REFRESH_OFFER_AGE old while Stripe allows a refresh now (money may have
    # come in since; finance refreshes before blocking a debit). Only offered, never automatic:
    # the batch and "Refresh stale balances" keep to ``needs_refresh``.
    refresh_offered: bool = False

    @property
    def is_ok(self) -> bool:
        return self.verdict == OK

    @property
    def refresh_label(self) -> str:
        """Balance check's button for this debit's refresh ("Fetch the balance now" with no
        figure yet); a sentence after a 5xx names the same one."""
        return "Refresh balance now" if self.balance is not None else "Fetch the balance now"

    @property
    def refresh_waits(self) -> bool:
        """A refresh a person would be offered (``refresh_offered``) but for Stripe's wait: the
        balance is stale, or the debit is short on a balance at least REFRESH_OFFER_AGE old,
        and Stripe does not allow a refresh before ``refreshable_at`` (the page says when)."""
        if self.can_refresh_now or self.refreshable_at is None:
            return False
        if self.verdict == STALE:
            return True
        return self.verdict == INSUFFICIENT and refresh_worth_offering(True, self.age_seconds)


def effective_balance(account: Mapping[str, Any], currency: str) -> tuple[int | None, str | None]:
    """The figure to compare a debit with, and where it came from.

    `cash.available` (after pending items and holds) is the right figure for an NSF check; banks
    that do not report it leave only `current`, the posted balance (reference §2.1).
    Returns (None, None) when the bank gave no figure in `currency`.
    """
    balance = account.get("balance")
    if not isinstance(balance, Mapping):
        return None, None
    code = currency.lower()
    cash = balance.get("cash")
    available = _amount_in(cash.get("available") if isinstance(cash, Mapping) else None, code)
    if available is not None:
        return available, "available"
    current = _amount_in(balance.get("current"), code)
    if current is not None:
        return current, "current"
    return None, None


def assess_debit(
    account: Mapping[str, Any] | None,
    amount: int,
    currency: str,
    *,
    now: datetime | int,
    policy: DebitPolicy | None = None,
    debits: int = 1,
) -> Assessment:
    """Judge whether `account` can cover a debit of `amount` minor units of `currency`
    (`debits` > 1: the total of that many debits of one batch, judged together).

    Verdicts, checked in this order: "unavailable" (no usable balance at all), "stale" (the
    balance is older than `policy.max_age_seconds`), "insufficient", "ok". An inactive or
    disconnected account's last balance is still judged (earlier data stays readable and the
    payment method usable, per Stripe's disconnections guide); the reasons say it can no
    longer be refreshed. An announced deactivation adds "relink needed by <date>".
    Raises MoneyError for a non-positive amount or an unknown currency.
    """
    code = validate_currency(currency)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise MoneyError("The debit amount must be a positive whole number of minor units.")
    rules = policy or DebitPolicy()
    moment = unix_seconds(now)
    rule = refresh_rule.judge(account, "balance", now=moment)
    can_refresh, why_not = rule.allowed, rule.reason
    refresh_at = rule.until or rule.next_refresh_available_at
    draft = _Draft(amount=amount, currency=code, required=rules.required(amount), debits=debits)
    draft.can_refresh_now, draft.refreshable_at = can_refresh, refresh_at
    blocker = _unusable_account_reason(account)
    if account is None or blocker is not None:
        draft.reasons.append(blocker or _MANUAL)
        return draft.finish(UNAVAILABLE)
    missing = _missing_balance_reason(account, code)
    if missing is not None:
        draft.reasons.append(missing)
        # No figure at all is the stalest balance there is; a figure in another currency is not
        # something a refresh is known to change.
        no_figure = not isinstance(account.get("balance"), Mapping)
        draft.needs_refresh = can_refresh and no_figure
        if no_figure:  # "A balance refresh can be requested now" would promise what it cannot
            _add_refresh_sentence(draft, account, why_not)
        _add_refresh_notes(draft, account, moment)
        return _with_relink(draft.finish(UNAVAILABLE), account, moment)
    draft.balance, draft.balance_source = effective_balance(account, code)
    draft.as_of, draft.age_seconds = _age(account, moment)
    return _with_relink(_judge(draft, account, rules, moment, why_not), account, moment)


def _with_relink(result: Assessment, account: Mapping[str, Any], moment: int) -> Assessment:
    """Stripe announced the account's deactivation: say by when it must be relinked."""
    relink = relink_needed(account)
    if relink is None:
        return result
    return replace(result, reasons=(*result.reasons, relink.sentence(now=moment)))


# --- the verdicts ---------------------------------------------------------------------------

_MANUAL = (
    "This payment method was entered manually (no Financial Connections account), "
    "so there is no bank balance to check."
)


def _unusable_account_reason(account: Mapping[str, Any] | None) -> str | None:
    """Why this account can never give a usable balance as things stand, or None."""
    if account is None:
        return _MANUAL
    if "balances" not in (account.get("permissions") or ()):
        return (
            "The account holder did not grant access to balances (the `balances` permission), "
            "so the balance cannot be checked."
        )
    category = account.get("category")
    if category != "cash":
        return (
            f"This is a {category or 'non-cash'} account; only cash (checking or savings) "
            "accounts are checked for sufficient funds."
        )
    return None


def _missing_balance_reason(account: Mapping[str, Any], currency: str) -> str | None:
    status = account.get("status")
    if not isinstance(account.get("balance"), Mapping) and status != "active":
        return f"The bank account is {status or 'not active'} and Stripe holds no balance for it."
    if not isinstance(account.get("balance"), Mapping):
        refresh = account.get("balance_refresh")
        if not isinstance(refresh, Mapping):
            return "The balance has never been refreshed, so there is no figure yet."
        return "The bank has not provided a balance for this account yet."
    if effective_balance(account, currency)[0] is None:
        held = _currencies(account["balance"])
        listed = ", ".join(c.upper() for c in held) if held else "no currency"
        return f"The bank reported a balance in {listed}, not in {currency.upper()}."
    return None


def _judge(
    draft: _Draft, account: Mapping[str, Any], rules: DebitPolicy, moment: int, why_not: str
) -> Assessment:
    assert draft.balance is not None  # guaranteed by _missing_balance_reason
    covers = draft.balance >= draft.required
    source = "available" if draft.balance_source == "available" else "current (posted)"
    figure = f"{source} balance of {format_plain(draft.balance, draft.currency)}"
    need = _need_phrase(draft)
    if draft.age_seconds is None or draft.age_seconds > rules.max_age_seconds:
        draft.reasons.append(_stale_sentence(draft, rules))
        implied = "would cover" if covers else "would not cover"
        draft.reasons.append(f"Taken at face value, the {figure} {implied} {need}.")
        if account.get("status") == "active":  # else the sentence below says it
            _add_refresh_sentence(draft, account, why_not)
        draft.needs_refresh = draft.can_refresh_now
        verdict = STALE
    elif not covers:
        draft.shortfall = draft.required - draft.balance
        short = format_plain(draft.shortfall, draft.currency)
        draft.reasons.append(f"The {figure} is {short} short of {need}.")
        draft.refresh_offered = refresh_worth_offering(draft.can_refresh_now, draft.age_seconds)
        verdict = INSUFFICIENT
    else:
        draft.reasons.append(f"The {figure} covers {need}.")
        verdict = OK
    if draft.balance_source == "current":
        draft.reasons.append(
            "The bank reports only the posted balance, which leaves out pending items and holds."
        )
    if account.get("status") != "active":
        draft.reasons.append(_no_longer_refreshable(account))
    _add_refresh_notes(draft, account, moment)
    return draft.finish(verdict)


def _no_longer_refreshable(account: Mapping[str, Any]) -> str:
    """An inactive or disconnected account keeps its earlier data and its payment method
    (Stripe's disconnections guide): the balance is judged, but it cannot get fresher."""
    status = account.get("status") or "not active"
    return (
        f"The account is {status}, so this balance can no longer be refreshed: it is the last "
        "one Stripe read. The payment method stays usable; ask the customer to link the "
        "account again to get fresh balances."
    )


def _need_phrase(draft: _Draft) -> str:
    amount = format_plain(draft.amount, draft.currency)
    debit = f"{amount} debit" if draft.debits == 1 else f"{amount} of these {draft.debits} debits"
    if draft.required == draft.amount:
        return f"the {debit}"
    required = format_plain(draft.required, draft.currency)
    return f"the {required} required ({debit} plus buffer)"


def _stale_sentence(draft: _Draft, rules: DebitPolicy) -> str:
    limit = wording.duration(rules.max_age_seconds, long=True)
    if draft.as_of is None or draft.age_seconds is None:
        return f"The bank gave no date for the balance, so it may be older than {limit}."
    return (
        f"The balance is {wording.duration(draft.age_seconds, long=True)} old (as of {wording.timestamp(draft.as_of)}), "
        f"older than the limit of {limit}."
    )


def _add_refresh_sentence(draft: _Draft, account: Mapping[str, Any], why_not: str) -> None:
    """Say whether a refresh can fix things; a pending one is covered by its own note."""
    refresh = account.get("balance_refresh")
    if isinstance(refresh, Mapping) and refresh.get("status") == "pending":
        return
    if draft.can_refresh_now:
        draft.reasons.append("A balance refresh can be requested now.")
    else:
        draft.reasons.append(why_not or "A balance refresh cannot be requested now.")


def _add_refresh_notes(draft: _Draft, account: Mapping[str, Any] | None, moment: int) -> None:
    """Mention a failed or pending last refresh: both change how far the figure can be trusted."""
    refresh = account.get("balance_refresh") if account is not None else None
    if not isinstance(refresh, Mapping):
        return
    status = refresh.get("status")
    attempted = refresh.get("last_attempted_at")
    stamp = wording.timestamp(attempted) if isinstance(attempted, int) else ""
    at = f" (attempted {stamp})" if stamp else ""
    if status == "failed":
        note = "The last balance refresh failed" + at
        tail = (
            "; the figure shown is from an earlier refresh." if draft.balance is not None else "."
        )
        draft.reasons.append(note + tail)
    elif status == "pending":
        tail = (
            "; the figure shown is from before it."
            if draft.balance is not None
            else "; there is no figure until it finishes."
        )
        # last_attempted_at is when the attempt was initiated (the SDK's docstring): of one
        # still pending, that is when it started.
        since = f" (started {stamp})" if stamp else ""
        draft.reasons.append("A balance refresh is in progress" + since + tail)


def refresh_worth_offering(can_refresh_now: bool, age_seconds: int | None) -> bool:
    """A short debit's balance: offer a refresh when Stripe allows one now and the figure is at
    least :data:`REFRESH_OFFER_AGE` old (an unknown age counts as old)."""
    return can_refresh_now and (age_seconds is None or age_seconds >= REFRESH_OFFER_AGE)


# --- small helpers --------------------------------------------------------------------------


class _Draft:
    """Mutable scratch pad while the reasons are collected; frozen into an Assessment."""

    def __init__(self, *, amount: int, currency: str, required: int, debits: int = 1) -> None:
        self.amount, self.currency, self.required = amount, currency, required
        self.debits = debits
        self.reasons: list[str] = []
        self.balance: int | None = None
        self.balance_source: str | None = None
        self.as_of: int | None = None
        self.age_seconds: int | None = None
        self.shortfall: int | None = None
        self.refreshable_at: int | None = None
        self.can_refresh_now = False
        self.needs_refresh = False
        self.refresh_offered = False

    def finish(self, verdict: str) -> Assessment:
        return Assessment(
            verdict=verdict,
            reasons=tuple(self.reasons),
            amount=self.amount,
            currency=self.currency,
            required=self.required,
            balance=self.balance,
            balance_source=self.balance_source,
            as_of=self.as_of,
            age_seconds=self.age_seconds,
            shortfall=self.shortfall,
            refreshable_at=self.refreshable_at,
            can_refresh_now=self.can_refresh_now,
            needs_refresh=self.needs_refresh,
            refresh_offered=self.refresh_offered or self.needs_refresh,
        )


def _amount_in(by_currency: object, currency: str) -> int | None:
    if not isinstance(by_currency, Mapping):
        return None
    value = by_currency.get(currency)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _currencies(balance: Mapping[str, Any]) -> list[str]:
    cash = balance.get("cash")
    maps = [balance.get("current"), cash.get("available") if isinstance(cash, Mapping) else None]
    found = {code for m in maps if isinstance(m, Mapping) for code, v in m.items() if v is not None}
    return sorted(found)


def _age(account: Mapping[str, Any], moment: int) -> tuple[int | None, int | None]:
    as_of = account["balance"].get("as_of")
    if isinstance(as_of, bool) or not isinstance(as_of, int):
        return None, None
    # A bank clock slightly ahead of ours must not make the balance look younger than new.
    return as_of, max(0, moment - as_of)
