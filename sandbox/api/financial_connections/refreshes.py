"""Refresh jobs (reference §4): a refresh is pending, then succeeds (or fails at a failing bank
or on an account no longer active) ``refresh_delay`` seconds later, starts a cooldown and emits
``…account.refreshed_<feature>``. A transactions subscription refreshes every sandbox day."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox import objects
from sandbox.api.financial_connections import (
    ACCOUNT,
    DAY,
    FEATURES,
    REFRESH_EVENT,
    REFRESH_FIELD,
    Obj,
    owners,
    transactions,
)
from sandbox.api.institutions import institution
from sandbox.core import Request, State, clone, route


@dataclass
class _Refreshes:
    """What Stripe knows about refreshes but never returns."""

    # (fca id, feature) → token of the refresh job that may complete it
    pending: dict[tuple[str, str], int] = field(default_factory=dict)
    tokens: int = 0
    refresh_counts: dict[str, int] = field(default_factory=dict)  # fca id → refreshes done
    subscription_gen: dict[str, int] = field(default_factory=dict)  # fca id → daily job's gen


def _private(state: State) -> _Refreshes:
    return state.private("fc_refreshes", _Refreshes)


def is_pending(state: State, account_id: str, feature: str) -> bool:
    return (account_id, feature) in _private(state).pending


def start_refresh(state: State, account: Obj, feature: str) -> None:
    """Mark ``feature`` pending now and schedule its completion after ``refresh_delay``."""
    priv = _private(state)
    refresh = objects.refresh_state("pending", last_attempted_at=state.now())
    if feature == "transactions":
        refresh = {"id": transactions.new_refresh_id(state), **refresh}
    account[REFRESH_FIELD[feature]] = refresh
    priv.tokens += 1
    token = priv.tokens
    priv.pending[(account["id"], feature)] = token
    state.schedule(
        state.config.refresh_delay,
        lambda: complete_refresh(state, account["id"], feature, token=token),
    )


def complete_refresh(
    state: State, account_id: str, feature: str, *, token: int | None = None
) -> bool:
    """Finish a pending refresh (succeeded, or failed at a failing bank) and emit its event."""
    priv = _private(state)
    key = (account_id, feature)
    if key not in priv.pending or (token is not None and priv.pending[key] != token):
        return False
    del priv.pending[key]
    account = state.lookup(account_id)
    if account is None:
        return False
    now = state.now()
    refresh = account[REFRESH_FIELD[feature]]
    bank = institution(state, account["institution_name"])
    failed = bank.refresh_fails or account["status"] != "active"
    if not failed:
        _apply_refresh_data(state, account, feature, now, refresh.get("id"))
    refresh["status"] = "failed" if failed else "succeeded"
    refresh["next_refresh_available_at"] = (
        now + int(state.config.refresh_cooldown) if account["status"] == "active" else None
    )
    state.emit(REFRESH_EVENT[feature], account)
    return True


def complete_all_refreshes(state: State) -> int:
    done = 0
    for account_id, feature in list(_private(state).pending):
        done += complete_refresh(state, account_id, feature)
    return done


def fail_pending(state: State, account: Obj) -> None:
    """Nothing in flight survives a disconnect: pending refreshes end ``failed``."""
    pending = _private(state).pending
    for feature in FEATURES:
        if pending.pop((account["id"], feature), None) is not None:
            account[REFRESH_FIELD[feature]]["status"] = "failed"


def _apply_refresh_data(
    state: State, account: Obj, feature: str, now: int, ref: str | None
) -> None:
    priv = _private(state)
    count = priv.refresh_counts.get(account["id"], 0) + 1
    priv.refresh_counts[account["id"]] = count
    if feature == "balance":
        account["balance"] = _drifted_balance(state, account, now, count)
    elif feature == "ownership":
        owners.new_ownership(state, account, now)
    else:
        assert ref is not None
        transactions.refresh_transactions(state, account, now, ref, count)


def _drifted_balance(state: State, account: Obj, now: int, n: int) -> Obj:
    """Move ``as_of`` to now and drift the figures by up to ±3 % (deterministic per seed)."""
    rng = state.rng("balance", account["id"], n)
    old = account.get("balance")
    if not old:
        credit = account.get("category") == "credit"
        start = rng.randint(50_000, 2_500_000)
        return objects.balance(
            as_of=now,
            current=-start if credit else start,
            available=None if credit else start - rng.randint(0, start // 10),
            type="credit" if credit else "cash",
        )
    bal = clone(old)
    factor = 1 + rng.uniform(-0.03, 0.03)

    def drift(amounts: dict | None) -> dict | None:
        if amounts is None:
            return None
        return {cur: int(round(v * factor)) for cur, v in amounts.items()}

    bal["as_of"] = now
    bal["current"] = drift(bal.get("current"))
    for sub, key in (("cash", "available"), ("credit", "used")):
        if isinstance(bal.get(sub), dict):
            bal[sub][key] = drift(bal[sub].get(key))
    return bal


# --------------------------------------------------------------------------- subscriptions


def schedule_subscriptions(state: State) -> None:
    """Start the daily transaction refresh for every subscribed account (after seeding)."""
    for account in state.find(ACCOUNT):
        if "transactions" in (account.get("subscriptions") or []):
            schedule_daily(state, account["id"])


def schedule_daily(state: State, account_id: str) -> None:
    """Refresh the account's transactions every sandbox day while it is subscribed."""
    priv = _private(state)
    gen = priv.subscription_gen.get(account_id, 0) + 1
    priv.subscription_gen[account_id] = gen

    def tick() -> None:
        if priv.subscription_gen.get(account_id) != gen:
            return
        account = state.lookup(account_id)
        if not account or "transactions" not in (account.get("subscriptions") or []):
            return
        if account["status"] == "active" and (account["id"], "transactions") not in priv.pending:
            start_refresh(state, account, "transactions")
        schedule_daily(state, account_id)

    state.schedule(DAY, tick)


def stop_daily(state: State, account_id: str) -> None:
    _private(state).subscription_gen.pop(account_id, None)


@route("POST", "/_sandbox/refreshes/complete", params=set())
def complete_refreshes_hook(req: Request, state: State) -> Obj:
    return {"ok": True, "completed": complete_all_refreshes(state)}
