"""The intents' data version moves with every write that changes an intent, and only then
(issue 13: pages cache their figures on it), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bench.page_fill import _intent
from services.adapters import data_version
from services.adapters.store import session_scope
from services.usecases import conversion_report
from services.usecases.sync_intents import store_intent


def _version(engine: Engine) -> int:
    return data_version.read(engine, data_version.INTENTS)


def test_a_new_or_changed_intent_bumps_the_version_and_an_unchanged_one_does_not(
    engine: Engine,
) -> None:
    import random

    intent = _intent(1, "cus_v1", "fca_v1", random.Random(1))
    assert _version(engine) == 0

    assert store_intent(engine, intent) == "inserted"
    first = _version(engine)
    assert first == 1
    assert store_intent(engine, intent) == "unchanged"
    assert _version(engine) == first

    assert store_intent(engine, {**intent, "status": "canceled"}) == "updated"
    assert _version(engine) == first + 1
    assert conversion_report.store_info(engine).version == first + 1


def test_bumps_from_separate_transactions_all_count(engine: Engine) -> None:
    for _ in range(5):
        with session_scope(engine) as session:
            data_version.bump(session, "other")
    assert data_version.read(engine, "other") == 5
    assert data_version.read(engine, data_version.INTENTS) == 0


def test_read_many_gives_each_counter_in_the_order_asked_and_0_for_one_never_bumped(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        for name, times in (("first", 2), ("second", 3)):
            for _ in range(times):
                data_version.bump(session, name)
    assert data_version.read_many(engine, "second", "never", "first") == (3, 0, 2)
    assert data_version.read_many(engine, "first") == (data_version.read(engine, "first"),)


def test_a_bump_rolled_back_with_its_write_is_not_counted(engine: Engine) -> None:
    try:
        with session_scope(engine) as session:
            data_version.bump(session, data_version.INTENTS)
            raise RuntimeError("the write failed")
    except RuntimeError:
        pass
    assert _version(engine) == 0


def test_an_account_written_by_the_mirror_bumps_the_accounts_version_once_per_change(
    engine: Engine,
) -> None:
    from services.adapters import account_mirror

    account = {
        "id": "fca_v1",
        "object": "financial_connections.account",
        "institution_name": "StripeBank",
        "status": "active",
        "permissions": ["balances"],
        "created": 1_700_000_000,
    }
    account_mirror.upsert_account(engine, account)
    assert data_version.read(engine, data_version.ACCOUNTS) == 1
    account_mirror.upsert_account(engine, account)
    assert data_version.read(engine, data_version.ACCOUNTS) == 1
    account_mirror.upsert_account(engine, {**account, "status": "inactive"})
    assert data_version.read(engine, data_version.ACCOUNTS) == 2


def test_a_changed_debit_outcome_bumps_the_outcomes_version_and_a_replay_does_not(
    engine: Engine,
) -> None:
    """The Returns page and Home cache their return rates on this version."""
    from services.usecases.debit_outcomes import record_payment_intent
    from tests.store.test_debit_outcomes import T0, intent

    def version() -> int:
        return data_version.read(engine, data_version.OUTCOMES)

    assert record_payment_intent(engine, intent("processing"), at=T0) == "inserted"
    assert version() == 1
    assert record_payment_intent(engine, intent("processing"), at=T0) == "unchanged"
    assert version() == 1
    failed = intent("requires_payment_method", "insufficient_funds")
    assert record_payment_intent(engine, failed, at=T0 + 9) == "updated"
    assert version() == 2
    assert data_version.read(engine, data_version.INTENTS) == 0


def test_kept_verdicts_bump_the_checks_version(engine: Engine) -> None:
    from services.adapters import check_history
    from services.rules.debit import DebitPolicy, assess_debit

    account = {"id": "fca_v1", "balance": None}
    verdict = assess_debit(account, 1_000, "usd", now=1_790_000_000, policy=DebitPolicy())
    row = check_history.check_row(
        verdict, account_id="fca_v1", policy=DebitPolicy(), checked_at=1, source="single"
    )
    check_history.record_checks(engine, [row])
    assert data_version.read(engine, data_version.CHECKS) == 1
    check_history.replace_source(engine, "demo", [row | {"source": "demo"}])
    assert data_version.read(engine, data_version.CHECKS) == 2
    assert check_history.record_checks(engine, []) == 0
    assert data_version.read(engine, data_version.CHECKS) == 2
