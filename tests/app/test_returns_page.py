"""Returns page: rates with counts against the limits, warnings, breakdowns, the debits behind a
figure, CSV, a retry plan for finance; managers read, ops cannot open it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from sqlmodel import select

from services.usecases.debit_outcomes import record_payment_intent
from tests.app.conftest import (
    PAGE_WIDTH,
    column_config,
    jobs_settled,
    no_exceptions,
    open_page,
    refused,
    shown_cells,
    texts,
)
from tests.app.conftest import shared_app as app

PAGE = "pages/returns.py"


@pytest.fixture(autouse=True)
def outcomes_synced() -> None:
    """These tests seed their own debits: the outcomes count as synced, so opening Returns
    starts no sync of the demo world's debits (test_returns_first_sync.py covers that), and
    debits an earlier test's sync left are gone."""
    from sqlmodel import delete

    from services.adapters.models import (
        DebitChainDayRecord,
        DebitChainRecord,
        DebitHeadroomDayRecord,
        DebitOutcomeRecord,
        DebitVerdictDayRecord,
        LatestBlockRecord,
        utcnow,
    )
    from services.adapters.store import mark_sync, session_scope
    from services.usecases.debit_outcomes import SYNC_NAME

    jobs_settled()
    now = app().services.now()
    mark_sync(app().engine, SYNC_NAME, cursor=str(now), last_finished_at=utcnow())
    with session_scope(app().engine) as session:
        session.exec(delete(DebitOutcomeRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitVerdictDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitHeadroomDayRecord))  # type: ignore[call-overload]
        session.exec(delete(LatestBlockRecord))  # type: ignore[call-overload]


@pytest.fixture(autouse=True)
def forget_seeded_debits() -> Iterator[None]:
    """Other page tests share this app's store: leave no debits behind."""
    yield
    from sqlmodel import delete

    from services.adapters.models import (
        DebitChainDayRecord,
        DebitChainRecord,
        DebitHeadroomDayRecord,
        DebitOutcomeRecord,
        DebitVerdictDayRecord,
        LatestBlockRecord,
    )
    from services.adapters.store import session_scope

    with session_scope(app().engine) as session:
        session.exec(delete(DebitOutcomeRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitChainDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitVerdictDayRecord))  # type: ignore[call-overload]
        session.exec(delete(DebitHeadroomDayRecord))  # type: ignore[call-overload]
        session.exec(delete(LatestBlockRecord))  # type: ignore[call-overload]


