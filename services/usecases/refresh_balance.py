"""Refresh an account's balance (or ownership, or transactions): start it, then poll it.

The one rule (:mod:`services.rules.refresh_rule`) is checked first on a fresh copy of the
account, so the person gets a sentence saying until when and no request is sent that Stripe
would not act on. That copy is the caller's own read when it is seconds old (the Accounts page
read the account in the same run as the click), else a read made here. Starting is audited as ``account.refresh``; each finished attempt a poll sees
is audited once as ``account.refresh.result``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from services import audit
from services.adapters import account_mirror as mirror
from services.adapters.backoff import settle
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    ChangeNotMade,
    ReadBackFailed,
    RefreshNotAllowed,
    StripeRequestError,
    StripeUnavailable,
    ValidationError,
    not_made,
    read_failed,
    unconfirmed_sentence,
)
from services.rules import input_limits, refresh_rule
from services.rules.bank_account import (
    RefreshState,
    check_feature,
    normalise_account,
    parse_account_id,
    refresh_of,
    refresh_state_of,
)
from services.usecases.browse_accounts import fetch_account, refresh_blocker


def require_idempotency_key(key: str | None) -> str:
    """Every state-changing Stripe call carries a key, so a double click or a retry after a
    timeout makes Stripe do it once (reference §1.6)."""
    clean = input_limits.stripe_text(key, field="idempotency_key")
    if not clean:
        raise ValidationError(
            "An idempotency key is required so a double click or a retry changes Stripe once."
        )
    return clean


# How old a caller's copy of the account may be to stand for "the account before the refresh".
# A page's run reads it and handles the click within seconds. The copy decides only whether to
# ask (Stripe's answer is judged again by :func:`refresh_rule.started`): a copy read before
# someone else's refresh started could take that refresh for ours, so the window stays short.
SEEN_FRESH_SECONDS = 15


def _account_before(
    svc: Services, account_id: str, seen: Mapping[str, Any] | None, seen_at: int | None
) -> dict[str, Any]:
    """The account as it stands before the refresh: the caller's copy when it is Stripe's and
    at most :data:`SEEN_FRESH_SECONDS` old, else a fresh read (mirrored)."""
    if (
        seen is not None
        and seen_at is not None
        and seen.get("id") == account_id
        and 0 <= svc.now() - seen_at <= SEEN_FRESH_SECONDS
    ):
        return dict(seen)
    began = mirror.read_mark(svc.engine)  # before the read (see mirror.read_mark)
    account = fetch_account(svc, account_id)
    mirror.upsert_account(svc.engine, account, read_began=began)
    return account


def _ask_stripe_to_refresh(
    svc: Services, account_id: str, feature: str, idempotency_key: str
) -> dict[str, Any]:
    """The refresh call; Stripe's refusal (HTTP 400) becomes RefreshNotAllowed with its sentence."""
    try:
        return svc.gateway.refresh_account(account_id, [feature], idempotency_key=idempotency_key)
    except StripeRequestError as err:
        raise RefreshNotAllowed(
            f"Stripe refused the {feature} refresh: {err}", request_id=err.request_id
        ) from None


@dataclass(frozen=True)
class Started:
    """A refresh Stripe started: the account (normalised), and ``server_error`` when Stripe
    answered the request with that 5xx though the account read back shows it started."""

    account: dict[str, Any]
    server_error: StripeUnavailable | None = None


def unconfirmed_words(feature: str, err: StripeUnavailable) -> str:
    """"Stripe did not confirm the balance refresh (a server error, Stripe request …), so it may
    have started": how every page begins a refresh Stripe answered with a 5xx."""
    return unconfirmed_sentence(f"the {feature} refresh", err, "it may have started")


def refresh(
    svc: Services,
    actor: Actor,
    account_id: str | None,
    feature: str,
    *,
    idempotency_key: str,
    seen: Mapping[str, Any] | None = None,
    seen_at: int | None = None,
) -> dict[str, Any]:
    """Start a balance, ownership or transactions refresh; audited as ``account.refresh``
    (:func:`refresh_started`, whose account this returns)."""
    return refresh_started(
        svc, actor, account_id, feature, idempotency_key=idempotency_key, seen=seen,
        seen_at=seen_at,
    ).account  # fmt: skip


