"""The pre-debit checks finance made in the demo world's past, so "Did our check work?" has
verdicts to join with the 90 days of debit outcomes.

Stripe keeps no record of fcops' checks; in sandbox mode the composition root (``bootstrap``)
asks for these planned checks and has fcops' own rule judge each one
(``services.adapters.check_history.seed_demo``). Each check is an FC account as it looked at check
time (the balance and its ``as_of``), the planned amount, and when it was made. Deterministic per
seed, drawn from the world as it stands:

- about three debits in four on a linked account were checked some hours before they were made;
- an R01 return's check saw, six times in ten, a balance above the amount (the money left the
  account between the check and the debit: an ``ok`` that let the return through), else the
  low balance itself (debited anyway);
- a settled debit's check saw roughly today's balance (one in ten just above the amount),
  now and then a day-old one (stale);
- some accounts with under $3,000 had a planned debit the check found short, and no debit
  followed (kept from bouncing).
"""

from __future__ import annotations

from typing import Any

from sandbox.api.charges import available_balance
from sandbox.core import State, clone
from sandbox.demo.seeds import DAY, HOUR

Obj = dict[str, Any]
CHECKED_SHARE = 0.75
OK_MISS_SHARE = 0.6
KEPT_SHARE = 0.15  # of thin accounts
KEPT_MAX_BALANCE = 300_000  # planned debits bounce on thin accounts, not on rich ones
THIN_SHARE = 0.1
WINDOW_DAYS = 58


def _snapshot(fca: Obj, *, balance: int | None, as_of: int, currency: str) -> Obj:
    account = clone(fca)
    account["status"] = "active"  # it was linked and in use when finance checked it
    account["status_details"] = {}
    if balance is None:
        return account
    account["balance"] = {
        "as_of": as_of,
        "cash": {"available": {currency: balance}},
        "credit": None,
        "current": {currency: balance},
        "type": "cash",
    }
    account["balance_refresh"] = {
        "last_attempted_at": as_of,
        "next_refresh_available_at": as_of + HOUR,
        "status": "succeeded",
    }
    return account


def _planned(account: Obj, amount: int, currency: str, checked_at: int, customer: Any) -> Obj:
    return {
        "account": account,
        "amount": amount,
        "currency": currency,
        "checked_at": checked_at,
        "customer": customer,
    }


def _linked_account(state: State, pi: Obj) -> Obj | None:
    error = pi.get("last_payment_error") or {}
    pm = state.lookup(pi.get("payment_method") or "") or error.get("payment_method")
    bank = (pm or {}).get("us_bank_account") or {}
    fca_id = bank.get("financial_connections_account")
    return state.lookup(fca_id) if fca_id else None


def _debit_check(state: State, pi: Obj, fca: Obj) -> Obj | None:
    rng = state.rng("demo-check", pi["id"])
    checked, miss, margin, age = (rng.random() for _ in range(4))
    if checked >= CHECKED_SHARE:
        return None
    amount, currency = int(pi["amount"]), str(pi["currency"])
    checked_at = int(pi["created"]) - int((0.25 + 30 * rng.random()) * HOUR)
    available = available_balance(fca, currency)
    error = (pi.get("last_payment_error") or {}).get("code")
    if available is None:
        snapshot = _snapshot(fca, balance=None, as_of=checked_at, currency=currency)
        return _planned(snapshot, amount, currency, checked_at, pi.get("customer"))
    if error == "insufficient_funds" and miss < OK_MISS_SHARE:
        balance = int(amount * (1.01 + 0.4 * margin))  # spent between the check and the debit
        age_seconds = int((1 + 22 * age) * HOUR)
    elif error == "insufficient_funds":
        balance, age_seconds = available, int((0.5 + 8 * age) * HOUR)
    else:
        balance = available + int(amount * (0.6 * margin - 0.1))
        if margin < THIN_SHARE:  # just enough then: a bigger buffer would have held it back
            balance = int(amount * (1 + margin))
        age_seconds = int((0.5 + (30 if age > 0.9 else 20) * age) * HOUR)
    snapshot = _snapshot(fca, balance=balance, as_of=checked_at - age_seconds, currency=currency)
    return _planned(snapshot, amount, currency, checked_at, pi.get("customer"))


def _kept_check(state: State, fca: Obj, now: int) -> Obj | None:
    rng = state.rng("demo-check-kept", fca["id"])
    kept, size, when, age = (rng.random() for _ in range(4))
    available = available_balance(fca, "usd")
    if kept >= KEPT_SHARE or available is None or available > KEPT_MAX_BALANCE:
        return None
    amount = max(5_000, int(max(available, 0) * (1.1 + 0.7 * size)) // 100 * 100)
    checked_at = now - int((1 + (WINDOW_DAYS - 1) * when) * DAY)
    snapshot = _snapshot(
        fca, balance=available, as_of=checked_at - int((0.5 + 9 * age) * HOUR), currency="usd"
    )
    return _planned(
        snapshot, amount, "usd", checked_at, fca.get("account_holder", {}).get("customer")
    )


def planned_checks(state: State) -> list[Obj]:
    """Every pre-debit check of the demo world's past, oldest first."""
    now = state.now()
    intents = state.find("payment_intent")
    # The newest intent dates the world (fixed once it is built, unlike the running clock), so
    # the same seed gives the same checks however long the sandbox has been up.
    anchor = max((int(pi["created"]) for pi in intents), default=now)
    planned = []
    for pi in intents:
        if not pi.get("latest_charge") or pi.get("created", now) > now:
            continue
        fca = _linked_account(state, pi)
        check = _debit_check(state, pi, fca) if fca else None
        if check is not None:
            planned.append(check)
    for fca in state.find("financial_connections.account"):
        check = _kept_check(state, fca, anchor)
        if check is not None:
            planned.append(check)
    return sorted(planned, key=lambda c: (c["checked_at"], c["account"]["id"]))
