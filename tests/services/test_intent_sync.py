"""Intent sync on the sandbox (SQLite and PostgreSQL): idempotent, incremental, audited; funnel."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from services.adapters.models import AuditEntry, IntentRecord, SyncState
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden, StripeUnavailable, ValidationError
from services.usecases import (
    collect_customers,
    collection_requests,
    conversion_report,
    sync_intents,
)


@pytest.fixture
def svc(gateway, engine) -> Services:  # type: ignore[no-untyped-def]
    return Services(gateway=gateway, engine=engine, mode="sandbox")


def _rows(engine) -> dict[str, tuple[str, int | None, str | None]]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        found = session.exec(select(IntentRecord)).all()
    return {r.id: (r.status, r.succeeded_at, r.flow) for r in found}


def _new_intent(svc: Services, ops) -> str:  # type: ignore[no-untyped-def]
    email = f"sync-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(svc, ops, email=email, idempotency_key=email).id
    return collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=f"si-{email}"
    ).id


def _automatic_row(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    frame = conversion_report.conversion(engine, now=int(time.time()), flows=["setup_intent"])
    [row] = frame[frame["verification_method"] == "automatic"].to_dict("records")
    return {name: int(row[name]) for name in ("started", "succeeded", "linked_instantly")}


def test_running_the_sync_twice_leaves_the_same_rows(svc, manager) -> None:  # type: ignore[no-untyped-def]
    first = sync_intents.sync_intents(svc, manager)
    rows_after_first = _rows(svc.engine)
    second = sync_intents.sync_intents(svc, manager)

    assert first.full and not second.full
    assert first.inserted == first.fetched == len(rows_after_first) > 0
    assert second.inserted == 0 and second.updated == 0
    assert second.unchanged == second.fetched
    assert _rows(svc.engine) == rows_after_first
    with session_scope(svc.engine) as session:
        state = session.get(SyncState, "intents")
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "intents.sync")).all()
    assert state is not None and int(state.cursor or 0) == second.cursor_after
    assert [a.outcome for a in audits] == ["ok", "ok"]


def test_incremental_sync_picks_up_a_status_change_and_its_success_time(
    svc, simulator, ops, manager
) -> None:  # type: ignore[no-untyped-def]
    sync_intents.sync_intents(svc, manager)
    intent_id = _new_intent(svc, ops)
    assert _rows(svc.engine)[intent_id][0] == "requires_payment_method"

    simulator.link_bank(intent_id, institution="Test Institution")
    result = sync_intents.sync_intents(svc, manager)

    status, succeeded_at, flow = _rows(svc.engine)[intent_id]
    assert not result.full and result.updated >= 1
    assert status == "succeeded" and flow == "setup_intent"
    assert succeeded_at is not None and succeeded_at >= time.time() - 600


def test_a_status_change_older_than_the_window_is_found_through_its_event(
    svc, gateway, simulator, ops, manager
) -> None:  # type: ignore[no-untyped-def]
    intent_id = _new_intent(svc, ops)
    sync_intents.sync_intents(svc, manager)
    created = gateway.retrieve_setup_intent(intent_id)["created"]
    # The cursor has moved past this intent's creation (as it would weeks later); the link
    # happens after the cursor, so only its event can tell the sync about it.
    with session_scope(svc.engine) as session:
        state = session.get(SyncState, "intents")
        assert state is not None
        state.cursor = str(created + 1)
    simulator.advance_clock(5)
    simulator.link_bank(intent_id, institution="Test Institution")

    sync_intents.sync_intents(svc, manager)

    assert _rows(svc.engine)[intent_id][0] == "succeeded"


def test_the_funnel_counts_a_newly_succeeded_intent(svc, simulator, ops, manager) -> None:  # type: ignore[no-untyped-def]
    sync_intents.sync_intents(svc, manager)
    before = _automatic_row(svc.engine)
    intent_id = _new_intent(svc, ops)
    simulator.link_bank(intent_id, institution="Test Institution")

    sync_intents.sync_intents(svc, manager)
    after = _automatic_row(svc.engine)

    assert after["started"] == before["started"] + 1
    assert after["succeeded"] == before["succeeded"] + 1
    assert after["linked_instantly"] == before["linked_instantly"] + 1


def test_conversion_filters_by_flow_method_and_dates_in_sql(svc, manager) -> None:  # type: ignore[no-untyped-def]
    sync_intents.sync_intents(svc, manager)
    now = int(time.time())
    everything = conversion_report.conversion(svc.engine, now=now)
    only_micro = conversion_report.conversion(svc.engine, now=now, methods=["microdeposits"])
    future = datetime.now(UTC).date() + timedelta(days=30)
    nothing = conversion_report.conversion(svc.engine, now=now, start=future)

    total = int(everything["started"].sum())
    assert total == conversion_report.store_info(svc.engine).intents
    assert list(only_micro["verification_method"]) == ["microdeposits"]
    micro = everything.set_index("verification_method")["started"]["microdeposits"]
    assert int(only_micro["started"].sum()) == int(micro)
    assert int(nothing["started"].sum()) == 0
    weekly = conversion_report.conversion(svc.engine, now=now, by="week")
    assert int(weekly["started"].sum()) == total


def test_conversion_refuses_an_end_before_the_start(svc) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(UTC).date()
    with pytest.raises(ValidationError, match="end date"):
        conversion_report.conversion(svc.engine, now=0, start=today, end=today - timedelta(days=1))


def test_the_outcomes_table_names_each_intents_flow_and_status(svc, ops, manager) -> None:  # type: ignore[no-untyped-def]
    intent_id = _new_intent(svc, ops)
    sync_intents.sync_intents(svc, manager)
    frame = conversion_report.outcomes(svc.engine, now=int(time.time()), flows=["setup_intent"])
    row = frame.set_index("id").loc[intent_id]
    assert row["flow"] == "setup_intent" and row["status"] == "requires_payment_method"
    assert row["stage"] == "pending"


def _sync_audits(engine) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == "intents.sync")).all()
        )


def test_finance_may_not_sync_intents(svc, finance) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        sync_intents.sync_intents(svc, finance)
    assert conversion_report.store_info(svc.engine).intents == 0
    assert [(a.actor, a.outcome) for a in _sync_audits(svc.engine)] == [
        (finance.username, "refused")
    ]


def test_a_sync_stripe_fails_leaves_the_store_and_cursor_as_they_were_and_one_error_row(  # type: ignore[no-untyped-def]
    svc, simulator, sandbox_handle, manager
) -> None:
    sync_intents.sync_intents(svc, manager)
    before = conversion_report.store_info(svc.engine)
    simulator.force_faults("500", count=5)
    try:
        with pytest.raises(StripeUnavailable):
            sync_intents.sync_intents(svc, manager)
    finally:
        sandbox_handle.state.clear_faults()  # the session sandbox is shared with other tests
    after = conversion_report.store_info(svc.engine)
    assert (after.intents, after.cursor, after.last_finished_at) == (
        before.intents,
        before.cursor,
        before.last_finished_at,
    )
    assert [a.outcome for a in _sync_audits(svc.engine)] == ["ok", "error"]


def test_intents_paid_by_card_or_link_are_stored_and_counted_apart(
    svc, manager, sandbox_handle
) -> None:  # type: ignore[no-untyped-def]
    """The demo world has dynamic offers paid by card or Link (B2): the sync keeps them (they
    offered us_bank_account) and the funnel shows them as paid by another method only."""
    state = sandbox_handle.state
    with state.lock:
        truth = {
            i["id"]
            for i in [*state.find("payment_intent"), *state.find("setup_intent")]
            if i["payment_method"]
            and state.lookup(i["payment_method"])["type"] in ("card", "link")
            and i["created"] >= state.now() - sync_intents.FULL_WINDOW_SECONDS
        }
    assert truth, "the demo world of the service tests has card- or Link-paid intents"
    sync_intents.sync_intents(svc, manager, full=True)
    frame = conversion_report.conversion(svc.engine, now=state.now())
    assert int(frame["other_method"].sum()) == len(truth)
    outcomes = conversion_report.outcomes(svc.engine, now=state.now())
    other = outcomes[outcomes["id"].isin(truth)]
    assert set(other["path"]) == {"other"} and set(other["stage"]) == {"other_method"}
    assert not other["verified"].any()


def test_a_list_that_fails_part_way_ends_the_read_ahead_and_a_rerun_completes(  # type: ignore[no-untyped-def]
    svc, manager, monkeypatch
) -> None:
    """The lists are read on a thread of their own while pages are written: a list page that
    fails stops the sync with the error (cursor not moved, one error row), leaves no thread of
    it reading on, and the next sync reads everything."""
    first = sync_intents.sync_intents(svc, manager, full=True)
    before = conversion_report.store_info(svc.engine)
    real = svc.gateway.iter_payment_intents
    listed = sum(1 for _ in real(created_gte=svc.now() - sync_intents.FULL_WINDOW_SECONDS))
    fail_at = 100 if listed > 100 else listed // 2  # the second page, or part way through one
    assert fail_at > 0
    handed: list[str] = []

    def failing(**params):  # type: ignore[no-untyped-def]
        for n, intent in enumerate(real(**params)):
            if n == fail_at:
                raise StripeUnavailable("Stripe is having a temporary problem.")
            handed.append(intent["id"])
            yield intent

    monkeypatch.setattr(svc.gateway, "iter_payment_intents", failing)
    with pytest.raises(StripeUnavailable):
        sync_intents.sync_intents(svc, manager, full=True)
    assert len(handed) == fail_at, "the PaymentIntents were read up to the failing page"
    assert not [t for t in threading.enumerate() if t.name.startswith("fcops-intents")]
    after = conversion_report.store_info(svc.engine)
    assert (after.cursor, after.last_finished_at) == (before.cursor, before.last_finished_at)
    assert [a.outcome for a in _sync_audits(svc.engine)][-2:] == ["ok", "error"]

    monkeypatch.undo()
    again = sync_intents.sync_intents(svc, manager, full=True)
    assert again.fetched == first.fetched and again.inserted == 0
    last = _sync_audits(svc.engine)[-1]
    assert last.outcome == "ok" and (last.stripe_request_id or "").startswith("req_")


def test_a_patient_sync_asks_again_for_the_page_stripe_failed_and_goes_on_from_it(  # type: ignore[no-untyped-def]
    svc, manager, monkeypatch
) -> None:
    """A job's sync (``patient``) asks again for a list page Stripe failed to answer, with the
    same cursor, instead of failing and starting over; without ``patient`` it fails at once."""
    first = sync_intents.sync_intents(svc, manager, full=True)
    real = svc.gateway._list_page
    asked: list[tuple[str, str | None]] = []
    failing = {"left": 0}

    def flaky(path, params):  # type: ignore[no-untyped-def]
        asked.append((path, params.get("starting_after")))
        if path == "/v1/payment_intents" and failing["left"]:
            failing["left"] -= 1
            raise StripeUnavailable("Stripe had a temporary problem (HTTP 500).")
        return real(path, params)

    monkeypatch.setattr(svc.gateway, "_list_page", flaky)
    failing["left"] = 1
    with pytest.raises(StripeUnavailable):  # not patient: one ask, then the error
        sync_intents.sync_intents(svc, manager, full=True)
    assert [a.outcome for a in _sync_audits(svc.engine)][-1] == "error"

    asked.clear()
    failing["left"] = 2
    again = sync_intents.sync_intents(svc, manager, full=True, patient=True)
    assert (again.fetched, again.inserted) == (first.fetched, 0)
    payment_pages = [after for path, after in asked if path == "/v1/payment_intents"]
    assert payment_pages[:3] == [payment_pages[0]] * 3, "the failed page was asked again"
    setup_pages = [after for path, after in asked if path == "/v1/setup_intents"]
    assert len(setup_pages) == len(set(setup_pages)), "nothing before it was read again"
    assert [a.outcome for a in _sync_audits(svc.engine)][-1] == "ok"
