"""Pre-debit checks against a private sandbox (its own clock, so advancing it disturbs nobody).

Balances are set through the sandbox state (the bank's side of the world), then checked only
through the public services, exactly as finance would.
"""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

import pytest
from sqlmodel import select

from services.adapters import throttle
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.audit import query
from services.auth import Actor
from services.context import Services
from services.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    StripeAuthError,
    StripeUnavailable,
    ValidationError,
)
from services.rules.debit import DebitPolicy
from services.rules.debit_csv import parse_debits_csv
from services.usecases import balance_history, check_batch, check_debit, debit_policy

DAY = 86_400
_names = itertools.count(1)


# --- helpers (the private sandbox: box/gw/sim/svc in tests/services/conftest.py) ---------


class FakeClock:
    """Our own time seam: sleeping moves time on instantly and is recorded."""

    def __init__(self) -> None:
        self.t = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)


def customer(gw: Any) -> str:
    n = next(_names)
    made = gw.create_customer(
        {"name": f"Debtor {n}", "email": f"d{n}@example.com"}, idempotency_key=None
    )
    return str(made["id"])


def link(
    gw: Any,
    sim: Any,
    customer_id: str,
    *,
    permissions: tuple[str, ...] = ("balances", "payment_method"),
    institution: str = "StripeBank",
) -> str:
    session = gw.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": customer_id},
            "permissions": list(permissions),
        },
        idempotency_key=None,
    )
    sim.complete_session(session["id"], institution=institution)
    return str(gw.list_accounts(session=session["id"])[0]["id"])


def set_balance(
    box: Any,
    account_id: str,
    *,
    available: int | None,
    current: int,
    age: int = 0,
    currency: str = "usd",
    next_refresh_in: int | None = -1,
) -> None:
    """What the bank last reported, `age` seconds ago; the next refresh allowed in N seconds."""
    with box.state.lock:
        account = box.state.lookup(account_id)
        now = box.state.now()
        account["balance"] = {
            "as_of": now - age,
            "type": "cash",
            "current": {currency: current},
            "cash": {"available": None if available is None else {currency: available}},
        }
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now - age,
            "next_refresh_available_at": None if next_refresh_in is None else now + next_refresh_in,
        }


def account_field(box: Any, account_id: str, name: str, value: Any) -> None:
    with box.state.lock:
        box.state.lookup(account_id)[name] = value


def linked_pm(gw: Any, sim: Any, customer_id: str) -> tuple[str, str, str]:
    """(setup intent, payment method, fca) for an account linked through FC."""
    si = gw.create_setup_intent(
        {
            "customer": customer_id,
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {"permissions": ["payment_method", "balances"]}
                }
            },
        },
        idempotency_key=None,
    )
    sim.link_bank(si["id"], institution="StripeBank")
    pm = gw.retrieve_payment_method(gw.retrieve_setup_intent(si["id"])["payment_method"])
    return si["id"], pm["id"], pm["us_bank_account"]["financial_connections_account"]


