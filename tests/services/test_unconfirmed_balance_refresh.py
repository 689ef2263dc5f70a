"""Balance check: a refresh POST Stripe did not confirm (a 500, no answer) may have started.

Through the real SDK against a private sandbox, the fault forced right before the refresh's own
POST (the reads before it answer normally). ``500``: nothing was done, so the check says Stripe
did not start it and a retry is safe (it is: the retry starts one refresh). ``500_done``: the
refresh went through, then the answer was a 500; one read of the account shows it started
(pending: followed by the page; finished: its balance is used). A 429 is a refusal before
anything was done and keeps its "did not start" sentence (tests/services/test_debits.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import StripeUnavailable
from services.usecases import check_debit

DAY = 86_400
_n = itertools.count(1)


@pytest.fixture(scope="module")
def box_options() -> dict[str, Any]:
    """This module's private sandbox (box/gw/sim/svc: tests/services/conftest.py)."""
    return {"seed": 5, "refresh_cooldown": 60}


def stale_account(gw: Any, sim: Any, box: Any, available: int = 500_000) -> str:
    n = next(_n)
    customer = gw.create_customer({"email": f"u{n}@example.com"}, idempotency_key=None)["id"]
    session = gw.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer},
            "permissions": ["balances", "payment_method"],
        },
        idempotency_key=None,
    )
    sim.complete_session(session["id"], institution="StripeBank")
    fca = str(gw.list_accounts(session=session["id"])[0]["id"])
    with box.state.lock:  # the bank's last balance, two days old; a refresh allowed now
        account = box.state.lookup(fca)
        now = box.state.now()
        account["balance"] = {
            "as_of": now - 2 * DAY, "type": "cash", "current": {"usd": available},
            "cash": {"available": {"usd": available}},
        }  # fmt: skip
        account["balance_refresh"] = {
            "status": "succeeded", "last_attempted_at": now - 2 * DAY,
            "next_refresh_available_at": now - 1,
        }  # fmt: skip
    return fca


def fault_on_refresh(gw: Any, sim: Any, *modes: str) -> None:
    """The next refresh POST meets ``modes[0]``; the requests right after it the rest."""
    original: Callable[..., Any] = gw.refresh_account
    fired: list[int] = []

    def faulted(*args: Any, **kwargs: Any) -> Any:
        if not fired:
            for mode in modes:
                sim.force_faults(mode, 1)
            fired.append(1)
        return original(*args, **kwargs)

    gw.refresh_account = faulted


def refresh_rows(svc: Services, fca: str) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        stmt = select(AuditEntry).where(
            AuditEntry.action == "account.refresh", AuditEntry.target == fca
        )
        return list(session.exec(stmt.order_by(AuditEntry.id)).all())  # type: ignore[arg-type]


def check(svc: Services, finance: Any, fca: str) -> check_debit.DebitCheck:
    return check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)


def a_500_ahead(gw: Any, sim: Any, box: Any) -> tuple[str, dict[str, Any]]:
    """A stale account whose next refresh POST answers 500 having done nothing, and its
    ``balance_refresh`` as it stands before."""
    fca = stale_account(gw, sim, box)
    before = gw.retrieve_account(fca)["balance_refresh"]
    fault_on_refresh(gw, sim, "500")
    return fca, before


def said_unconfirmed(done: check_debit.DebitCheck, how: str, found: str) -> None:
    """The check's refresh was not confirmed, and says "Stripe did not confirm the balance
    refresh (``how``…" and, last, what the account read back showed (``found``)."""
    assert done.refresh is not None and done.refresh.unconfirmed
    said = done.refresh.message
    assert said.startswith(f"Stripe did not confirm the balance refresh ({how}"), said
    assert said.endswith(found), said


