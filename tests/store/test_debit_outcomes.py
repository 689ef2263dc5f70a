"""The debit-outcome mirror on SQLite and PostgreSQL: incremental, idempotent, out-of-order safe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

from services.adapters.models import DebitOutcomeRecord
from services.adapters.store import open_store, session_scope
from services.rules.returns import RETRY_OF, rates_of
from services.usecases.debit_outcomes import (
    load_outcomes,
    record_event,
    record_payment_intent,
    stored_rows,
)

T0 = 1_790_000_000


def intent(
    status: str,
    code: str | None = None,
    *,
    pi_id: str = "pi_1",
    expand: bool = True,
    blocked: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    pm = {
        "id": "pm_1",
        "object": "payment_method",
        "type": "us_bank_account",
        "us_bank_account": {
            "bank_name": "STRIPE TEST BANK",
            "last4": "6789",
            "financial_connections_account": "fca_1",
            "status_details": {"blocked": blocked} if blocked else None,
        },
    }
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": 12_345,
        "currency": "usd",
        "created": T0,
        "customer": "cus_1",
        "status": status,
        "payment_method": pm if expand else "pm_1",
        "payment_method_types": ["us_bank_account"],
        "payment_method_options": {"us_bank_account": {"verification_method": "microdeposits"}},
        "last_payment_error": {"code": code, "type": "invalid_request_error", "payment_method": pm}
        if code
        else None,
        "metadata": {"fcops_flow": "rent", **(metadata or {})},
    }


def event(kind: str, at: int, obj: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return {
        "id": f"evt_{kind}_{at}_{n}",
        "object": "event",
        "type": f"payment_intent.{kind}",
        "created": at,
        "data": {"object": obj},
    }


PROCESSING = event("processing", T0 + 10, intent("processing", expand=False))
FAILED = event(
    "payment_failed",
    T0 + 2 * 86_400,
    intent("requires_payment_method", "insufficient_funds", expand=False),
)


def row(engine: Any, pi_id: str = "pi_1") -> DebitOutcomeRecord:
    return stored_rows(engine, [pi_id])[pi_id]


def test_events_in_order_keep_dates_and_the_return(engine: Any) -> None:
    assert record_event(engine, PROCESSING) == "inserted"
    assert row(engine).status == "pending"
    assert record_event(engine, FAILED) == "updated"
    r = row(engine)
    assert (r.status, r.failure_code, r.return_code, r.category) == (
        "returned",
        "insufficient_funds",
        "R01/R09",
        "other",
    )
    assert (r.processing_at, r.returned_at, r.settled_at) == (T0 + 10, T0 + 2 * 86_400, None)
    assert (r.amount, r.currency, r.created, r.verification_method, r.flow) == (
        12_345,
        "usd",
        T0,
        "microdeposits",
        "rent",
    )


def test_replaying_events_changes_nothing(engine: Any) -> None:
    for e in (PROCESSING, FAILED):
        record_event(engine, e)
    before = row(engine)
    assert [record_event(engine, e) for e in (PROCESSING, FAILED)] == ["unchanged", "unchanged"]
    after = row(engine)
    assert {
        c: getattr(after, c) for c in ("status", "processing_at", "returned_at", "observed_at")
    } == {c: getattr(before, c) for c in ("status", "processing_at", "returned_at", "observed_at")}


def test_out_of_order_events_keep_the_newest_state_and_every_date(engine: Any) -> None:
    record_event(engine, FAILED)
    assert record_event(engine, PROCESSING) == "updated"  # learns the processing date only
    r = row(engine)
    assert r.status == "returned" and r.return_code == "R01/R09"
    assert (r.processing_at, r.returned_at) == (T0 + 10, T0 + 2 * 86_400)


def test_listing_adds_the_payment_method_and_block(engine: Any) -> None:
    record_event(
        engine,
        event(
            "payment_failed",
            T0 + 86_400,
            intent("requires_payment_method", "debit_not_authorized", expand=False),
        ),
    )
    listed = intent(
        "requires_payment_method",
        "debit_not_authorized",
        blocked={"network_code": "R29", "reason": "debit_not_authorized"},
    )
    assert record_payment_intent(engine, listed, at=T0 + 5 * 86_400) == "updated"
    r = row(engine)
    assert (r.institution, r.account_id, r.last4, r.return_code, r.category, r.blocked_reason) == (
        "STRIPE TEST BANK",
        "fca_1",
        "6789",
        "R29",
        "unauthorized",
        "debit_not_authorized",
    )
    assert r.returned_at == T0 + 86_400  # the event's date, not the listing's


def test_non_debits_are_skipped(engine: Any) -> None:
    card = {
        **intent("succeeded"),
        "id": "pi_card",
        "payment_method": {"id": "pm_c", "type": "card"},
        "payment_method_types": ["card"],
    }
    assert record_payment_intent(engine, card, at=T0) == "skipped"
    assert record_payment_intent(engine, intent("requires_payment_method"), at=T0) == "skipped"
    assert (
        record_event(
            engine,
            {
                "type": "payment_intent.created",
                "created": T0,
                "data": {"object": intent("processing")},
            },
        )
        == "skipped"
    )
    assert load_outcomes(engine) == []


def test_stored_outcomes_give_the_same_rates_as_the_intents(engine: Any) -> None:
    from services.returns import return_rates

    intents = [
        intent("succeeded", pi_id="pi_a"),
        intent("requires_payment_method", "insufficient_funds", pi_id="pi_b"),
        intent(
            "requires_payment_method",
            "insufficient_funds",
            pi_id="pi_b2",
            metadata={RETRY_OF: "pi_b"},
        ),
        intent("requires_payment_method", "account_closed", pi_id="pi_c"),
        intent("processing", pi_id="pi_d"),
    ]
    for pi in intents:
        record_payment_intent(engine, pi, at=T0 + 86_400)
    now = T0 + 3 * 86_400
    stored = rates_of(load_outcomes(engine), now=now)
    direct = return_rates(intents, now=now)
    assert stored.equals(direct)
    assert list(stored["debits"]) == [4, 4, 4] and list(stored["returns"]) == [0, 1, 2]


def test_an_older_store_gets_the_table_at_start_up(db_url: str) -> None:
    engine = open_store(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE debit_outcomes"))
    engine.dispose()
    engine = open_store(db_url)
    assert inspect(engine).has_table("debit_outcomes")
    with session_scope(engine) as session:
        assert session.get(DebitOutcomeRecord, "pi_x") is None
    engine.dispose()


def test_the_csv_export_escapes_formulas_and_refuses_other_roles(engine: Any) -> None:
    import csv
    import io

    import pytest

    from services.auth import Actor
    from services.context import Services
    from services.errors import Forbidden
    from services.usecases import returns_report

    evil = intent("requires_payment_method", "insufficient_funds", pi_id="pi_evil")
    evil["customer"] = "=HYPERLINK(1)"
    evil["metadata"] = {"fcops_flow": "@flow"}
    record_payment_intent(engine, evil, at=T0 + 86_400)
    svc = Services(gateway=None, engine=engine, mode="sandbox", now=lambda: T0 + 2 * 86_400)  # type: ignore[arg-type]
    text = returns_report.export_csv(svc, Actor("fin", "finance"), category="overall")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["debit"], row["customer"], row["flow"], row["return_code"]) == (
        "pi_evil",
        "'=HYPERLINK(1)",
        "'@flow",
        "R01/R09",
    )
    with pytest.raises(Forbidden):
        returns_report.export_csv(svc, Actor("o", "ops"))


def test_a_block_keeps_its_network_code_and_reason_for_the_blocked_accounts_list(
    engine: Any,
) -> None:
    blocked = {"network_code": "R16", "reason": "bank_account_frozen"}
    record_payment_intent(
        engine, intent("requires_payment_method", "account_frozen", blocked=blocked), at=T0 + 9
    )
    row = stored_rows(engine, ["pi_1"])["pi_1"]
    assert (row.blocked_code, row.blocked_reason, row.return_code) == (
        "R16",
        "bank_account_frozen",
        "R16",
    )
    [kept] = load_outcomes(engine)
    assert kept.blocked_code == "R16"


def test_the_outcomes_data_version_moves_with_changing_writes_only(engine: Any) -> None:
    from services.adapters import data_version

    start = data_version.read(engine, data_version.OUTCOMES)
    record_event(engine, PROCESSING)
    record_event(engine, FAILED)
    assert data_version.read(engine, data_version.OUTCOMES) == start + 2
    record_event(engine, FAILED)  # a replay changes no row
    assert data_version.read(engine, data_version.OUTCOMES) == start + 2


def test_the_blocked_list_finds_a_person_by_part_of_their_name_or_email(engine: Any) -> None:
    """find_blocked's search by person looks up each blocked row's customer (an EXISTS by key),
    not every customer: the same answer on SQLite and PostgreSQL."""
    from types import SimpleNamespace

    from services.adapters import account_mirror
    from services.auth import Actor
    from services.usecases.blocked_accounts import find_blocked

    blocked = {"network_code": "R16", "reason": "bank_account_frozen"}
    for n, (cus, name, email) in enumerate(
        [("cus_a", "Ada Harbor", "ada@example.com"), ("cus_b", "Bo Lake", "bo@harborview.io")]
    ):
        account_mirror.upsert_customer(
            engine, {"id": cus, "object": "customer", "name": name, "email": email, "created": T0}
        )
        one = intent("requires_payment_method", "account_frozen", pi_id=f"pi_{n}", blocked=blocked)
        one["customer"] = cus
        one["payment_method"]["id"] = f"pm_{n}"
        record_payment_intent(engine, one, at=T0 + n)
    account_mirror.upsert_customer(  # a matching person with nothing blocked is not listed
        engine, {"id": "cus_c", "object": "customer", "name": "Cy Harbor", "created": T0}
    )
    svc = SimpleNamespace(engine=engine, gateway=None)
    ops = Actor(username="ops", role="ops")

    def found(search: str) -> list[str]:
        return sorted(r.customer_id for r in find_blocked(svc, ops, search=search).rows)  # type: ignore[arg-type]

    assert found("harbor") == ["cus_a", "cus_b"]  # a name, and an email
    assert found("ADA") == ["cus_a"]
    assert found("lake") == ["cus_b"]
    assert found("nobody") == []
