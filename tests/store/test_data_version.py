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
