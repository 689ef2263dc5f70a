"""Keep an account's transactions coming: subscribe, refresh, and sync them into the store.

Financial Connections transactions are mirrored into ``fc_transactions`` by an incremental sync
(reference §4): the first sync lists everything, later ones list only rows created or changed by
refreshes after the stored cursor (``transaction_refresh[after]=fctxnref_…``), rows are upserted
by ``fctxn_`` id, and the account's ``transaction_refresh.id`` becomes the new cursor. Pages then
filter, chart and analyse the stored rows (``services.usecases.view_transactions``) without
calling Stripe again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services import audit
from services.adapters import account_mirror
from services.adapters import transaction_store as store
from services.adapters.backoff import REQUEST_RETRY, Backoff, patiently, settle
from services.adapters.models import utcnow
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import (
    ChangeNotMade,
    NotFound,
    NoTransactionRefresh,
    ReadBackFailed,
    not_made,
    read_failed,
)
from services.rules import refresh_rule
from services.rules.ids import parse_id
from services.rules.transactions import transaction_refresh_of
from services.rules.wording import counted
from services.usecases import browse_accounts, refresh_balance

__all__ = [
    "ACCOUNT_KIND",
    "SyncOutcome",
    "SyncSummary",
    "refresh",
    "subscribe",
    "sync_or_wait",
    "sync_part",
    "sync_transactions",
    "unsubscribe",
]

ACCOUNT_KIND = ("financial_connections.account",)


@dataclass(frozen=True)
class SyncSummary:
    """What one sync did, in numbers a person can check against Stripe."""

    account_id: str
    full: bool  # True when everything was listed (first sync, or the cursor was unknown)
    fetched: int
    inserted: int
    updated: int
    unchanged: int
    cursor_before: str | None
    cursor_after: str | None
    refresh_status: str | None  # the account's transaction_refresh.status when the sync ran
    message: str


@dataclass(frozen=True)
class SyncOutcome:
    """A sync, or the news that Stripe has nothing to list yet (no refresh has succeeded)."""

    summary: SyncSummary | None
    no_refresh_yet: bool


# --------------------------------------------------------------------------- Stripe actions


def subscribe(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Subscribe to daily transaction refreshes; Stripe also starts one refresh right away."""
    return _change_subscription(svc, actor, account_id, True, idempotency_key=idempotency_key)


