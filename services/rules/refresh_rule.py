"""The one rule for "can this account's data be refreshed now, and if not, until when?".

Every page (Accounts, Ownership, Transactions, Balance check) and the batch check ask
:func:`judge`; ``browse_accounts.refresh_blocker`` adds only the role check before it.

Stripe's refresh is judged by the account, not by error codes (reference §4, §10): Stripe
documents no codes for "pending" or "throttled", so the rule reads ``status``, the feature's
``*_refresh.status`` and ``next_refresh_available_at`` before a refresh, and
:func:`started` compares the account before and after to decide whether Stripe really started
one (a new ``pending`` refresh with a new ``last_attempted_at``).

``next_refresh_available_at`` is null while a refresh is pending (the SDK's docstring) and
while the account is inactive (reference §4). Stripe's own example account also shows it null
on an *active* account whose last refresh ``failed`` — a shape with no documented meaning. The
rule treats null on a finished refresh of an active account as "Stripe gave no waiting time":
a refresh may be requested, and because :func:`started` checks the answer, a refresh Stripe
then declines is reported as not started, never as started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.rules import wording
from services.rules.clock import unix_seconds

__all__ = [
    "FEATURES",
    "FEATURE_FIELD",
    "FEATURE_PERMISSION",
    "Refreshability",
    "judge",
    "not_started_reason",
    "refresh_button",
    "started",
]

FEATURES: tuple[str, ...] = ("balance", "ownership", "transactions")
FEATURE_PERMISSION = {
    "balance": "balances",
    "ownership": "ownership",
    "transactions": "transactions",
}
FEATURE_FIELD = {
    "balance": "balance_refresh",
    "ownership": "ownership_refresh",
    "transactions": "transaction_refresh",
}


def refresh_button(feature: str) -> str:
    """The label of the button that asks for a ``feature`` refresh (Accounts, Ownership,
    Transactions): the one a sentence tells the person to press (again)."""
    return f"Refresh {feature}"


# Why a refresh can or cannot start; pages may branch on these, people read ``reason``.
READY = "ready"  # finished refresh, waiting time over
NEVER_REFRESHED = "never_refreshed"  # no refresh yet: the first one can start
NO_TIME_GIVEN = "no_time_given"  # finished refresh, next_refresh_available_at null (see above)
PENDING = "pending"
THROTTLED = "throttled"
INACTIVE = "inactive"
DISCONNECTED = "disconnected"
NO_PERMISSION = "no_permission"
MANUAL = "manual"  # no FC account at all (a manually entered bank account)


@dataclass(frozen=True)
class Refreshability:
    """The rule's answer for one account and feature."""

    feature: str
    allowed: bool
    kind: str
    reason: str  # a sentence for a person; "" when allowed
    until: int | None = None  # when Stripe allows the next refresh, if it said so
    next_refresh_available_at: int | None = None  # the account's field as read


def _refresh(account: Mapping[str, Any], feature: str) -> Mapping[str, Any] | None:
    value = account.get(FEATURE_FIELD[feature])
    return value if isinstance(value, Mapping) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _no(feature: str, kind: str, reason: str, **extra: Any) -> Refreshability:
    return Refreshability(feature=feature, allowed=False, kind=kind, reason=reason, **extra)


def judge(
    account: Mapping[str, Any] | None, feature: str, *, now: datetime | int
) -> Refreshability:
    """Whether Stripe would start a ``feature`` refresh of ``account`` now, and if not, why.

    ``account`` is a ``financial_connections.account`` dict as Stripe returns it, or None for a
    manually entered bank account (no FC account). Raises ValueError for an unknown feature.
    """
    if feature not in FEATURES:
        raise ValueError(
            f"'{feature}' is not a refresh Stripe offers; use one of: {', '.join(FEATURES)}."
        )
    moment = unix_seconds(now)
    if account is None:
        return _no(
            feature,
            MANUAL,
            "The bank account was entered manually (no Financial Connections account), so "
            "there is no bank data to refresh.",
        )
    status = account.get("status")
    if status == "disconnected":
        return _no(
            feature,
            DISCONNECTED,
            "The account was disconnected, so Stripe cannot refresh its data; the customer must "
            "link it again. Data read earlier stays available.",
        )
    if status != "active":
        return _no(
            feature,
            INACTIVE,
            f"The account is {status or 'not active'} (Stripe cannot reach the bank), so its "
            "data cannot be refreshed until the customer links it again. Data read earlier "
            "stays available.",
        )
    permission = FEATURE_PERMISSION[feature]
    if permission not in (account.get("permissions") or ()):
        return _no(
            feature,
            NO_PERMISSION,
            f"The '{permission}' permission was not granted when the account was linked, so "
            f"its {feature} cannot be refreshed.",
        )
    refresh = _refresh(account, feature)
    if refresh is None:
        return Refreshability(feature, True, NEVER_REFRESHED, "")
    next_at = _int(refresh.get("next_refresh_available_at"))
    if refresh.get("status") == "pending":
        attempted = _int(refresh.get("last_attempted_at"))
        since = f" (started {wording.timestamp(attempted)})" if attempted else ""
        return _no(
            feature,
            PENDING,
            f"A {feature} refresh is already running{since}; its result shows when it finishes.",
        )
    if next_at is None:
        return Refreshability(feature, True, NO_TIME_GIVEN, "")
    if next_at > moment:
        return _no(
            feature,
            THROTTLED,
            f"Stripe allows the next {feature} refresh from {wording.timestamp(next_at)} "
            f"(in {wording.duration(next_at - moment)}).",
            until=next_at,
            next_refresh_available_at=next_at,
        )
    return Refreshability(feature, True, READY, "", next_refresh_available_at=next_at)


def started(before: Mapping[str, Any] | None, after: Mapping[str, Any], feature: str) -> bool:
    """Did Stripe start a ``feature`` refresh between ``before`` and ``after``?

    Only a refresh whose ``last_attempted_at`` is newer than the one read before counts (a
    refresh that already finished by the time we read counts too). A pending refresh that was
    already pending before, or an account returned unchanged, means Stripe started nothing.
    """
    then = _refresh(before, feature) if before is not None else None
    now = _refresh(after, feature)
    if now is None:
        return False
    attempted = _int(now.get("last_attempted_at"))
    previous = _int(then.get("last_attempted_at")) if then is not None else None
    if attempted is None:
        return False
    return previous is None or attempted > previous


def not_started_reason(after: Mapping[str, Any], feature: str, *, now: datetime | int) -> str:
    """A sentence for a refresh Stripe answered but did not start, read from its answer."""
    verdict = judge(after, feature, now=now)
    if not verdict.allowed:
        return f"Stripe did not start the {feature} refresh. {verdict.reason}"
    return (
        f"Stripe did not start the {feature} refresh and gave no reason; the account is "
        "unchanged. Try again later."
    )
