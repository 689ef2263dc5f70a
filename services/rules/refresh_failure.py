"""What to do after a refresh at the bank ended ``failed``: the next step, in words.

Stripe ends a refresh ``failed`` when the bank sends no fresh data (reference §4); the data read
earlier stays (``balance`` keeps its old ``as_of``), and ``next_refresh_available_at`` says when
a new refresh may be asked for. Stripe retries nothing by itself except the transactions of a
subscribed account (about daily). So the sentence says what the page shows instead of fresh
data, when a person can try again, and when to ask the customer to link the account again.
An inactive or disconnected account is not judged here: the page says to relink it already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.rules import wording
from services.rules.refresh_rule import FEATURE_FIELD, refresh_button

__all__ = ["next_step"]

RELINK = (
    "If the next attempt fails too, ask the customer to link the account again (ops send a new "
    "collection request from Collect)."
)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kept(account: Mapping[str, Any], feature: str, now: int) -> str:
    """What the page shows in place of fresh data."""
    if feature == "balance":
        balance = account.get("balance")
        as_of = _int(balance.get("as_of")) if isinstance(balance, Mapping) else None
        if as_of is None:
            return "there is no balance from the bank yet"
        return (
            f"the balance shown is the bank's from {wording.timestamp(as_of)} "
            f"({wording.age(now - as_of)} old)"
        )
    if feature == "ownership":
        return "the owners shown are from the last refresh that succeeded, if any"
    return "the transactions read earlier stay as they were"


def _when(refresh: Mapping[str, Any], now: int) -> str:
    """When Stripe accepts the next refresh: 'now', or 'from 13:07 UTC (in 5 min)'."""
    next_at = _int(refresh.get("next_refresh_available_at"))
    if next_at is None or next_at <= now:
        return "now"
    return f"from {wording.timestamp(next_at)} ({wording.until(next_at - now)})"


def _retry(account: Mapping[str, Any], feature: str, refresh: Mapping[str, Any], *, now: int,
           may_refresh: bool) -> str:
    who = f"press {refresh_button(feature)}" if may_refresh else "ops can refresh it"
    again = f"{who} again {_when(refresh, now)}"
    if feature == "transactions" and "transactions" in (account.get("subscriptions") or ()):
        return (
            "Stripe tries again by itself about once a day while the account is subscribed; to "
            f"try sooner, {again}."
        )
    return f"Stripe does not try again by itself: {again}."


def _one(account: Mapping[str, Any], feature: str, *, now: int, may_refresh: bool) -> str | None:
    refresh = account.get(FEATURE_FIELD[feature])
    if not isinstance(refresh, Mapping) or refresh.get("status") != "failed":
        return None
    attempted = _int(refresh.get("last_attempted_at"))
    when = f" ({wording.timestamp(attempted)})" if attempted else ""
    return (
        f"The last {feature} refresh{when} failed: the bank sent no fresh data, so "
        f"{_kept(account, feature, now)}. {_retry(account, feature, refresh, now=now, may_refresh=may_refresh)}"
    )


def next_step(
    account: Mapping[str, Any],
    features: Sequence[str],
    *,
    now: int,
    may_refresh: Mapping[str, bool] | None = None,
) -> str | None:
    """One paragraph for the ``features`` whose last refresh failed on an active account: what
    is shown instead, when to try again, and when to ask for a relink; None when none failed.
    ``may_refresh[feature]`` False: the person may not refresh it (the sentence names ops)."""
    if account.get("status") != "active":
        return None
    allowed = may_refresh or {}
    sentences = [
        s
        for f in features
        if (s := _one(account, f, now=now, may_refresh=allowed.get(f, True))) is not None
    ]
    return " ".join([*sentences, RELINK]) if sentences else None