def test_a_500_that_started_nothing_says_so_and_a_retry_refreshes_once(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    fca, before = a_500_ahead(gw, sim, box)
    first = check(svc, finance, fca)
    said_unconfirmed(
        first,
        "a server error, Stripe request req_",
        "so it may have started; the account read back shows Stripe did not start it: "
        "Refresh balance now again is safe.",
    )
    assert first.refresh is not None and not first.refresh.requested
    assert first.after is None and first.verdict == "stale"
    assert gw.retrieve_account(fca)["balance_refresh"] == before  # truly not started
    # Refresh again: Stripe saved the 500 under the first key, so the retry is a new request
    # (a replay of the same key would only answer the same 500), and starts exactly one.
    again = check(svc, finance, fca)
    assert again.refresh is not None and again.refresh.requested
    assert again.refresh.status == "succeeded" and again.verdict == "ok"
    rows = refresh_rows(svc, fca)
    assert [r.outcome for r in rows] == ["unknown", "ok"]
    assert rows[0].idempotency_key != rows[1].idempotency_key
    assert rows[1].idempotency_key == f"{rows[0].idempotency_key}~2"


def test_the_same_key_again_after_a_500_replays_it_and_starts_nothing(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    fca, before = a_500_ahead(gw, sim, box)
    key = "test-same-key-after-500"
    for _ in range(2):
        done = check_debit.check_debit(
            svc, finance, fca, 10_000, "usd", refresh_stale=True, idempotency_key=key
        )
        assert done.refresh is not None and done.refresh.unconfirmed
        assert "did not start it: Refresh balance now again is safe" in done.refresh.message
    assert gw.retrieve_account(fca)["balance_refresh"] == before


def test_a_500_after_the_refresh_went_through_uses_the_new_balance(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    fca = stale_account(gw, sim, box, available=1_000)  # the bank's new figure differs
    fault_on_refresh(gw, sim, "500_done")
    done = check(svc, finance, fca)
    said_unconfirmed(
        done, "a server error", "so it may have started; the account read back shows it did."
    )
    assert done.refresh is not None and done.refresh.requested and done.refresh.finished
    assert done.refresh.status == "succeeded"
    assert done.after is not None and done.before.verdict == "stale"
    assert done.after.balance != 1_000 and done.verdict != "stale"
    assert [r.outcome for r in refresh_rows(svc, fca)] == ["unknown"]


def test_a_500_after_the_refresh_started_is_followed_while_it_runs(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    fca = stale_account(gw, sim, box)
    box.state.config.refresh_delay = 3600
    try:
        fault_on_refresh(gw, sim, "500_done")
        done = check(svc, finance, fca)
    finally:
        box.state.config.refresh_delay = 0
    assert done.refresh is not None and done.refresh.unconfirmed
    assert done.refresh.requested and not done.refresh.finished
    assert done.refresh.status == "pending"
    assert done.account is not None and done.account.refresh_pending  # the page follows it


def test_when_the_read_back_fails_too_it_says_both(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any
) -> None:
    fca = stale_account(gw, sim, box)
    fault_on_refresh(gw, sim, "500", "500")  # the POST, then the one read of the account
    with pytest.raises(StripeUnavailable) as caught:
        check(svc, finance, fca)
    said = str(caught.value)
    assert said.startswith("Stripe did not confirm the balance refresh (a server error")
    assert "so it may have started, and reading the account back failed too: Stripe had a " in said


def test_no_answer_in_time_says_it_has_not_started_yet_and_a_retry_repeats_it(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer: the request may still run at Stripe, so "not started yet", and the retry
    sends the same key (not spent: no answer was saved), which Stripe does at most once."""
    from bootstrap import SANDBOX_KEY
    from services.adapters import backoff
    from services.adapters.gateway import StripeGateway

    impatient = StripeGateway(
        SANDBOX_KEY, base_url=box.base_url, timeout_seconds=0.4, max_network_retries=0
    )
    late = Services(gateway=impatient, engine=svc.engine, mode="sandbox", now=box.state.now)
    monkeypatch.setattr(backoff, "READ_BACK", backoff.ReadBack(tries=1, pause_seconds=0.05))
    fca = stale_account(gw, sim, box)
    original: Callable[..., Any] = impatient.refresh_account
    keys: list[str] = []

    def slow(account_id: str, features: list[str], *, idempotency_key: str) -> Any:
        if not keys:
            sim.force_faults("slow", 1, seconds=1.5)  # it runs at Stripe 1.5 s later
        keys.append(idempotency_key)
        return original(account_id, features, idempotency_key=idempotency_key)

    impatient.refresh_account = slow  # type: ignore[method-assign]
    first = check(late, finance, fca)
    said_unconfirmed(
        first,
        "no answer in time",
        "so it may have started; the account read back shows it has not started yet. Refresh "
        "balance now again is safe: it repeats the same request, so Stripe does it at most once.",
    )
    impatient.refresh_account = original  # type: ignore[method-assign]
    key = impatient.fresh_key(check_debit.refresh_key(gw.retrieve_account(fca)))
    assert key == keys[0]  # Refresh again now sends the same request