def seed_debits(n_ok: int = 18, *, unusable: bool = False) -> dict[str, str]:
    """Hand-made Stripe-shaped debits in the shared app's store: ``n_ok`` settled, one R01,
    one unauthorized (R10, blocked), and with ``unusable`` one bank_account_unusable (R04,
    blocked). Returns their ids."""
    now = app().services.now()
    tag = secrets.token_hex(3)

    def pi(
        name: str,
        status: str,
        code: str | None = None,
        method: str = "instant",
        blocked: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        pm = {
            "id": f"pm_{tag}{name}",
            "type": "us_bank_account",
            "us_bank_account": {
                "bank_name": "Gringotts",
                "last4": "4242",
                "financial_connections_account": None,
                "status_details": {"blocked": blocked} if blocked else None,
            },
        }
        return {
            "id": f"pi_{tag}{name}",
            "object": "payment_intent",
            "amount": 4_200,
            "currency": "usd",
            "created": now - 3 * 86_400,
            "customer": f"cus_{tag}",
            "status": status,
            "payment_method": pm,
            "payment_method_options": {"us_bank_account": {"verification_method": method}},
            "last_payment_error": {"code": code, "payment_method": pm} if code else None,
            "metadata": {"fcops_flow": "setup_intent"},
        }

    intents = [
        pi(f"ok{i}", "succeeded", method="microdeposits" if i % 2 else "instant")
        for i in range(n_ok)
    ]
    intents += [
        pi("nsf", "requires_payment_method", "insufficient_funds"),
        pi(
            "unauth",
            "requires_payment_method",
            "debit_not_authorized",
            method="microdeposits",
            blocked={"network_code": "R10", "reason": "debit_not_authorized"},
        ),
    ]
    if unusable:
        intents.append(
            pi(
                "unusable",
                "requires_payment_method",
                "bank_account_unusable",
                blocked={"network_code": "R04", "reason": "bank_account_invalid_details"},
            )
        )
    for intent in intents:
        record_payment_intent(app().engine, intent, at=now - 86_400)
    return {"nsf": f"pi_{tag}nsf", "unauth": f"pi_{tag}unauth", "unusable": f"pi_{tag}unusable"}


def metric(at: Any, prefix: str) -> Any:
    return next(m for m in at.metric if str(m.label).startswith(prefix))


def test_finance_sees_rates_with_counts_a_warning_the_debits_and_a_retry_plan() -> None:
    ids = seed_debits()
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    unauth = metric(at, "Unauthorized")
    assert unauth.value != "—" and float(str(unauth.value).rstrip("%")) > 0.5
    page = texts(at)
    assert "returned of" in page and "debits" in page
    assert any("unauthorized return rate is over" in str(w.value) for w in at.warning)
    assert at.dataframe, "breakdown and debit tables"
    shown = at.dataframe[-1].value
    assert ids["nsf"] in set(shown["debit"]) and ids["unauth"] in set(shown["debit"])
    assert set(shown["status"]) == {"returned"}
    # Amounts and times are numbers (they sort as such); rates are fractions shown as %.
    assert 42.0 in set(shown["amount"]) and pd.api.types.is_datetime64_any_dtype(shown["created"])
    config = column_config(at.dataframe[-1])
    assert config["amount"]["type_config"]["format"] == "dollar"
    # Every column is labelled in words, not by its field name.
    labels = {name: c.get("label") for name, c in config.items() if isinstance(c, dict)}
    assert labels["return_code"] == "Return code" and labels["amount"] == "Amount"
    assert labels["verification_method"] == "Method"  # "Verification m…" was cut at 1,400 px
    assert "Verification method" in config["verification_method"]["help"]
    # The columns up to the method fit the page (the IDs after them scroll into view).
    order = list(at.dataframe[-1].proto.column_order)
    upto = order[: order.index("verification_method") + 1]
    assert sum(config[c]["width"] for c in upto) <= PAGE_WIDTH, {c: config[c] for c in upto}
    assert all(labels.get(c) for c in shown.columns if c != "currency"), labels
    breakdown = at.dataframe[0].value
    assert pd.api.types.is_float_dtype(breakdown["Unauthorized rate"])
    assert at.get("download_button")
    at.text_input(key="returns_retry_search").input(ids["nsf"]).run()
    at.selectbox(key="returns_retry_pick").set_value(ids["nsf"]).run()
    no_exceptions(at)
    assert any("Attempt 2 of 3" in str(i.value) for i in at.info)
    assert any("send the retry" in b.label for b in at.button)


def named(ids: dict[str, str]) -> tuple[str, str]:
    """Put the seeded debits' customer in the store with a unique name and email."""
    from services.adapters.account_mirror import upsert_customer

    tag = ids["nsf"].removeprefix("pi_").removesuffix("nsf")
    name, email = f"Grace Hopper {tag}", f"grace-{tag}@example.org"
    customer = {"id": f"cus_{tag}", "object": "customer", "name": name, "email": email}
    upsert_customer(app().engine, {**customer, "created": app().services.now()})
    return name, email


def test_the_retry_picker_names_the_customer_and_finds_by_name_and_email() -> None:
    """Issue 9: people before IDs, and a bounded search instead of every return at once."""
    ids = seed_debits(n_ok=2)
    other = seed_debits(n_ok=0)
    name, email = named(ids)
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    every = at.selectbox(key="returns_retry_pick").options
    assert len(every) == 2  # both seeded R01 returns, nothing else
    for term in (name.split()[-1].upper(), email):
        at.text_input(key="returns_retry_search").input(term).run()
        no_exceptions(at)
        options = at.selectbox(key="returns_retry_pick").options
        assert options == [
            f"{name} · {email} · Gringotts ••4242 · $42.00 · 3 d ago · R01/R09 · {ids['nsf']}"
        ]
    at.text_input(key="returns_retry_search").input(other["nsf"]).run()
    assert [o.rsplit(" · ", 1)[-1] for o in at.selectbox(key="returns_retry_pick").options] == [
        other["nsf"]
    ]
    at.text_input(key="returns_retry_search").input("nobody-by-this-name").run()
    no_exceptions(at)
    assert "No insufficient-funds return matches the search." in texts(at)


def test_the_retry_picker_is_bounded_and_says_how_many_match() -> None:
    from services.auth import Actor
    from services.usecases import retry_picker

    for _ in range(3):
        seed_debits(n_ok=0)
    finance = Actor(username="apptest-finance", role="finance")
    found = retry_picker.retry_choices(app().services, finance, limit=2)
    assert len(found.labels) == 2 and found.total == 3
    at = open_page(PAGE, "finance")
    assert len(at.selectbox(key="returns_retry_pick").options) == 3
    assert at.selectbox(key="returns_retry_pick").placeholder == "Choose one of the 3 returns"


def test_the_manager_sees_no_names_in_the_retry_picker() -> None:
    ids = seed_debits(n_ok=0)
    name, email = named(ids)
    at = open_page(PAGE, "manager")
    no_exceptions(at)
    options = at.selectbox(key="returns_retry_pick").options
    assert options and all(name not in o and email not in o for o in options)
    assert options[0].startswith("Gringotts ••4242 · $42.00")
    assert at.text_input(key="returns_retry_search").placeholder.startswith("Bank, last 4")
    at.text_input(key="returns_retry_search").input(email).run()
    # Said why: the manager's search cannot find people by name (it read as "no such return").
    assert "No insufficient-funds return matches the search. Names and emails are not " \
        "searched for your role" in texts(at)


def test_the_unauthorized_figure_lists_only_its_debits() -> None:
    ids = seed_debits()
    at = open_page(PAGE, "finance")
    at.selectbox(key="returns_show").set_value("unauthorized").run()
    no_exceptions(at)
    shown = at.dataframe[-1].value
    assert ids["unauth"] in set(shown["debit"]) and ids["nsf"] not in set(shown["debit"])
    assert set(shown["category"]) == {"unauthorized"}


def test_a_bank_account_unusable_return_is_listed_as_administrative_r04() -> None:
    """Stripe's bank_account_unusable was not mapped: the debit was missing from the page and
    the administrative rate read 0 %."""
    ids = seed_debits(unusable=True)
    at = open_page(PAGE, "finance")
    at.selectbox(key="returns_show").set_value("administrative").run()
    no_exceptions(at)
    shown = at.dataframe[-1].value.set_index("debit")
    assert list(shown.index) == [ids["unusable"]]
    assert (shown.loc[ids["unusable"], "return_code"], shown.loc[ids["unusable"], "category"]) == (
        "R04",
        "administrative",
    )
    assert metric(at, "Administrative").value not in ("—", "0.0%", "0%", "0 %")


def test_manager_sees_rates_per_verification_method_without_retrying() -> None:
    seed_debits()
    at = open_page(PAGE, "manager")
    no_exceptions(at)
    breakdown = at.dataframe[0].value
    assert "Verification method" in breakdown.columns
    assert {"instant", "microdeposits"} <= set(breakdown["Verification method"])
    assert not any("send the retry" in b.label for b in at.button)


def test_the_cards_and_the_breakdown_write_shares_by_one_rule() -> None:
    """The Breakdown table said "9.09 %" beside cards saying "5 %": every share on the page is
    now rules.rate_text's (whole percent; one decimal under 1 %; never the limit when under it)."""
    import re

    from services.rules.returns import LIMITS, rate_text

    seed_debits(n_ok=19)  # 21 debits, 2 returned (9.52 %), one of them unauthorized (4.76 %)
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    captions = [str(c.value) for c in at.caption]
    for category, title in (("unauthorized", "Unauthorized"), ("administrative", "Administrative"),
                            ("overall", "All returns")):  # fmt: skip
        card = metric(at, title)
        counts = next(c for c in captions if "returned of" in c and f"limit {rate_text(LIMITS[category])}" in c)
        returned, debits = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", counts)[:2])
        assert card.value == rate_text(returned / debits, LIMITS[category]), (title, counts)
    rates = at.dataframe[0].value
    drawn = shown_cells(at.dataframe[0])
    for category in ("unauthorized", "administrative", "overall"):
        column = f"{category.title()} rate"
        assert list(drawn[column]) == [rate_text(v, LIMITS[category]) for v in rates[column]]
    assert metric(at, "All returns").value == "10 %"  # was "9.52 %"
    assert "9.09 %" not in set(drawn["Overall rate"])  # 1 of 11 debits of a method came back


def test_a_higher_warning_level_still_warns_when_over_the_limit() -> None:
    seed_debits()
    at = open_page(PAGE, "admin")
    at.slider(key="returns_warning_level").set_value(100).run()
    no_exceptions(at)
    assert any("over" in str(w.value) for w in at.warning)


@pytest.mark.parametrize("role", ["ops"])
def test_ops_cannot_open_the_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.metric and not direct.dataframe


def test_home_cards_warn_finance_and_ops_when_a_rate_nears_its_limit() -> None:
    seed_debits()
    finance = open_page(None, "finance")
    no_exceptions(finance)
    assert any("unauthorized return rate is over" in str(w.value) for w in finance.warning)
    label = next(m for m in finance.metric if m.label == "Unauthorized return rate")
    assert str(label.value).endswith("%")
    assert "returned of" in texts(finance)
    assert any(el.proto.label == "Open returns" for el in finance.get("page_link"))
    assert any(el.proto.page == "returns" for el in finance.get("page_link"))  # its URL path
    assert not any("can review these returns" in str(w.value) for w in finance.warning)
    ops = open_page(None, "ops")
    no_exceptions(ops)
    # Ops cannot open Returns: the warning stays and says who can act on it, with no link.
    [warning] = [str(w.value) for w in ops.warning if "return rate is over" in str(w.value)]
    assert warning.endswith(
        "Finance can review these returns and plan retries on the Returns page."
    )
    assert not any(el.proto.page == "returns" for el in ops.get("page_link"))


def test_home_tells_ops_who_acts_on_returns_when_no_rate_is_near_its_limit() -> None:
    from services.auth import Actor
    from services.usecases import overview

    seed_debits(n_ok=400)  # 1 unauthorized of 402: 0.25 %, under the warning level
    svc = app().services
    ops = overview.returns_section(svc, Actor("ops", "ops"))
    assert not ops.warnings
    assert ops.who_acts == "Finance can review these returns and plan retries on the Returns page."
    for role in ("finance", "admin"):
        assert overview.returns_section(svc, Actor(role, role)).who_acts is None
    assert overview.overview(svc, Actor("ops", "ops")).returns == ops
    at = open_page(None, "ops")
    no_exceptions(at)
    assert ops.who_acts in [c.value for c in at.caption]
    assert not any(el.proto.page == "returns" for el in at.get("page_link"))


def returned_on_a_linked_account() -> str:
    """A real linked account (a balance two days old, refreshable now) whose $42 debit came back
    R01: the retry's fresh check refreshes the balance at the sandbox bank."""
    import time

    a = app()
    gw = a.gateway
    cus = gw.create_customer({"name": "Rita Retry"}, idempotency_key=None)["id"]
    si = gw.create_setup_intent(
        {
            "customer": cus,
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {"permissions": ["payment_method", "balances"]}
                }
            },
        },
        idempotency_key=None,
    )
    a.simulator.link_bank(si["id"], institution="StripeBank")
    pm = gw.retrieve_setup_intent(si["id"], expand=["payment_method"])["payment_method"]
    fca = pm["us_bank_account"]["financial_connections_account"]
    now = int(time.time())
    with a.sandbox.state.lock:
        account = a.sandbox.state.lookup(fca)
        account["balance"] = {
            "as_of": now - 2 * 86_400,
            "type": "cash",
            "current": {"usd": 900_000},
            "cash": {"available": {"usd": 900_000}},
        }
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now - 2 * 86_400,
            "next_refresh_available_at": now - 60,
        }
    pi = f"pi_retry{secrets.token_hex(3)}"
    record_payment_intent(
        a.engine,
        {
            "id": pi,
            "object": "payment_intent",
            "amount": 4_200,
            "currency": "usd",
            "created": now - 3 * 86_400,
            "customer": cus,
            "status": "requires_payment_method",
            "payment_method": pm,
            "last_payment_error": {"code": "insufficient_funds", "payment_method": pm},
            "metadata": {},
        },
        at=now - 86_400,
    )
    return pi


