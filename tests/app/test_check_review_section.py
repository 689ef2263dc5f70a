"""Returns page, "Did our check work?": the verdict × outcome table, the R01s an ok let
through, the money kept from bouncing; admins get a policy suggestion that opens Debit policy
prefilled, and saving there is the ordinary audited save."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from services.adapters import check_history
from services.auth import Actor
from services.rules.debit import DebitPolicy, assess_debit
from services.usecases import debit_policy
from services.usecases.debit_outcomes import record_payment_intent
from tests.app.conftest import clear_flow_drafts, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_returns_page import outcomes_synced  # noqa: F401  (autouse fixture)

PAGE = "pages/returns.py"
HOUR = 3_600


@pytest.fixture(autouse=True)
def forget_seeded_rows() -> Iterator[None]:
    """Only this test's rows: the demo world's seeded checks go first (they would add to the
    money kept), and this test's debits and checks after."""
    from sqlmodel import col, delete

    from services.adapters.models import (
        DebitChainDayRecord,
        DebitChainRecord,
        DebitCheckRecord,
        DebitHeadroomDayRecord,
        DebitOutcomeRecord,
        DebitVerdictDayRecord,
        LatestBlockRecord,
    )
    from services.adapters.store import session_scope

    check_history.replace_source(app().engine, "demo", [])
    # The suggestions are measured against the policy in force: the defaults, whatever an
    # earlier page test saved (run after the Debit policy tests, the suggestion was gone).
    in_force = debit_policy.load_policy(app().engine)
    if in_force.policy != DebitPolicy() or in_force.currency != "usd":
        admin = Actor(username="apptest-admin", role="admin")
        debit_policy.save_policy(
            app().engine, admin, DebitPolicy(), expected_version=in_force.version
        )
    with session_scope(app().engine) as session:  # checks earlier page tests made count too
        session.exec(delete(DebitCheckRecord))  # type: ignore[call-overload]
    yield
    with session_scope(app().engine) as session:
        session.exec(delete(DebitOutcomeRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitVerdictDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitHeadroomDayRecord))  # type: ignore[call-overload]
        session.exec(delete(LatestBlockRecord))  # type: ignore[call-overload]
        session.exec(
            delete(DebitCheckRecord).where(col(DebitCheckRecord.source) == "test")  # type: ignore[call-overload]
        )


def account(fca: str, balance: int, as_of: int) -> dict[str, Any]:
    return {
        "id": fca,
        "object": "financial_connections.account",
        "status": "active",
        "permissions": ["balances", "payment_method"],
        "category": "cash",
        "subcategory": "checking",
        "balance": {
            "as_of": as_of,
            "cash": {"available": {"usd": balance}},
            "current": {"usd": balance},
            "type": "cash",
        },
        "balance_refresh": {"status": "succeeded", "last_attempted_at": as_of},
    }


def seed(tag: str) -> dict[str, str]:
    """Three debits on linked accounts, each checked an hour before: an R01 an ok let through
    (7 % headroom), a settled one (50 % headroom), an R01 the check called insufficient; and
    one insufficient check no debit followed."""
    engine, now = app().engine, app().services.now()
    created = now - 3 * 86_400

    def pi(name: str, status: str, code: str | None = None) -> dict[str, Any]:
        pm = {
            "id": f"pm_{tag}{name}",
            "type": "us_bank_account",
            "us_bank_account": {
                "bank_name": "Gringotts",
                "last4": "4242",
                "financial_connections_account": f"fca_{tag}{name}",
                "status_details": None,
            },
        }
        return {
            "id": f"pi_{tag}{name}",
            "object": "payment_intent",
            "amount": 10_000,
            "currency": "usd",
            "created": created,
            "customer": f"cus_{tag}",
            "status": status,
            "payment_method": pm,
            "payment_method_options": {"us_bank_account": {"verification_method": "instant"}},
            "last_payment_error": {"code": code, "payment_method": pm} if code else None,
            "metadata": {},
        }

    for intent in (
        pi("miss", "requires_payment_method", "insufficient_funds"),
        pi("good", "succeeded"),
        pi("low", "requires_payment_method", "insufficient_funds"),
    ):
        record_payment_intent(engine, intent, at=now - 86_400)
    at = created - HOUR
    # "kept" a week and more ago (no debit followed within the week); "recent" two days ago:
    # whether a debit follows it is not known yet, so it is not counted.
    plans = [("miss", 10_700, at), ("good", 15_000, at), ("low", 4_000, at),
             ("kept", 2_000, now - 8 * 86_400), ("recent", 2_000, now - 2 * 86_400)]
    rows = []
    for name, balance, when in plans:
        fca = f"fca_{tag}{name}"
        verdict = assess_debit(
            account(fca, balance, when - HOUR), {"kept": 25_000, "recent": 30_000}.get(name, 10_000),
            "usd",
            now=when, policy=DebitPolicy(),
        )  # fmt: skip
        rows.append(
            check_history.check_row(
                verdict, account_id=fca, policy=DebitPolicy(), checked_at=when, source="test"
            )
        )
    check_history.record_checks(engine, rows)
    return {"miss": f"pi_{tag}miss"}