def manual_pm(gw: Any, sim: Any, customer_id: str) -> str:
    si = gw.create_setup_intent(
        {"customer": customer_id, "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )
    sim.manual_entry(si["id"])
    return str(gw.retrieve_setup_intent(si["id"])["payment_method"])


def audit_rows(engine: Any, action: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


# --- policy ------------------------------------------------------------------------------


def test_policy_defaults_until_an_admin_saves_one(engine: Any) -> None:
    stored = debit_policy.load_policy(engine)
    assert stored.version == 0
    assert stored.policy == DebitPolicy()


def test_saved_policy_is_versioned_audited_and_loaded_back(engine: Any, admin: Actor) -> None:
    first = debit_policy.save_policy(
        engine,
        admin,
        DebitPolicy(buffer_amount=500, buffer_percent=2.5, max_age_seconds=7200),
        expected_version=0,
    )
    second = debit_policy.save_policy(
        engine, admin, DebitPolicy(buffer_amount=100, max_age_seconds=3600), expected_version=1
    )
    loaded = debit_policy.load_policy(engine)
    assert (first.version, second.version, loaded.version) == (1, 2, 2)
    assert loaded.policy == DebitPolicy(buffer_amount=100, buffer_percent=0.0, max_age_seconds=3600)
    assert loaded.updated_by == admin.username
    saves = audit_rows(engine, "policy.save")
    assert [r.outcome for r in saves] == ["ok", "ok"]


def test_saving_over_a_newer_version_is_refused_and_keeps_the_newer_one(
    engine: Any, admin: Actor
) -> None:
    debit_policy.save_policy(engine, admin, DebitPolicy(buffer_amount=1), expected_version=0)
    debit_policy.save_policy(engine, admin, DebitPolicy(buffer_amount=2), expected_version=1)
    with pytest.raises(Conflict, match="Someone else saved"):
        debit_policy.save_policy(engine, admin, DebitPolicy(buffer_amount=3), expected_version=1)
    with pytest.raises(Conflict):
        debit_policy.save_policy(engine, admin, DebitPolicy(buffer_amount=4), expected_version=0)
    assert debit_policy.load_policy(engine).policy.buffer_amount == 2
    assert [r.outcome for r in audit_rows(engine, "policy.save")] == ["ok", "ok", "error", "error"]


def test_only_admins_may_change_the_policy(engine: Any, finance: Actor) -> None:
    with pytest.raises(Forbidden):
        debit_policy.save_policy(engine, finance, DebitPolicy(buffer_amount=9), expected_version=0)
    assert debit_policy.load_policy(engine).version == 0
    assert [r.outcome for r in audit_rows(engine, "policy.save")] == ["refused"]


# --- single checks -----------------------------------------------------------------------


def test_fresh_available_balance_that_covers_the_debit_is_ok(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=50_000, current=60_000, age=600)
    check = check_debit.check_debit(svc, finance, fca, 40_000, "usd")
    assert check.verdict == "ok"
    assert check.final.balance == 50_000 and check.final.balance_source == "available"
    assert check.final.age_seconds is not None and 600 <= check.final.age_seconds < 700
    assert check.account is not None and check.account.id == fca
    assert check.after is None and check.refresh is None


def test_policy_buffers_turn_a_just_covered_debit_insufficient(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, admin: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=10_300, current=10_300)
    assert check_debit.check_debit(svc, finance, fca, 10_000, "usd").verdict == "ok"
    debit_policy.save_policy(
        svc.engine, admin, DebitPolicy(buffer_amount=200, buffer_percent=2.0), expected_version=0
    )
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    assert check.verdict == "insufficient"
    assert check.final.required == 10_400 and check.final.shortfall == 100
    assert any("short" in r for r in check.final.reasons)


def test_current_balance_is_used_when_the_bank_gives_no_available_figure(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=None, current=5_000)
    check = check_debit.check_debit(svc, finance, fca, 6_000, "usd")
    assert check.verdict == "insufficient"
    assert check.final.balance_source == "current"


def test_payment_method_and_payment_intent_lead_to_their_linked_account(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    cus = customer(gw)
    si, pm, fca = linked_pm(gw, sim, cus)
    set_balance(box, fca, available=20_000, current=20_000)
    pi = gw.create_payment_intent(
        {"amount": 1000, "currency": "usd", "customer": cus, "payment_method": pm,
         "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )  # fmt: skip
    for target in (pm, pi["id"], si):
        check = check_debit.check_debit(svc, finance, target, 15_000, "usd")
        assert check.account is not None and check.account.id == fca, target
        assert check.verdict == "ok"


def test_manually_entered_payment_method_is_unavailable(
    svc: Services, gw: Any, sim: Any, finance: Actor
) -> None:
    pm = manual_pm(gw, sim, customer(gw))
    check = check_debit.check_debit(svc, finance, pm, 1_000, "usd")
    assert check.verdict == "unavailable"
    assert check.account is None
    assert "manually" in check.final.reasons[0]


def test_customer_check_uses_the_freshest_eligible_account_and_says_so(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    cus = customer(gw)
    no_access = link(gw, sim, cus, permissions=("payment_method",))
    older = link(gw, sim, cus)
    fresher = link(gw, sim, cus)
    inactive = link(gw, sim, cus)
    set_balance(box, older, available=90_000, current=90_000, age=3_000)
    set_balance(box, fresher, available=8_000, current=8_000, age=60)
    set_balance(box, inactive, available=99_000, current=99_000, age=10)
    sim.deactivate_account(inactive)
    check = check_debit.check_debit(svc, finance, cus, 10_000, "usd")
    assert check.account is not None and check.account.id == fresher
    assert check.verdict == "insufficient"
    assert "freshest" in check.note and "3 other" in check.note
    assert no_access not in (check.account.id,)


def test_customer_without_linked_accounts_is_unavailable(
    svc: Services, gw: Any, finance: Actor
) -> None:
    check = check_debit.check_debit(svc, finance, customer(gw), 1_000, "usd")
    assert check.verdict == "unavailable"
    assert "no linked bank accounts" in check.final.reasons[0]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("no_permission", "did not grant access to balances"),
        ("disconnected", "disconnected"),  # the sandbox keeps no balance after a disconnect
        ("credit", "credit account"),
        ("never_refreshed", "never been refreshed"),
        ("other_currency", "not in USD"),
    ],
)
def test_accounts_without_a_usable_balance_are_unavailable_with_the_reason(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, setup: str, expected: str
) -> None:
    permissions = (
        ("payment_method",) if setup == "no_permission" else ("balances", "payment_method")
    )
    fca = link(gw, sim, customer(gw), permissions=permissions)
    if setup != "never_refreshed":
        set_balance(box, fca, available=99_000, current=99_000,
                    currency="eur" if setup == "other_currency" else "usd")  # fmt: skip
    if setup == "inactive":
        sim.deactivate_account(fca)
    if setup == "disconnected":
        gw.disconnect_account(fca, idempotency_key=None)
    if setup == "credit":
        account_field(box, fca, "category", "credit")
    check = check_debit.check_debit(svc, finance, fca, 1_000, "usd")
    assert check.verdict == "unavailable"
    assert expected in " ".join(check.final.reasons)


def test_an_inactive_account_with_a_fresh_balance_is_judged_and_not_refreshed(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=99_000, current=99_000, age=60)
    sim.deactivate_account(fca)
    check = check_debit.check_debit(svc, finance, fca, 1_000, "usd", refresh_stale=True)
    assert check.verdict == "ok" and check.refresh is None
    assert "inactive, so this balance can no longer be refreshed" in " ".join(check.final.reasons)
    assert gw.retrieve_account(fca)["status"] == "inactive"


def test_stale_balance_is_refreshed_when_asked_and_re_evaluated(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.before.verdict == "stale" and check.before.can_refresh_now
    assert check.refresh is not None and check.refresh.status == "succeeded"
    assert check.after is not None and check.after.verdict == "ok"
    assert check.after.age_seconds is not None and check.after.age_seconds < 60
    assert check.refresh.message == "The balance was refreshed and the debit re-checked."
    refreshes = audit_rows(svc.engine, "account.refresh")
    assert [(r.target, r.outcome) for r in refreshes] == [(fca, "ok")]
    history = balance_history.balance_history(svc.engine, fca)
    assert len(history) == 2 and history["as_of"].is_monotonic_increasing


def test_refresh_can_reveal_that_a_stale_balance_is_now_insufficient(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=5_000, current=5_000, age=3 * DAY)
    check = check_debit.check_debit(svc, finance, fca, 9_000, "usd", refresh_stale=True)
    assert check.before.verdict == "stale"
    assert check.after is not None and check.after.verdict == "insufficient"


def test_a_refresh_the_bank_fails_leaves_the_balance_stale_and_says_so(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw), institution="Refresh Errors Bank")
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.refresh is not None and check.refresh.status == "failed"
    assert "could not refresh" in check.refresh.message
    assert check.after is not None and check.after.verdict == "stale"
    assert any("last balance refresh failed" in r for r in check.after.reasons)


class RefreshStartFails:
    """Our gateway seam with Stripe failing exactly on the refresh call (everything else works)."""

    def __init__(self, gateway: Any, error: Exception) -> None:
        self._gateway = gateway
        self._error = error

    def refresh_account(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)


@pytest.mark.parametrize(
    "error",
    [
        StripeUnavailable("Stripe had a temporary problem (HTTP 500). Try again in a minute."),
        RateLimited("Stripe is rate-limiting requests. Wait a few seconds and try again."),
    ],
)
def test_a_refresh_stripe_fails_to_start_keeps_the_stale_verdict_and_says_why(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, error: Exception
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    before = gw.retrieve_account(fca)["balance_refresh"]
    failing = Services(
        gateway=RefreshStartFails(gw, error),  # type: ignore[arg-type]
        engine=svc.engine,
        mode=svc.mode,
        now=svc.now,
    )
    check = check_debit.check_debit(failing, finance, fca, 10_000, "usd", refresh_stale=True)
    assert check.verdict == "stale" and check.after is None
    assert check.refresh is not None and not check.refresh.requested
    if isinstance(error, RateLimited):  # refused before Stripe did anything
        assert check.refresh.message == f"Stripe did not start the refresh: {error}"
    else:  # a 500 may have started it: the account read back says it did not
        assert check.refresh.message == (
            "Stripe did not confirm the balance refresh (a server error), so it may have "
            "started; the account read back shows Stripe did not start it: Refresh balance now again is safe."
        )
    refreshes = audit_rows(svc.engine, "account.refresh")
    # A 500 may have started it (Stripe did not confirm): "unknown"; a 429 refused it: "error".
    said = "error" if isinstance(error, RateLimited) else "unknown"
    assert [(r.target, r.outcome) for r in refreshes] == [(fca, said)]
    assert gw.retrieve_account(fca)["balance_refresh"] == before


def test_a_bad_api_key_during_a_refresh_is_not_hidden_behind_a_stale_verdict(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    failing = Services(
        gateway=RefreshStartFails(gw, StripeAuthError("Stripe rejected the API key.")),  # type: ignore[arg-type]
        engine=svc.engine,
        mode=svc.mode,
        now=svc.now,
    )
    with pytest.raises(StripeAuthError):
        check_debit.check_debit(failing, finance, fca, 10_000, "usd", refresh_stale=True)


class RecordsRefreshKeys:
    """Our gateway seam, passing every call on and noting the key each refresh was sent with."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway
        self.refresh_keys: list[tuple[str, str | None]] = []

    def refresh_account(self, account_id: str, features: Any, **kwargs: Any) -> Any:
        self.refresh_keys.append((account_id, kwargs.get("idempotency_key")))
        return self._gateway.refresh_account(account_id, features, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)


def _recording(svc: Services, gw: Any) -> tuple[Services, RecordsRefreshKeys]:
    recorder = RecordsRefreshKeys(gw)
    wrapped = Services(gateway=recorder, engine=svc.engine, mode=svc.mode, now=svc.now)  # type: ignore[arg-type]
    return wrapped, recorder


def test_a_single_check_refresh_is_sent_with_an_idempotency_key_and_audited_once(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    wrapped, recorder = _recording(svc, gw)
    check_debit.check_debit(wrapped, finance, fca, 10_000, "usd", refresh_stale=True)
    [(account_id, key)] = recorder.refresh_keys
    assert account_id == fca and key
    [row] = audit_rows(svc.engine, "account.refresh")
    assert (row.target, row.idempotency_key, row.actor) == (fca, key, finance.username)


def test_a_batch_refreshes_each_account_once_with_its_own_idempotency_key_and_one_audit_row(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    first, second = link(gw, sim, customer(gw)), link(gw, sim, customer(gw))
    for fca in (first, second):
        set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    text = f"id,amount\n{first},10.00\n{first},20.00\n{second},30.00\n{first},5.00\n"
    planned, bad = parse_debits_csv(text)
    wrapped, recorder = _recording(svc, gw)
    check_batch.run_batch(wrapped, finance, planned, refresh_stale=True, row_errors=bad)
    keys = dict(recorder.refresh_keys)
    assert len(recorder.refresh_keys) == 2 and set(keys) == {first, second}
    assert all(keys.values()) and keys[first] != keys[second]
    [row] = audit_rows(svc.engine, "balances.batch_check")
    assert row.outcome == "ok" and sorted(row.params["refreshed"]) == sorted([first, second])


def test_stale_balance_is_not_refreshed_unless_asked(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    check = check_debit.check_debit(svc, finance, fca, 10_000, "usd")
    assert check.verdict == "stale" and check.final.can_refresh_now
    assert check.after is None and audit_rows(svc.engine, "account.refresh") == []
    assert gw.retrieve_account(fca)["balance_refresh"]["status"] == "succeeded"


def test_when_a_refresh_is_not_yet_allowed_the_check_says_until_when(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY, next_refresh_in=3_600)
    allowed_at = gw.retrieve_account(fca)["balance_refresh"]["next_refresh_available_at"]
    blocked = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert blocked.verdict == "stale" and blocked.after is None
    assert not blocked.final.can_refresh_now and blocked.final.refreshable_at == allowed_at
    assert any("allows the next balance refresh from" in r for r in blocked.final.reasons)
    sim.advance_clock(3_601)
    later = check_debit.check_debit(svc, finance, fca, 10_000, "usd", refresh_stale=True)
    assert later.after is not None and later.after.verdict == "ok"


def test_bad_input_is_refused_with_a_sentence(
    svc: Services, gw: Any, sim: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    with pytest.raises(ValidationError, match="not a Stripe ID"):
        check_debit.check_debit(svc, finance, "hello", 1_000, "usd")
    with pytest.raises(NotFound):
        check_debit.check_debit(svc, finance, "fca_doesnotexist123", 1_000, "usd")
    with pytest.raises(ValidationError, match="greater than zero"):
        check_debit.check_debit(svc, finance, fca, 0, "usd")
    with pytest.raises(ValidationError, match="currency"):
        check_debit.check_debit(svc, finance, fca, 100, "dollars")
    # ACH Direct Debit is in dollars: a yen check read the policy's $10 buffer as ¥1,000.
    for code in ("jpy", "eur", "kwd"):
        with pytest.raises(ValidationError, match="US dollars only"):
            check_debit.check_debit(svc, finance, fca, 5_000, code)


def test_roles_without_balance_checks_are_refused(
    svc: Services, gw: Any, sim: Any, ops: Actor, manager: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    for actor in (ops, manager):
        with pytest.raises(Forbidden):
            check_debit.check_debit(svc, actor, fca, 1_000, "usd")
        with pytest.raises(Forbidden):
            check_batch.run_batch(svc, actor, [], refresh_stale=False)


# --- batches -----------------------------------------------------------------------------


def test_batch_checks_good_rows_and_reports_bad_ones_per_row(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    cus = customer(gw)
    rich = link(gw, sim, cus)
    poor = link(gw, sim, customer(gw))
    set_balance(box, rich, available=100_000, current=100_000)
    set_balance(box, poor, available=1_000, current=1_000)
    manual = manual_pm(gw, sim, customer(gw))
    text = "\n".join(
        [
            "id,amount,currency,reference",
            f"{rich},100.00,usd,A",
            f"{poor},50.00,usd,B",
            f"{manual},20.00,usd,C",
            "fca_unknown0000000000,10.00,usd,D",
            f"{rich},abc,usd,E",
            f"{rich},10.00,eur,F",
            f"{cus},30.00,usd,G",
        ]
    )
    planned, bad = parse_debits_csv(text)
    progress: list[tuple[int, int, str]] = []
    result = check_batch.run_batch(
        svc, finance, planned, refresh_stale=False, row_errors=bad,
        progress=lambda d, t, m: progress.append((d, t, m)),
    )  # fmt: skip
    by_row = {r.row: r for r in result.rows}
    assert [r.row for r in result.rows] == [2, 3, 4, 5, 6, 7, 8]
    assert by_row[2].verdict == "ok" and by_row[2].account_id == rich
    assert by_row[3].verdict == "insufficient" and by_row[3].shortfall == 4_000
    assert by_row[4].verdict == "unavailable" and "manually" in by_row[4].reasons[0]
    assert by_row[5].verdict == "error" and "fca_unknown" in (by_row[5].error or "")
    assert by_row[6].verdict == "error" and "abc" in (by_row[6].error or "")
    assert by_row[7].verdict == "error" and "EUR" in (by_row[7].error or "")
    assert by_row[8].verdict == "ok" and by_row[8].account_id == rich
    summary = result.summary()
    assert (summary.rows, summary.checked, summary.errors) == (7, 4, 3)
    assert summary.counts == {"ok": 2, "insufficient": 1, "stale": 0, "unavailable": 1}
    assert summary.at_risk == {"usd": 5_000 + 2_000}
    # The unknown ID's $10.00 and the EUR row's €10.00 were readable but unchecked; a row with
    # an unreadable amount adds nothing.
    assert summary.unchecked == {"usd": 1_000, "eur": 1_000}
    assert summary.unchecked_rows == 2
    assert (by_row[7].amount, by_row[7].currency) == (1_000, "eur")
    assert progress[-1][0] == progress[-1][1]
    [row] = audit_rows(svc.engine, "balances.batch_check")
    assert row.outcome == "ok" and row.params["errors"] == 3 and row.params["checked"] == 4


def test_batch_fetches_each_account_once(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    cus = customer(gw)
    _si, pm, fca = linked_pm(gw, sim, cus)
    set_balance(box, fca, available=100_000, current=100_000)
    rows = [f"{fca},1.00", f"{fca},2.00", f"{pm},3.00", f"{pm},4.00", f"{fca},5.00"]
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(rows))
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=False)
    assert result.requests == 2  # the account once, the payment method once
    assert {r.account_id for r in result.rows} == {fca}
    assert all(r.verdict == "ok" for r in result.rows)


def test_batch_refreshes_only_stale_balances_that_may_be_refreshed(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    allowed = link(gw, sim, customer(gw))
    throttled = link(gw, sim, customer(gw))
    fresh = link(gw, sim, customer(gw))
    set_balance(box, allowed, available=900_000, current=900_000, age=2 * DAY)
    set_balance(
        box, throttled, available=900_000, current=900_000, age=2 * DAY, next_refresh_in=900
    )
    set_balance(box, fresh, available=900_000, current=900_000, age=60)
    csv_text = f"id,amount\n{allowed},10.00\n{allowed},20.00\n{throttled},10.00\n{fresh},10.00\n"
    planned, _ = parse_debits_csv(csv_text)
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=True, clock=FakeClock())
    assert result.refreshed == [allowed]
    verdicts = [(r.account_id, r.verdict, r.refreshed) for r in result.rows]
    assert verdicts == [
        (allowed, "ok", True), (allowed, "ok", True), (throttled, "stale", False), (fresh, "ok", False),
    ]  # fmt: skip
    assert "allows the next balance refresh from" in " ".join(result.rows[2].reasons)
    assert len(balance_history.balance_history(svc.engine, allowed)) == 2


def test_batch_stays_under_the_request_rate(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    accounts = [link(gw, sim, customer(gw)) for _ in range(12)]
    for fca in accounts:
        set_balance(box, fca, available=10_000, current=10_000, age=2 * DAY)
    planned, _ = parse_debits_csv("id,amount\n" + "\n".join(f"{a},1.00" for a in accounts))
    clock = FakeClock()
    limiter = throttle.TokenBucket(5, clock=clock)
    before = box.state._request_count
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=True, limiter=limiter)
    sent = box.state._request_count - before
    assert sent == result.requests == len(limiter.acquired) >= 2 * len(accounts)
    times = limiter.acquired
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 5
    assert times[-1] - times[0] >= (len(times) - 1) / 5 - 1e-6
    assert all(r.verdict == "ok" for r in result.rows)


def test_batch_backs_off_and_retries_when_rate_limited(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=10_000, current=10_000)
    planned, _ = parse_debits_csv(f"id,amount\n{fca},1.00\n")
    clock = FakeClock()
    sim.force_faults("429", count=2)
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=False, clock=clock)
    assert result.rate_limited == 2
    assert result.rows[0].verdict == "ok"
    # Exponential with jitter (changed on purpose from exact 0.5 s, 1 s): between half and all
    # of 0.5 s, then of 1 s; the token bucket's own waits are far shorter (1/20 s).
    backoffs = [s for s in clock.sleeps if s >= 0.2]
    assert len(backoffs) == 2
    assert 0.25 <= backoffs[0] <= 0.5 and 0.5 <= backoffs[1] <= 1.0


def test_batch_result_downloads_in_major_units(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=12_345, current=12_345)
    planned, bad = parse_debits_csv(f"id,amount,reference\n{fca},200.5,rent\nnope,1,x\n")
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=False, row_errors=bad)
    lines = result.to_csv().splitlines()
    assert lines[0].startswith("row,id,reference,amount,currency,verdict,balance")
    assert lines[1].startswith(f"2,{fca},rent,200.50,USD,insufficient,123.45,available,")
    # The refused row keeps what it said (its ID as typed, reference, amount as money,
    # currency) for matching.
    assert lines[2].startswith("3,nope,x,1.00,USD,error,")
    frame = result.to_frame()
    assert list(frame["verdict"]) == ["insufficient", "error"]
    assert int(frame["shortfall"].iloc[0]) == 20_050 - 12_345


def test_batch_result_defuses_formulas_in_text_but_keeps_negative_money_numeric(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=-1_250, current=-1_250)  # overdrawn
    planned, _ = parse_debits_csv(
        f'id,amount,reference\n{fca},5.00,"=HYPERLINK(""http://evil"")"\n'
    )
    result = check_batch.run_batch(svc, finance, planned, refresh_stale=False)
    [row] = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert row["reference"] == '\'=HYPERLINK("http://evil")'
    assert row["verdict"] == "insufficient" and row["balance"] == "-12.50"


def test_balance_history_keeps_every_balance_seen_once(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    for age, amount in ((3 * DAY, 1_000), (2 * DAY, 2_000), (DAY // 2, 3_000)):
        set_balance(box, fca, available=amount, current=amount + 1, age=age)
        check_debit.check_debit(svc, finance, fca, 100, "usd")
        check_debit.check_debit(svc, finance, fca, 100, "usd")  # seen twice, kept once
    history = balance_history.balance_history(svc.engine, fca)
    assert list(history["available"]) == [1_000, 2_000, 3_000]
    assert list(history["current"]) == [1_001, 2_001, 3_001]
    assert history["as_of"].is_monotonic_increasing
    assert balance_history.balance_history(svc.engine, "fca_never_seen").empty


# --- the rate limiter on its own -----------------------------------------------------------


def test_token_bucket_spaces_requests_evenly() -> None:
    clock = FakeClock()
    bucket = throttle.TokenBucket(4, clock=clock)
    for _ in range(9):
        bucket.acquire()
    gaps = [b - a for a, b in itertools.pairwise(bucket.acquired)]
    assert all(abs(g - 0.25) < 1e-9 for g in gaps)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = throttle.TokenBucket(10, burst=3, clock=clock)
    for _ in range(5):
        bucket.acquire()
    assert bucket.acquired[:3] == [1_000.0] * 3
    assert bucket.acquired[3] == pytest.approx(1_000.1)


def test_audit_of_a_batch_is_visible_to_admins(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor, admin: Actor
) -> None:
    fca = link(gw, sim, customer(gw))
    set_balance(box, fca, available=10_000, current=10_000)
    planned, _ = parse_debits_csv(f"id,amount\n{fca},1.00\n")
    check_batch.run_batch(svc, finance, planned, refresh_stale=False)
    page = query(svc.engine, actor=admin, actions=["balances.batch_check"])
    assert page.total == 1 and page.rows[0].actor == finance.username


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (DebitPolicy(buffer_percent=100.5), "between 0 and 100 %; you typed 100.5"),
        (DebitPolicy(max_age_seconds=60), r"between 0.25 and 720 hours \(15 minutes to 30 days\)"),
        (DebitPolicy(max_age_seconds=31 * 86_400), "720 hours .* you typed 744"),
        (DebitPolicy(buffer_amount=1_000_000_01), r"between \$0.00 and \$1,000,000.00"),
    ],
)
def test_a_policy_outside_the_bounds_is_refused_and_changes_nothing(
    engine: Any, admin: Actor, policy: DebitPolicy, words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        debit_policy.save_policy(engine, admin, policy, expected_version=0)
    assert debit_policy.load_policy(engine).version == 0
    edge = DebitPolicy(buffer_amount=1_000_000_00, buffer_percent=100.0, max_age_seconds=900)
    assert debit_policy.save_policy(engine, admin, edge, expected_version=0).policy == edge


def test_debits_on_one_account_in_a_batch_are_judged_together_in_file_order(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    """Three $600 debits on $972.33 all go out: judged alone, each was OK (finance sent $1,800
    against $972 and met R01s)."""
    fca = link(gw, sim, customer(gw))
    other = link(gw, sim, customer(gw))
    set_balance(box, fca, available=97_233, current=97_233)
    set_balance(box, other, available=500_000, current=500_000)
    debits, bad = parse_debits_csv(
        f"id,amount\n{fca},600.00\n{other},600.00\n{fca},300.00\n{fca},600.00\n"
    )
    result = check_batch.run_batch(svc, finance, debits, refresh_stale=False)
    assert not bad
    by_row = {r.row: r for r in result.rows}
    assert [by_row[n].verdict for n in (2, 3, 4, 5)] == ["ok", "ok", "ok", "insufficient"]
    assert not any("judged together" in r for r in by_row[2].reasons + by_row[3].reasons)
    # Said after an OK row's own reasons; first where it is why the row falls short.
    assert by_row[4].reasons[-1].startswith("Row 2 debits the same account in this batch: $900.00")
    assert by_row[5].reasons[0].startswith("Rows 2 and 4 debit the same account in this batch: $1,500.00")
    assert by_row[5].amount == 60_000  # the row's own amount; the judgement was of the total
    # The shortfall is of the three rows' total, and says so (it read "short of the $1,500.00
    # debit" on a $600.00 row)
    assert "$527.67 short of the $1,500.00 of these 3 debits." in by_row[5].reasons[1]
    assert "covers the $900.00 of these 2 debits." in by_row[4].reasons[0]
    assert result.summary().counts["insufficient"] == 1


def test_a_batch_counts_as_refreshed_only_the_balances_the_bank_gave(
    svc: Services, gw: Any, sim: Any, box: Any, finance: Actor
) -> None:
    failing = link(gw, sim, customer(gw), institution="Refresh Errors Bank")
    working = link(gw, sim, customer(gw))
    for fca in (failing, working):
        set_balance(box, fca, available=500_000, current=500_000, age=2 * DAY)
    debits, _ = parse_debits_csv(f"id,amount\n{failing},10.00\n{working},10.00\n")
    result = check_batch.run_batch(svc, finance, debits, refresh_stale=True, wait_seconds=20)
    by_account = {r.account_id: r for r in result.rows}
    assert result.refreshed == [working] and result.summary().refreshed == 1
    assert by_account[working].refreshed and by_account[working].verdict == "ok"
    assert not by_account[failing].refreshed and by_account[failing].verdict == "stale"
    assert any("last balance refresh failed" in r for r in by_account[failing].reasons)
    # The summary says why the Stale row had no refresh, and at which bank: it said only
    # "0 balances refreshed" beside Stale 5, the why in each row's reasons.
    said = result.summary().said()
    assert said.endswith(
        "1 balance refreshed. 1 refresh failed at the bank (Refresh Errors Bank); "
        "its rows are judged on the older balance."
    ), said