def unsubscribe(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Stop daily refreshes; already mirrored rows stay readable."""
    return _change_subscription(svc, actor, account_id, False, idempotency_key=idempotency_key)


def _change_subscription(
    svc: Services, actor: Actor, account_id: str, subscribe: bool, *, idempotency_key: str
) -> dict[str, Any]:
    key = refresh_balance.require_idempotency_key(idempotency_key)
    with audited(
        svc.engine,
        actor=actor,
        action="transactions.subscribe" if subscribe else "transactions.unsubscribe",
        target=account_id,
        params={"account": account_id},
        idempotency_key=key,
    ) as ctx:
        require(actor, "transactions.manage")
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        ctx.target = fca
        before = browse_accounts.fetch_account(svc, fca) if subscribe else None
        change = (
            svc.gateway.subscribe_transactions
            if subscribe
            else svc.gateway.unsubscribe_transactions
        )
        began = account_mirror.read_mark(svc.engine)  # before Stripe's answer or the read back
        try:
            with audit.unconfirmed_change(  # a 500 or no answer: Stripe may have changed it
                ctx,
                "the " + ("subscription" if subscribe else "unsubscription") + f" of {fca}",
                "it may be " + ("subscribed" if subscribe else "unsubscribed") + " after all",
                "Transactions shows whether the account is subscribed",
                shown=lambda _: "the account was " + ("not" if subscribe else "still") + " subscribed",
            ) as made:
                settled = made(  # no answer in time or a 5xx: the account's subscriptions say
                    settle(
                        lambda: change(fca, idempotency_key=key),
                        lambda: browse_accounts.fetch_account(svc, fca),
                        lambda current: ("transactions" in (current.get("subscriptions") or ()))
                        == subscribe,
                        what="the subscription change",
                    )
                )
        except ChangeNotMade as err:  # a 5xx, and the account read back is as it was
            raise not_made(err, **_NOT_MADE[subscribe]) from None
        except ReadBackFailed as err:  # a 5xx, and the account could not be read back either
            words = _NOT_MADE[subscribe]
            raise read_failed(
                err, what=words["what"], maybe=words["maybe"], read="the account",
                then=_LOOK_FIRST[subscribe],
            ) from None  # fmt: skip
        account = settled.value
        if settled.read_back:
            ctx.params["read_back"] = settled.reads
        if subscribe:
            ctx.message = _subscribed_message(before, account, now=svc.now())
        else:
            ctx.message = "Unsubscribed from transactions."
        ctx.request_id = svc.gateway.last_request_id
        account_mirror.upsert_account(svc.engine, account, read_began=began)
    return account


# Transactions' buttons by whether the account is subscribed now: the one to press (again).
SUBSCRIPTION_BUTTON = {True: "Unsubscribe", False: "Subscribe"}
# After a 5xx the account read back shows the change was not made: what the page says
# (services.errors.not_made), by the button (Transactions') to press again.
_NOT_MADE = {
    True: {
        "what": "the transactions subscription",
        "maybe": "it may have been made",
        "shown": "the account read back is not subscribed",
        "button": SUBSCRIPTION_BUTTON[False],
    },
    False: {
        "what": "the end of the transactions subscription",
        "maybe": "it may have ended",
        "shown": "the account read back is still subscribed",
        "button": SUBSCRIPTION_BUTTON[True],
    },
}
# After a 5xx the account could not be read back either: it may have changed, so look first
# (where the audit row says) before pressing the button again (services.errors.read_failed).
_LOOK_FIRST = {
    True: "Transactions shows whether the account is subscribed; press "
    f"{SUBSCRIPTION_BUTTON[False]} again only if it is not",
    False: "Transactions shows whether the account is subscribed; press "
    f"{SUBSCRIPTION_BUTTON[True]} again only if it still is",
}


def _subscribed_message(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], *, now: int
) -> str:
    """Stripe starts a refresh on subscribe when it can; say so only if the answer shows one."""
    if refresh_rule.started(before, after, "transactions"):
        return "Subscribed to transactions; a refresh has started."
    reason = refresh_rule.not_started_reason(after, "transactions", now=now)
    return f"Subscribed to transactions. {reason}"


def refresh(
    svc: Services, actor: Actor, account_id: str, *, idempotency_key: str
) -> dict[str, Any]:
    """Start a transaction refresh (asynchronous: the account comes back ``pending``).

    Goes through ``refresh_balance.refresh``, which checks Stripe's throttle first and audits it.
    """
    return refresh_balance.refresh(
        svc, actor, account_id, "transactions", idempotency_key=idempotency_key
    )


# --------------------------------------------------------------------------- incremental sync


def sync_transactions(svc: Services, actor: Actor, account_id: str) -> SyncSummary:
    """Bring the mirror of one account's transactions up to date (reference §4), audited.

    The account is read *before* listing, so the cursor stored is never newer than the rows
    fetched: a refresh finishing mid-sync is simply listed again next time (upserts are
    idempotent). A cursor is only advanced to a finished refresh; while one is pending its rows
    do not exist yet and the old cursor must stay.

    A person's sync (Transactions): the first read Stripe fails to answer ends it with a
    sentence, and the cursor stays. The transaction sync job reads in parts instead
    (:func:`sync_part`), each asked again when Stripe fails to answer.
    """
    with audited(
        svc.engine,
        actor=actor,
        action="transactions.sync",
        target=account_id,
        params={"account": account_id},
    ) as ctx:
        require(actor, "transactions.view")
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        ctx.target = fca
        summary = _sync(svc, fca)
        ctx.request_id = svc.gateway.last_request_id
        ctx.params.update(_row_params(summary))
        ctx.message = summary.message
    return summary


def sync_or_wait(svc: Services, actor: Actor, account_id: str) -> SyncOutcome:
    """:func:`sync_transactions`, except that "no refresh has succeeded yet" is an answer (the
    page then offers to start one), not an error."""
    try:
        return SyncOutcome(sync_transactions(svc, actor, account_id), no_refresh_yet=False)
    except NoTransactionRefresh:
        return SyncOutcome(None, no_refresh_yet=True)


def _sync(svc: Services, fca: str) -> SyncSummary:
    """A person's sync of one account, in one go: its parts one after another, none asked
    again (the first failed read ends it with a sentence, the cursor unmoved)."""
    state = _begin(svc, fca, None)
    while state["more"]:
        state = _next_page(svc, fca, state, None)
    return _saved(svc, fca, state)


def _row_params(summary: SyncSummary) -> dict[str, Any]:
    """What an account sync's audit row keeps."""
    return {"account": summary.account_id, "full": summary.full, "fetched": summary.fetched,
            "inserted": summary.inserted, "updated": summary.updated,
            "cursor": summary.cursor_after}


# --------------------------------------------------------------------------- the job's parts

PAGE_SIZE = 100  # transactions a page (Stripe's most)


def sync_part(
    svc: Services, actor: Actor, account_id: str, state: Mapping[str, Any] | None, *,
    pages: int = 1,
) -> dict[str, Any]:
    """One part of an account's transaction sync, for the transaction sync job: at most
    ``pages`` pages of transactions, the first part also reading the account. The job runs
    each part as a workflow on the rate-limited Stripe queue, which counts its requests (an
    account with many transactions is many pages: listed in one go, they were not counted).

    Returns the state to hand to the next part, with ``done`` False, or the account's result
    with ``done`` True once its last page is stored: the cursor is then saved and one
    ``transactions.sync`` audit row written, as :func:`sync_transactions` writes (an error row
    when a part fails). Reads Stripe failed to answer are asked again (``REQUEST_RETRY``).
    "No refresh has succeeded yet" is a result (``waiting``), not an error to retry.
    """
    fca = account_id
    try:
        require(actor, "transactions.view")
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        current = dict(state) if state is not None else _begin(svc, fca, REQUEST_RETRY)
        for _ in range(max(1, pages)):
            current = _next_page(svc, fca, current, REQUEST_RETRY)
            if not current["more"]:
                break
        if current["more"]:
            return current
        summary = _saved(svc, fca, current)
    except NoTransactionRefresh as err:
        _audit_part(svc, actor, fca, "error", str(err), None, {"account": fca})
        return {"account": fca, "done": True, "waiting": True, "fetched": 0, "inserted": 0}
    except Exception as err:
        _audit_part(svc, actor, fca, *audit.failure(err), {"account": fca})
        raise
    _audit_part(svc, actor, fca, "ok", summary.message, svc.gateway.last_request_id,
                _row_params(summary))
    return {"account": fca, "done": True, "waiting": False, "fetched": summary.fetched,
            "inserted": summary.inserted}


def _begin(svc: Services, fca: str, retry: Backoff | None) -> dict[str, Any]:
    """The first part: the account (before any listing, so the cursor saved is never newer
    than the rows fetched) and where its listing starts."""
    began = account_mirror.read_mark(svc.engine)  # before the read (see read_mark)
    account = patiently(lambda: browse_accounts.fetch_account(svc, fca), retry)
    account_mirror.upsert_account(svc.engine, account, read_began=began)
    refresh_info = transaction_refresh_of(account)
    cursor = store.cursor_for(svc.engine, fca)
    before = cursor.cursor if cursor else None
    return {
        "account": fca, "done": False, "more": True, "full": before is None,
        "before": before, "after_id": None, "started": utcnow().isoformat(),
        "refresh_id": refresh_info.get("id"), "refresh_status": refresh_info.get("status"),
        "fetched": 0, "inserted": 0, "updated": 0, "unchanged": 0,
    }


def _next_page(
    svc: Services, fca: str, state: dict[str, Any], retry: Backoff | None
) -> dict[str, Any]:
    """The next page of the account's transactions stored, and the state after it."""
    after_refresh = None if state["full"] else state["before"]
    try:
        rows, more = patiently(
            lambda: svc.gateway.transactions_page(
                fca, after_refresh=after_refresh, starting_after=state["after_id"],
                limit=PAGE_SIZE,
            ),
            retry,
        )
    except NotFound:
        if state["full"]:
            raise
        # The stored cursor is unknown to Stripe (another environment, or expired): start over.
        return {**state, "full": True, "after_id": None, "more": True}
    inserted, updated, unchanged = store.upsert_transactions(svc.engine, rows)
    return {
        **state,
        "after_id": str(rows[-1]["id"]) if rows else state["after_id"],
        "more": bool(more and rows),
        "fetched": state["fetched"] + len(rows),
        "inserted": state["inserted"] + inserted,
        "updated": state["updated"] + updated,
        "unchanged": state["unchanged"] + unchanged,
    }


def _saved(svc: Services, fca: str, state: dict[str, Any]) -> SyncSummary:
    """The listing done: the cursor saved (it only moves to a finished refresh; while one is
    pending its rows do not exist yet and the old cursor must stay), and what the sync did."""
    before = state["before"]
    after = before
    if state["refresh_status"] in ("succeeded", "failed") and state["refresh_id"]:
        after = str(state["refresh_id"])
    started = datetime.fromisoformat(state["started"])
    store.save_cursor(svc.engine, fca, after, started=started, status=state["refresh_status"])
    message = (
        f"{'Full' if state['full'] else 'Incremental'} sync: {counted(state['fetched'], 'transaction')} "
        f"received, {state['inserted']} new, {state['updated']} changed."
    )
    if state["refresh_status"] == "pending":
        message += " A refresh is still running; sync again when it finishes."
    return SyncSummary(
        account_id=fca,
        full=state["full"],
        fetched=state["fetched"],
        inserted=state["inserted"],
        updated=state["updated"],
        unchanged=state["unchanged"],
        cursor_before=before,
        cursor_after=after,
        refresh_status=state["refresh_status"],
        message=message,
    )


def _audit_part(
    svc: Services, actor: Actor | None, fca: str, outcome: str, message: str,
    request_id: str | None, params: dict[str, Any],
) -> None:
    """The account's one ``transactions.sync`` row, as :func:`sync_transactions` writes it."""
    audit.record(
        svc.engine, actor=actor, action="transactions.sync", target=fca, outcome=outcome,
        params=params, message=message, stripe_request_id=request_id,
    )
