"""Deactivation ahead of time: Stripe announces that an FC account will become inactive.

Since dahlia (and in the pinned endive) an account carries ``status_details.active`` with
``action: relink_required``, a ``cause`` and an ``expected_deactivation_date``, announced by
``financial_connections.account.upcoming_deactivation`` and moved by
``…expected_deactivation_date_updated`` (reference §2.1, §5.1; SDK
``financial_connections/_account.py``). The sandbox announces some demo accounts (demo/seed.py),
offers a hook to announce one, and deactivates the account when the date comes. Hooks also
deactivate and reactivate an account at once.
"""

from __future__ import annotations

from sandbox.api.financial_connections import DAY, REFRESH_FIELD, Obj, account_of
from sandbox.api.financial_connections.refreshes import is_pending
from sandbox.core import Request, State, clone, invalid, route

RELINK_CAUSES = ("access_expired", "institution_requirement", "unspecified")


def announce_deactivation(
    state: State,
    account: Obj,
    *,
    expected: int,
    cause: str = "access_expired",
    created: int | None = None,
) -> Obj:
    """Stripe expects ``account`` to become inactive at ``expected`` unless it is relinked.

    Sets ``status_details.active`` (``action: relink_required``) and emits
    ``…account.upcoming_deactivation`` the first time, ``…expected_deactivation_date_updated``
    when the date moves; on the date the account becomes inactive (``…account.deactivated``).
    """
    if account["status"] != "active":
        raise invalid(f"The account {account['id']} is {account['status']}, not active.")
    if cause not in RELINK_CAUSES:
        raise invalid(f"cause must be one of {', '.join(RELINK_CAUSES)}", param="cause")
    before = clone(account.get("status_details"))
    current = (before or {}).get("active") or {}
    announced = current.get("action") == "relink_required"
    if announced and current.get("expected_deactivation_date") == expected:
        return account
    account["status_details"] = {
        "active": {
            "action": "relink_required",
            "cause": cause,
            "expected_deactivation_date": expected,
        }
    }
    name = "expected_deactivation_date_updated" if announced else "upcoming_deactivation"
    state.emit(
        f"financial_connections.account.{name}",
        account,
        previous_attributes={"status_details": before},
        created=created,
    )
    state.schedule(
        max(0, expected - state.now()),
        lambda: _deactivate_as_announced(state, account["id"], expected),
    )
    return account


def _deactivate_as_announced(state: State, account_id: str, expected: int) -> None:
    account = state.lookup(account_id)
    if account is None or account["status"] != "active":
        return
    active = (account.get("status_details") or {}).get("active") or {}
    if active.get("expected_deactivation_date") != expected:
        return  # relinked, or the date moved: a later job handles it
    set_active(state, account, active=False)


@route(
    "POST",
    "/_sandbox/financial_connections/accounts/{id}/upcoming_deactivation",
    params={"expected_deactivation_date", "days", "cause"},
)
def upcoming_deactivation_hook(req: Request, state: State) -> Obj:
    """Announce (or move) an account's deactivation: ``expected_deactivation_date`` (Unix
    seconds) or ``days`` from now (default 14), ``cause`` (default ``access_expired``)."""
    account = account_of(state, req.path_args["id"], param="id")
    expected = req.int("expected_deactivation_date")
    if expected is None:
        expected = state.now() + (req.int("days", 14) or 14) * DAY
    return announce_deactivation(
        state, account, expected=expected, cause=req.str("cause") or "access_expired"
    )


def set_active(state: State, account: Obj, *, active: bool) -> Obj:
    """``inactive`` → ``active`` (relinked) or back, with ``…account.reactivated|deactivated``."""
    want, was = ("active", "inactive") if active else ("inactive", "active")
    if account["status"] != was:
        raise invalid(f"The account {account['id']} is {account['status']}, not {was}.")
    account["status"] = want
    account["status_details"] = None  # inactive: no longer "active"; relinked: nothing pending
    now = state.now()
    for feature, name in REFRESH_FIELD.items():
        refresh = account.get(name)
        if refresh and not is_pending(state, account["id"], feature):
            refresh["next_refresh_available_at"] = now if active else None
    event = "reactivated" if active else "deactivated"
    state.emit(
        f"financial_connections.account.{event}", account, previous_attributes={"status": was}
    )
    return account


@route("POST", "/_sandbox/financial_connections/accounts/{id}/deactivate", params=set())
def deactivate_hook(req: Request, state: State) -> Obj:
    return set_active(state, account_of(state, req.path_args["id"], param="id"), active=False)


@route("POST", "/_sandbox/financial_connections/accounts/{id}/reactivate", params=set())
def reactivate_hook(req: Request, state: State) -> Obj:
    return set_active(state, account_of(state, req.path_args["id"], param="id"), active=True)