def refresh_started(
    svc: Services,
    actor: Actor,
    account_id: str | None,
    feature: str,
    *,
    idempotency_key: str,
    seen: Mapping[str, Any] | None = None,
    seen_at: int | None = None,
    button: str | None = None,
) -> Started:
    """Start a balance, ownership or transactions refresh; audited as ``account.refresh``.

    Stripe's answer is judged by the account it returns: a refresh it did not start (no new
    pending refresh) raises RefreshNotAllowed and is audited as an error, never reported as
    started; a refusal carries Stripe's own sentence. ``seen`` (read from Stripe at
    ``seen_at``) spares a read when it is seconds old: a page that just drew the account.

    A 5xx may hide a refresh Stripe started: the account read back once decides (audited as
    ``unknown`` either way): started → :class:`Started` with ``server_error``; not started →
    :class:`ChangeNotMade` ("Refresh balance again is safe", or the caller's ``button``: the
    gateway spent the key, so the next request is new); the read failing too →
    :class:`ReadBackFailed`, saying both.
    """
    check_feature(feature)
    account_id = parse_account_id(account_id)
    idempotency_key = require_idempotency_key(idempotency_key)
    with audit.audited(
        svc.engine,
        actor=actor,
        action="account.refresh",
        target=account_id,
        params={"feature": feature},
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "accounts.refresh")
        if feature == "ownership":  # owner data is for ownership review (finance never sees it)
            require(actor, "ownership.review")
        account = _account_before(svc, account_id, seen, seen_at)
        blocker = refresh_blocker(account, feature, now=svc.now())
        if blocker:
            raise RefreshNotAllowed(blocker)
        began = mirror.read_mark(svc.engine)  # before Stripe's answer or the read back
        try:
            with audit.unconfirmed_change(
                ctx,
                *_unconfirmed_refresh(feature),
                shown=lambda _: "the account showed Stripe had not started it",
            ) as made:
                settled = made(
                    settle(
                        lambda: _ask_stripe_to_refresh(svc, account_id, feature, idempotency_key),
                        lambda: fetch_account(svc, account_id),
                        lambda current: refresh_rule.started(account, current, feature),
                        what=f"the {feature} refresh",
                    )
                )
        except ChangeNotMade as err:
            raise not_made(
                err,
                what=f"the {feature} refresh",
                maybe="it may have started",
                shown="the account read back shows Stripe did not start it",
                button=button or refresh_rule.refresh_button(feature),
            ) from None
        except ReadBackFailed as err:
            raise read_failed(
                err, what=f"the {feature} refresh", maybe="it may have started", read="the account"
            ) from None
        result = settled.value
        late = settled.server_error  # its request ID, not the read back's
        ctx.request_id = late.request_id if late else svc.gateway.last_request_id
        if settled.read_back:  # Stripe's answer was late: the account read back says it started
            ctx.params["read_back"] = settled.reads
        mirror.upsert_account(svc.engine, result, read_began=began)
        status = refresh_of(result, feature).get("status") or "unknown"
        ctx.params["status"] = status
        if not refresh_rule.started(account, result, feature):
            raise RefreshNotAllowed(
                refresh_rule.not_started_reason(result, feature, now=svc.now()),
                request_id=svc.gateway.last_request_id,
            )
        ctx.message = f"{feature.capitalize()} refresh started ({status})." + (
            " Stripe's answer came too late, so this was confirmed by reading the account back."
            if settled.read_back and settled.server_error is None
            else ""
        )
    return Started(normalise_account(result), settled.server_error)


# Where a person sees whether a refresh Stripe did not confirm started: the page that draws it.
_REFRESH_SHOWN_ON = {"balance": "Accounts", "ownership": "Ownership", "transactions": "Transactions"}


def _unconfirmed_refresh(feature: str) -> tuple[str, str, str]:
    """The words of a refresh's audit row when Stripe did not confirm it (``unknown``)."""
    page = _REFRESH_SHOWN_ON.get(feature, "Accounts")
    return (
        f"the {feature} refresh",
        "it may have started",
        f"the account's {feature} refresh state ({page}) shows whether it did",
    )


def _record_result(svc: Services, actor: Actor, account_id: str, state: RefreshState) -> None:
    """One ``account.refresh.result`` row per finished refresh attempt, however often it is polled.

    A refresh attempt is identified by its account, feature and ``last_attempted_at``; that key
    goes in the row's idempotency-key column so a repeat poll finds it and writes nothing.
    """
    attempt_key = f"result:{account_id}:{state.feature}:{state.last_attempted_at}"
    with session_scope(svc.engine) as session:
        seen = session.exec(
            select(AuditEntry.id).where(
                AuditEntry.action == "account.refresh.result",
                AuditEntry.idempotency_key == attempt_key,
            )
        ).first()
    if seen is not None:
        return
    audit.record(
        svc.engine,
        actor=actor,
        action="account.refresh.result",
        target=account_id,
        outcome="ok" if state.status == "succeeded" else "error",
        params={"feature": state.feature, "status": state.status},
        message=f"{state.feature.capitalize()} refresh {state.status}.",
        stripe_request_id=svc.gateway.last_request_id,
        idempotency_key=attempt_key,
    )


def refresh_status(
    svc: Services, actor: Actor, account_id: str | None, feature: str
) -> RefreshState:
    """The current state of a refresh, for polling; mirrors the account and its balance.

    When a polled refresh has finished, its outcome is written to the audit log once
    (``account.refresh.result``), so the log says what each refresh achieved, not only who
    started it.
    """
    require(actor, "accounts.view")
    check_feature(feature)
    account_id = parse_account_id(account_id)
    began = mirror.read_mark(svc.engine)  # before the poll's read (see mirror.read_mark)
    account = fetch_account(svc, account_id)
    mirror.upsert_account(svc.engine, account, read_began=began)
    state = refresh_state_of(account, feature)
    if state.status in ("succeeded", "failed") and state.last_attempted_at:
        _record_result(svc, actor, account_id, state)
    return state