def test_a_retry_whose_refresh_outlives_the_wait_follows_it_then_lets_finance_press_again() -> None:
    """The tester's case: the click held the page 10 s, then refused with "wait for the
    suggested date" while the refresh the retry started still ran. Now it holds ~5 s, says the
    refresh is still running, follows it with the button off, and turns the button on again
    with a sentence when the bank answers; nothing is sent without a second press."""
    import time

    from services.adapters.models import AuditEntry
    from services.adapters.store import session_scope

    pi = returned_on_a_linked_account()
    at = open_page(PAGE, "finance")
    at.text_input(key="returns_retry_search").input(pi).run()
    at.selectbox(key="returns_retry_pick").set_value(pi).run()
    button = next(b for b in at.button if "send the retry" in b.label)
    config = app().sandbox.state.config
    delay, config.refresh_delay = config.refresh_delay, 600.0  # the bank takes ten minutes
    try:
        started = time.monotonic()
        button.click().run(timeout=30)
        assert time.monotonic() - started < 9, "the click held the page while the bank worked"
        no_exceptions(at)
        said = [w.value for w in at.warning] + [e.value for e in at.error]
        assert any("fcops started is still running at the bank" in t for t in said), said
        assert not any("suggested date" in t for t in said), said
        assert any("this updates by itself" in i.value for i in at.info)
        button = next(b for b in at.button if "send the retry" in b.label)
        assert button.disabled
    finally:
        config.refresh_delay = delay
    with session_scope(app().engine) as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.action == "debits.retry", AuditEntry.target == pi)
        ).all()
        assert [r.outcome for r in rows] == ["refused"]
    fca = returned_account(pi)
    with app().sandbox.state.lock:  # the bank answers
        app().sandbox.state.lookup(fca)["balance_refresh"].update(status="succeeded")
        app().sandbox.state.lookup(fca)["balance"]["as_of"] = int(time.time())
    at.run()
    no_exceptions(at)
    assert any("balance refresh finished" in s.value for s in at.success)
    button = next(b for b in at.button if "send the retry" in b.label)
    assert not button.disabled
    assert not any("this updates by itself" in i.value for i in at.info)


