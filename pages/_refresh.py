"""A page's part in a refresh at the bank: start it with a stable idempotency key, then follow
it without a manual reload (:mod:`components.refresh_watch`), reading its status as the person."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from components import refresh_watch
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.rules import bank_account
from services.usecases import refresh_balance


def start(scope: str, payload: Any, account_id: str, feature: str, fn: Any, *args: Any) -> bool:
    """Start the refresh ``fn(*args)`` under ``scope``'s key (a double click sends one request)
    and follow ``feature`` of ``account_id``. False when it failed: its sentence is on the page,
    and the caller must not rerun (the rerun would wipe it: the click would seem to do nothing)."""
    if runtime.call_keyed(scope, payload, fn, *args) is None:
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
        status=lambda acc, feature: runtime.call(
            refresh_balance.refresh_status, svc, actor, acc, feature
        ),
        on_finished=on_finished,
        pending_text=pending_text,
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
