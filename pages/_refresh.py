"""A page's part in a refresh at the bank: start it with a stable idempotency key, then follow
it without a manual reload (:mod:`components.refresh_watch`), reading its status as the person."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import refresh_watch
from components.feedback import format_timestamp, format_until
from pages import _live as live
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.errors import StripeUnavailable
from services.rules import bank_account
from services.usecases import refresh_balance

MISSES = "_refresh_misses"  # {"fca_…:feature": polls in a row that could not read Stripe}
GIVE_UP = 20  # about 30 s of polls (every 1.5 s) without reading Stripe: stop following
FEATURE_WORDS = {"balance": "balance", "ownership": "owners", "transactions": "transactions"}


@dataclass(frozen=True)
class Unread:
    """A poll that could not read Stripe: as far as fcops knows the refresh still runs."""

    note: str
    pending: bool = True


def _read(
    svc: Services, actor: Actor, account_id: str, feature: str
) -> bank_account.RefreshState | Unread | None:
    """The refresh's state. A Stripe hiccup (a 500, a timeout, a 429) does not end the following:
    the poll says so and asks again, and only after :data:`GIVE_UP` polls in a row gives up
    (None: the page says the outcome is not known). Before, the first failed poll ended it and
    the page said the refresh had ended (Ownership: "the bank did not return owners")."""
    misses: dict[str, int] = st.session_state.setdefault(MISSES, {})
    key = f"{account_id}:{feature}"
    try:
        state = refresh_balance.refresh_status(svc, actor, account_id, feature)
    except StripeUnavailable as err:
        misses[key] = misses.get(key, 0) + 1
        if misses[key] < GIVE_UP:
            return Unread(
                f"Stripe could not be read just now ({runtime.mask_secrets(str(err))}); fcops "
                "asks again every few seconds."
            )
        misses.pop(key, None)
        return None
    except Exception as err:  # any other failure: its sentence, then stop following
        misses.pop(key, None)
        runtime.show_error(err)
        return None
    misses.pop(key, None)
    return state


def start(
    scope: str, payload: Any, account_id: str, feature: str, fn: Any, *args: Any, **kwargs: Any
) -> bool:
    """Start the refresh ``fn(*args, **kwargs)`` under ``scope``'s key (a double click sends one request)
    and follow ``feature`` of ``account_id``. False when it failed: its sentence is on the page,
    and the caller must not rerun (the rerun would wipe it: the click would seem to do nothing)."""
    asking = f"Asking Stripe to refresh the {FEATURE_WORDS.get(feature, feature)}…"
    if runtime.call_stripe_keyed(asking, scope, payload, fn, *args, **kwargs) is None:
        return False
    runtime.new_request(scope)  # the next refresh, after the cooldown, is a new request
    refresh_watch.watch(account_id, feature)
    return True


def follow(
    svc: Services,
    actor: Actor,
    account_id: str,
    features: Sequence[str],
    *,
    on_finished: Callable[[str, bank_account.RefreshState | None], None],
    pending_text: Callable[[str], str],
) -> None:
    """Show the watched ``features`` still pending; hand each finished one to ``on_finished``."""
    refresh_watch.poll(
        account_id,
        features=features,
        status=lambda acc, feature: _read(svc, actor, acc, feature),
        on_finished=on_finished,
        pending_text=pending_text,
        still_open=live.page_still_open,
    )



def unfollowed(feature: str, then: str) -> str:
    """What a page says when it stopped following a refresh (``feature``: balance, ownership,
    transaction) because Stripe could not be read for about half a minute; ``then``: what to do."""
    return (
        f"fcops stopped following the {feature} refresh: Stripe could not be read for about half "
        f"a minute, so how it ended is not known yet. {then}"
    )

def follow_one(
    svc: Services,
    actor: Actor,
    account_id: str,
    feature: str,
    on_finished: Callable[[str, bank_account.RefreshState | None], None],
    pending_text: str,
) -> None:
    """Follow one feature's refresh, known to be running (started here or seen pending);
    ``on_finished(account_id, state)`` when it ends."""
    refresh_watch.watch(account_id, feature)
    follow(
        svc,
        actor,
        account_id,
        (feature,),
        on_finished=lambda _feature, state: on_finished(account_id, state),
        pending_text=lambda _feature: pending_text,
    )


def next_refresh_note(refreshable_at: int, *, now: int) -> None:
    """When Stripe allows the next refresh of a balance the page would offer to refresh."""
    st.info(
        f"Next refresh available {format_until(refreshable_at - now)} "
        f"(at {format_timestamp(refreshable_at)}).",
        icon=":material/hourglass:",
    )