def returned_account(pi: str) -> str:
    from services.usecases.debit_outcomes import load_attempts

    account = load_attempts(app().engine, pi)[0].account
    assert account
    return account


def test_the_page_says_what_each_figure_counts_so_a_debit_and_its_retry_reconcile() -> None:
    """The rate cards said "2 returned of 4 debits", "Did our check work?" "of 5 debits" and
    the list "3 debits", for the same debits: the rates count a debit and its retries once,
    the check review and the list every payment, and nothing said so."""
    from services.rules.returns import RETRY_OF

    ids = seed_debits(n_ok=2)  # 2 settled, an R01 and an R10: 4 debits
    now = app().services.now()
    pm = {"id": "pm_retry", "type": "us_bank_account",
          "us_bank_account": {"bank_name": "Gringotts", "last4": "4242",
                              "financial_connections_account": None, "status_details": None}}
    retry = {"id": f"{ids['nsf']}r2", "object": "payment_intent", "amount": 4_200,
             "currency": "usd", "created": now - 2 * 86_400, "customer": "cus_retry",
             "status": "requires_payment_method", "payment_method": pm,
             "payment_method_options": {"us_bank_account": {"verification_method": "instant"}},
             "last_payment_error": {"code": "insufficient_funds", "payment_method": pm},
             "metadata": {RETRY_OF: ids["nsf"]}}  # fmt: skip
    record_payment_intent(app().engine, retry, at=now - 86_400)
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    captions = [str(c.value) for c in at.caption]
    assert any("2 returned of 4 debits" in c for c in captions), captions
    assert (
        "In these rates a debit and its retries count once, dated by the first attempt: "
        "4 debits, 5 payments sent (1 retry)." in captions
    )
    assert any(c.startswith("0 of 5 payments sent had a check before them") for c in captions)
    assert "3 payments, of 2 debits as the rates count them (each retry is listed apart)" in (
        captions
    )
    assert {ids["nsf"], retry["id"], ids["unauth"]} == set(at.dataframe[-1].value["debit"])