def section_table(at: Any) -> Any:
    return next(d.value for d in at.dataframe if "Verdict before the debit" in d.value.columns)


def test_finance_sees_verdicts_against_outcomes_the_misses_and_the_money_kept() -> None:
    ids = seed(secrets.token_hex(3))
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    table = section_table(at).set_index("Verdict before the debit")
    assert table.loc["ok", "returned R01/R09"] >= 1
    assert table.loc["ok", "settled"] >= 1
    assert table.loc["insufficient", "returned R01/R09"] >= 1
    misses = next(d.value for d in at.dataframe if "Balance age" in d.value.columns)
    row = misses[misses["Debit"] == ids["miss"]].iloc[0]
    assert row["Balance at the check"] == 107.0 and row["Balance age"] == 3600.0  # numbers
    columns = list(misses.columns)
    assert columns.index("Customer") < columns.index("Debit")
    page = texts(at)
    assert "Kept from bouncing" in page and "$250.00" in page and "$550.00" not in page
    assert "Policy suggestion" not in page  # admins only
    assert not any("Debit policy" in el.proto.label for el in at.get("page_link"))


def test_a_manager_reads_the_section_without_a_suggestion() -> None:
    seed(secrets.token_hex(3))
    at = open_page(PAGE, "manager")
    no_exceptions(at)
    assert section_table(at) is not None
    assert "Policy suggestion" not in texts(at)


def test_an_admin_gets_a_suggestion_with_its_effect_and_a_link_to_debit_policy() -> None:
    seed(secrets.token_hex(3))
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    suggestion = next(str(i.value) for i in at.info if "Policy suggestion" in str(i.value))
    assert "A buffer of 8 %" in suggestion
    assert "held back no debit that settled" in suggestion
    link = next(el.proto for el in at.get("page_link") if "Debit policy" in el.proto.label)
    assert link.page == "policy"
    assert link.query_string == "buffer_percent=8&max_age_hours=24"  # only the buffer changes


def test_debit_policy_opens_prefilled_with_the_suggestion_and_saving_stays_the_admins_act() -> None:
    at = open_page(None, "admin")
    at.query_params["buffer_percent"] = "8"
    at.query_params["max_age_hours"] = "24"
    at.switch_page("pages/policy.py")
    at.run()
    no_exceptions(at)
    assert any("suggested on the Returns page" in str(i.value) for i in at.info)
    assert at.number_input(key="policy_buffer_percent").value == 8.0
    clear_flow_drafts()  # the suggestion, unsaved, is kept as the admin's draft


def debits_table(at: Any) -> Any:
    return next(d for d in at.dataframe if "return_code" in d.value.columns)


def misses_table(at: Any) -> Any:
    return next(d.value for d in at.dataframe if "Balance age" in d.value.columns)


def test_the_debits_and_the_misses_name_the_customer_before_the_ids() -> None:
    from services.adapters import account_mirror

    tag = secrets.token_hex(3)
    ids = seed(tag)
    account_mirror.upsert_customer(
        app().engine, {"id": f"cus_{tag}", "name": f"Ada {tag}", "email": f"ada{tag}@x.org"}
    )
    at = open_page(PAGE, "finance")
    at.selectbox(key="returns_show").set_value("all debits").run()
    no_exceptions(at)
    misses = misses_table(at)
    row = misses[misses["Debit"] == ids["miss"]].iloc[0]
    assert (row["Name"], row["Email"]) == (f"Ada {tag}", f"ada{tag}@x.org")
    columns = list(misses.columns)
    assert columns[:2] == ["Name", "Email"] and columns.index("Email") < columns.index("Customer")
    table = debits_table(at)
    debit = table.value[table.value["debit"] == ids["miss"]].iloc[0]
    assert (debit["name"], debit["email"]) == (f"Ada {tag}", f"ada{tag}@x.org")
    order = list(table.proto.column_order)
    assert order[:2] == ["name", "email"]
    assert order.index("email") < min(order.index(c) for c in ("customer", "debit", "account"))
    # The CSV export carries them too (names leave the app only for roles that see them).
    from services.auth import Actor
    from services.usecases import returns_report

    text = returns_report.export_csv(app().services, Actor("finance", "finance"))
    header, *rows = text.splitlines()
    assert header.startswith("name,email,debit")
    assert any(r.startswith(f"Ada {tag},ada{tag}@x.org,{ids['miss']}") for r in rows)


def test_a_manager_sees_no_names_in_the_debits_or_the_misses() -> None:
    from services.adapters import account_mirror

    tag = secrets.token_hex(3)
    seed(tag)
    account_mirror.upsert_customer(
        app().engine, {"id": f"cus_{tag}", "name": f"Ada {tag}", "email": f"ada{tag}@x.org"}
    )
    at = open_page(PAGE, "manager")
    at.selectbox(key="returns_show").set_value("all debits").run()
    no_exceptions(at)
    assert "Name" not in misses_table(at).columns
    assert "name" not in debits_table(at).value.columns
    assert f"Ada {tag}" not in texts(at)
    assert not any(f"ada{tag}@x.org" in d.value.to_csv() for d in at.dataframe)