@pytest.mark.parametrize("days", ["abc", "-5", "3"])
def test_a_link_window_it_cannot_take_is_said_like_accounts_says_a_sort(days: str) -> None:
    """?days=abc and ?days=-5 were ignored silently; Accounts says "The link's sort … was not
    understood"."""
    at = open_page(PAGE, "finance")
    at.query_params["days"] = days
    at.run()
    no_exceptions(at)
    said = " ".join(w.value for w in at.warning)
    assert f"The link's window `{days}` was not understood" in said
    assert "so the window is 60 days." in said
    assert at.number_input(key="returns_window").value == 60
    assert "days" not in at.query_params  # it no longer says what the page shows


def test_a_link_window_it_can_take_sets_the_box_once() -> None:
    at = open_page(PAGE, "finance")
    at.query_params["days"] = "30"
    at.run()
    no_exceptions(at)
    assert at.number_input(key="returns_window").value == 30
    assert not any("was not understood" in w.value for w in at.warning)
    at.number_input(key="returns_window").set_value(90).run()  # the person's choice stands
    assert at.number_input(key="returns_window").value == 90


def test_a_changed_window_goes_into_the_address_and_a_new_session_there_shows_it() -> None:
    """/returns?days=30, the box changed to 90: the address kept days=30, so a reload or a
    copied link showed 30. The box writes the address; the default 60 stays out of it."""
    at = open_page(PAGE, "finance")
    at.query_params["days"] = "30"
    at.run()
    at.number_input(key="returns_window").set_value(90).run()
    no_exceptions(at)
    assert at.query_params["days"] == "90"
    at.run()  # a plain rerun writes nothing and takes nothing back
    assert at.query_params["days"] == "90" and at.number_input(key="returns_window").value == 90
    again = open_page(PAGE, "finance")  # what a reload does: a new session at that address
    again.query_params["days"] = at.query_params["days"]
    again.run()
    assert again.number_input(key="returns_window").value == 90
    at.number_input(key="returns_window").set_value(60).run()  # the default: out of it
    assert "days" not in at.query_params
    at.query_params["days"] = "14"  # Back or Forward to another step: the box follows it
    at.run()
    assert at.number_input(key="returns_window").value == 14 and at.query_params["days"] == "14"
