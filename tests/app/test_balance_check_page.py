"""Balance check page: verdicts with reasons, bad input, refresh of stale balances, roles."""

from __future__ import annotations

import itertools
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, refused, texts, webhooks_settled
from tests.app.conftest import shared_app as app

PAGE = "pages/balance_check.py"
DAY = 86_400
_n = itertools.count(1)


def new_account(
    *, available: int, age: int = 60, next_refresh_in: int = -1, institution: str = "StripeBank"
) -> tuple[str, str]:
    """(customer, fca) with a balance of `available` cents taken `age` seconds ago."""
    a = app()
    n = next(_n)
    cus = a.gateway.create_customer({"name": f"Page Debtor {n}"}, idempotency_key=None)["id"]
    session = a.gateway.create_fc_session(
        {
            "account_holder": {"type": "customer", "customer": cus},
            "permissions": ["balances", "payment_method"],
        },
        idempotency_key=None,
    )
    a.simulator.complete_session(session["id"], institution=institution)
    fca = a.gateway.list_accounts(session=session["id"])[0]["id"]
    now = int(time.time())  # the page judges ages by the app's clock
    state = a.sandbox.state
    with state.lock:
        account = state.lookup(fca)
        account["balance"] = {
            "as_of": now - age,
            "type": "cash",
            "current": {"usd": available},
            "cash": {"available": {"usd": available}},
        }
        account["balance_refresh"] = {
            "status": "succeeded",
            "last_attempted_at": now - age,
            "next_refresh_available_at": now + next_refresh_in,
        }
        # Stripe announces a refreshed balance; the app's endpoint applies it to the mirror
        # (a batch reads the mirror while webhooks keep it current)
        state.emit("financial_connections.account.refreshed_balance", account)
    webhooks_settled()
    return cus, fca


def check_id(
    at: AppTest, target: str, amount: str, *, refresh: bool = False, currency: str = "USD"
) -> AppTest:
    at.radio(key="bc_mode").set_value("Paste an ID").run()
    at.text_input(key="bc_target_id").set_value(target).run()
    at.text_input(key="bc_amount").set_value(amount)
    at.text_input(key="bc_currency").set_value(currency)
    at.checkbox(key="bc_refresh").set_value(refresh)
    return at.button(key="bc_check").click().run()


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_finance_sees_the_check_form() -> None:
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    assert at.text_input(key="bc_amount") is not None
    assert "Balance check" in texts(at)


def test_a_covered_debit_shows_ok_with_reasons_figures_and_history_chart() -> None:
    _, fca = new_account(available=250_000)
    at = check_id(open_page(PAGE, "finance"), fca, "1,200.00")
    no_exceptions(at)
    shown = markdown(at)
    assert "OK — the balance covers this debit" in shown
    assert "covers the" in shown and "$1,200.00 debit" in shown  # with or without a buffer
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Balance used"] == "$2,500.00"
    assert metrics["Debit"] == "$1,200.00"
    assert at.get("vega_lite_chart"), "the balance-over-time chart is shown"
    # Said with the verdict: when, what and on which ID (coming back from another page finds
    # the verdict under an emptied form, its balance age as it was then).
    stamp = [c.value for c in at.caption if c.value.startswith(":material/schedule: Checked ")]
    assert len(stamp) == 1 and f"$1,200.00 on `{fca}`" in stamp[0], stamp


def test_a_short_balance_is_insufficient_for_admins_too() -> None:
    _, fca = new_account(available=10_000)
    at = check_id(open_page(PAGE, "admin"), fca, "150")
    no_exceptions(at)
    assert "INSUFFICIENT" in markdown(at)
    assert "short of" in markdown(at)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "too many decimals"),
        ("-5", "negative"),
        ("abc", "not an amount"),
        ("", "required"),
    ],
)
def test_a_bad_amount_is_explained_and_nothing_is_checked(amount: str, message: str) -> None:
    _, fca = new_account(available=10_000)
    at = check_id(open_page(PAGE, "finance"), fca, amount)
    no_exceptions(at)
    errors = " ".join(e.value for e in at.error)
    assert "Amount:" in errors and message in errors
    assert "OK —" not in markdown(at) and not at.metric


def stored_checks(fca: str) -> int:
    """How many check rows the store holds for ``fca`` (one per verdict given on it)."""
    from services.adapters import check_history

    return sum(1 for c in check_history.load_checks(app().engine) if c.account == fca)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1.000", "'1.000' could be read two ways: with a dot between thousands (as much of "
         "Europe writes it) it is 1000.00; with a decimal dot it is 1.00. Write 1000.00 or 1.00"),
        ("1.000,50", "'1.000,50' uses a comma as the decimal mark, but fcops reads a dot as the "
         "decimal mark (a comma only separates thousands). Write it as 1000.50."),
        ("1.000.000", "'1.000.000' uses dots between thousands"),
    ],
)  # fmt: skip
def test_an_amount_the_batch_file_would_refuse_as_ambiguous_is_refused_here_too(
    amount: str, message: str
) -> None:
    """The box read 1.000 as $1.00: a $1,000 debit was checked (and vouched for) as a $1 one."""
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, amount)
    no_exceptions(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(f"Amount: {message}"), errors
    assert "OK —" not in markdown(at) and not at.metric  # nothing checked
    assert stored_checks(fca) == 0 and "check" not in at.query_params
    assert at.text_input(key="bc_amount").value == amount  # as typed, to correct


@pytest.mark.parametrize(
    ("currency", "message"),
    [("JPY", "US dollars only"), ("EUR", "US dollars only"), ("us", "Currency:"), ("XYZ", "Currency:")],
)
def test_a_currency_other_than_dollars_is_refused_and_nothing_is_checked(
    currency: str, message: str
) -> None:
    _, fca = new_account(available=10_000)
    at = check_id(open_page(PAGE, "finance"), fca, "50", currency=currency)
    no_exceptions(at)
    errors = " ".join(e.value for e in at.error)
    assert message in errors and "Amount:" not in errors, errors
    assert "OK —" not in markdown(at) and not at.metric


def test_a_malformed_or_unknown_id_gets_a_sentence_not_a_traceback() -> None:
    at = check_id(open_page(PAGE, "finance"), "hello there", "10.00")
    no_exceptions(at)
    assert any("`hello there` is not a Stripe ID Balance check accepts: paste a pi_…"
               in e.value for e in at.error), [e.value for e in at.error]
    at = check_id(open_page(PAGE, "finance"), "fca_0000000000000000missing", "10.00")
    no_exceptions(at)
    assert at.error and not at.metric


def test_a_stale_balance_can_be_refreshed_from_the_page_and_is_re_evaluated() -> None:
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    no_exceptions(at)
    assert "STALE" in markdown(at)
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)
    assert "Before the refresh the verdict was **stale**" in "\n".join(c.value for c in at.caption)


def test_ticking_refresh_stale_balances_refreshes_during_the_check() -> None:
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00", refresh=True)
    no_exceptions(at)
    assert "OK —" in markdown(at)
    assert any("refreshed" in s.value for s in at.success)


def test_when_a_refresh_is_not_allowed_yet_the_page_says_when() -> None:
    _, fca = new_account(available=900_000, age=3 * DAY, next_refresh_in=2 * 3600)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00", refresh=True)
    no_exceptions(at)
    assert "STALE" in markdown(at)
    assert any("Next refresh available in 2 h" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "bc_refresh_now"]


def test_customer_search_checks_their_best_account() -> None:
    cus, fca = new_account(available=500_000)
    at = open_page(PAGE, "finance")
    at.text_input(key="bc_customer_query").set_value(cus).run()
    no_exceptions(at)
    assert at.selectbox(key="bc_customer").value == cus
    (option,) = at.selectbox(key="bc_customer").options
    assert "1 account" in option and "(s)" not in option  # it said "1 account(s)"
    at.text_input(key="bc_amount").set_value("20.00")
    at.button(key="bc_check").click().run()
    no_exceptions(at)
    assert "OK —" in markdown(at)
    assert fca in markdown(at)
    assert any("freshest balance" in c.value for c in at.caption)


@pytest.mark.parametrize("role", ["ops", "manager"])
def test_roles_without_balance_checks_cannot_open_the_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.text_input


def test_a_refresh_from_the_page_is_one_audited_request_with_an_idempotency_key() -> None:
    from services import audit
    from services.auth import Actor

    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    at.button(key="bc_refresh_now").click().run()
    at.run()  # a rerun must not refresh again
    no_exceptions(at)
    rows = audit.query(
        app().engine, actor=Actor(username="qa", role="admin"), actions=["account.refresh"],
        target=fca,
    ).rows  # fmt: skip
    assert [(r.actor, r.outcome) for r in rows] == [("finance", "ok")]
    assert rows[0].idempotency_key


def test_the_customer_picker_says_how_many_match_and_pages_through_them() -> None:
    import secrets

    from services.adapters import account_mirror

    tag = f"bcpaged{secrets.token_hex(3)}"
    for n in range(23):
        account_mirror.upsert_customer(
            app().engine,
            {
                "id": f"cus_{tag}{n:03d}",
                "name": f"{tag} {n}",
                "email": f"{tag}{n}@x.org",
                "created": n,
            },
        )
    at = open_page(PAGE, "finance")
    at.text_input(key="bc_customer_query").set_value(tag).run()
    no_exceptions(at)
    assert "Customers 1–20 of 23 found" in texts(at)  # not a silent stop at one page
    options = at.selectbox(key="bc_customer").options
    assert len(options) == 20
    assert all(o.startswith(f"{tag} ") and "@x.org" in o for o in options)  # people first
    at.button(key="bc_hits_next").click().run()
    no_exceptions(at)
    assert "Customers 21–23 of 23 found" in texts(at)
    assert len(at.selectbox(key="bc_customer").options) == 3
    at.text_input(key="bc_customer_query").set_value(f"{tag} 7").run()  # a new term: page 1
    assert "1 customer found." in texts(at)


def reopened(at: AppTest) -> AppTest:
    """A new browser session on ``at``'s address: what a reload (or a new tab) opens."""
    again = open_page(PAGE, "finance")
    for name, value in at.query_params.items():
        again.query_params[name] = value
    return again.run()


def test_a_reload_checks_the_same_debit_again_and_shows_its_verdict() -> None:
    _, fca = new_account(available=50_000)
    at = check_id(open_page(PAGE, "finance"), fca, "1,200.00")
    assert "INSUFFICIENT" in markdown(at)
    assert at.query_params["check"] == fca and at.query_params["amount"] == "1200.00"
    assert at.query_params["currency"] == "USD"

    again = reopened(at)
    no_exceptions(again)
    assert "INSUFFICIENT — the balance is short" in markdown(again)
    assert "$1,200.00 on `" + fca in "\n".join(c.value for c in again.caption)
    assert again.text_input(key="bc_target_id").value == fca  # the form shows what is checked
    assert again.text_input(key="bc_amount").value == "1200.00"
    assert any("Your last check of this debit" in i.value for i in again.info)


def test_a_reload_during_a_refresh_follows_it_to_the_new_verdict() -> None:
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at)
    state = app().sandbox.state
    with state.lock:  # finance asked for a refresh; the bank has not answered when they reload
        state.lookup(fca)["balance_refresh"]["status"] = "pending"

    again = reopened(at)
    no_exceptions(again)
    assert "STALE" in markdown(again)
    assert any("refresh is running at the bank" in i.value for i in again.info)

    bank_answers(fca)
    again.run()
    no_exceptions(again)
    assert "OK — the balance covers this debit" in markdown(again)
    assert not any("refresh is running" in i.value for i in again.info)


def bank_answers(fca: str) -> None:
    """The bank finishes the balance refresh finance asked for: a balance as of now."""
    state = app().sandbox.state
    now = int(time.time())
    with state.lock:
        account = state.lookup(fca)
        account["balance"]["as_of"] = now
        account["balance_refresh"].update(status="succeeded", last_attempted_at=now)


def test_while_a_refresh_runs_the_page_reads_its_status_and_stores_one_check_when_it_ends() -> None:
    """The poll checked the debit again every 3 s while the bank worked: a Stripe read of the
    whole target and a stored check row each time (a slow bank left dozens of rows, each
    counted by "Did our check work?"). Now it reads the refresh's status alone; one check and
    one row when the refresh ends."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    state = app().sandbox.state
    with state.lock:  # finance asked for a refresh; the bank has not answered
        state.lookup(fca)["balance_refresh"]["status"] = "pending"
    again = reopened(at)  # the reload checks the debit again: one row
    rows = stored_checks(fca)
    for _ in range(3):  # each run is a poll
        again.run()
        no_exceptions(again)
        assert any("refresh is running at the bank" in i.value for i in again.info)
    assert stored_checks(fca) == rows, "polls store no check rows"

    bank_answers(fca)
    again.run()
    no_exceptions(again)
    assert "OK — the balance covers this debit" in markdown(again)
    assert any("balance refresh finished" in s.value for s in again.success)
    assert stored_checks(fca) == rows + 1  # one check when it ended
    again.run()
    assert stored_checks(fca) == rows + 1  # and none after


def test_a_link_to_a_check_that_cannot_be_made_says_why_and_is_not_kept() -> None:
    at = open_page(PAGE, "finance")
    at.query_params["check"] = "fca_doesnotexist123"
    at.query_params["amount"] = "10.00"
    at.run()
    no_exceptions(at)
    assert at.error and not at.metric
    assert "check" not in at.query_params


def test_a_link_keeps_the_currency_it_was_checked_in() -> None:
    """The address held only the ID and the amount: a reload checked a EUR debit in dollars."""
    _, fca = new_account(available=50_000)
    at = open_page(PAGE, "finance")
    at.query_params.update({"check": fca, "amount": "12.00", "currency": "EUR"})
    at.run()
    no_exceptions(at)
    assert at.text_input(key="bc_currency").value == "EUR"
    shown = texts(at) + " ".join(e.value for e in at.error)
    assert "€12.00" in shown or "EUR" in shown, shown  # checked (or refused) as euros
    assert not at.warning or all("Session State" not in w.value for w in at.warning)


def history_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next runs are steps of the browser's history (Back, Forward), as Chromium marks
    them (AppTest has no history to mark them with)."""
    from pages import _kept

    monkeypatch.setattr(_kept, "history_step", lambda: True)


def test_back_and_forward_walk_the_checks_made_and_never_write_the_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Check A, then B; Back shows A (its verdict and its boxes), Back again the empty form with
    no verdict (A's verdict stayed under an address without a check), a rerun writes nothing,
    Forward A, Forward B. The three parameters are one choice, read and written together."""
    first, second = (new_account(available=50_000)[1] for _ in range(2))
    entries: dict[str | None, dict[str, str]] = {None: {}}  # the address of each history entry
    at = open_page(PAGE, "finance")
    for fca, amount in ((first, "100.00"), (second, "900.00")):
        check_id(at, fca, amount)
        entries[fca] = {"check": fca, "amount": amount, "currency": "USD"}

    def shows() -> tuple[str | None, str, str, dict[str, str]]:
        """(the ID the verdict is on, the ID box, the amount box, the address's check)"""
        no_exceptions(at)
        stamp = " ".join(c.value for c in at.caption if c.value.startswith(":material/schedule:"))
        verdict = next((fca for fca in (first, second) if f"`{fca}`" in stamp), None)
        address = {name: at.query_params[name] for name in LINKED if name in at.query_params}
        box = at.text_input(key="bc_target_id").value
        return verdict, box, at.text_input(key="bc_amount").value, address

    assert shows() == (second, second, "900.00", entries[second])
    history_step(monkeypatch)
    for wanted in (first, None, None, first, second):  # Back, Back, a rerun, Forward, Forward
        for name in LINKED:  # the browser's Back or Forward: that entry's address, and a rerun
            at.query_params.pop(name, None)
        at.query_params.update(entries[wanted])
        at.run()
        amount = entries[wanted].get("amount", "")
        assert shows() == (wanted, wanted or "", amount, entries[wanted]), wanted
        assert bool(at.metric) == bool(wanted)


LINKED = ("check", "amount", "currency")


def test_a_slow_bank_does_not_hold_the_page_and_the_refresh_is_followed_to_its_verdict() -> None:
    """"Refresh balance now" held the page under a spinner for up to 30 s while the bank worked,
    then said "check again in a moment" beside "this updates by itself". Now the click returns
    within a few seconds, the running refresh is said once and followed, and the verdict comes
    when the bank answers."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at)
    config = app().sandbox.state.config
    delay, config.refresh_delay = config.refresh_delay, 600.0  # the bank takes ten minutes
    try:
        started = time.monotonic()
        at.button(key="bc_refresh_now").click().run(timeout=20)
        assert time.monotonic() - started < 12, "the click held the page while the bank worked"
        no_exceptions(at)
        assert "STALE" in markdown(at)
        running = [i.value for i in at.info] + [w.value for w in at.warning]
        assert sum("refresh is running at the bank" in t for t in running) == 1, running
        assert not any("check again" in t for t in running + [markdown(at)]), running
        captions = "\n".join(c.value for c in at.caption)
        assert "did not change the verdict" not in captions  # it has not ended yet
    finally:
        config.refresh_delay = delay
    bank_answers(fca)
    at.run()
    no_exceptions(at)
    assert "OK — the balance covers this debit" in markdown(at)


def test_a_reload_during_a_refresh_says_one_thing_about_when_the_figures_are_from() -> None:
    """F5 while the bank refreshed the balance: "checked again now against the latest balance"
    stood directly above "The figures below are as they were then." Now a check just made does
    not say "then", and the reload says which balance it checked against while the refresh runs
    (the follower's line says it updates by itself)."""
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    config = app().sandbox.state.config
    delay, config.refresh_delay = config.refresh_delay, 600.0  # the bank takes ten minutes
    try:
        at.button(key="bc_refresh_now").click().run(timeout=20)
        again = reopened(at)  # F5 while the refresh runs
        no_exceptions(again)
        said = " ".join(i.value for i in again.info)
        assert "checked again now against the balance Stripe has" in said, said
        assert "while the bank refreshes it" in said and "refresh is running" in said, said
        captions = "\n".join(c.value for c in again.caption)
        assert "Checked " in captions and "as they were then" not in captions, captions
    finally:
        config.refresh_delay = delay
    bank_answers(fca)


def test_after_a_refresh_click_that_could_not_read_stripe_the_button_is_off_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """"Refresh balance now" stayed on after "Could not reach Stripe in 15 s": each click beside
    the older verdict waited on Stripe once more. Now it is off with a reason (as Accounts does
    beside its stored copy) until a check reads Stripe again."""
    import services.adapters.gateway as gateway_module
    from tests.app.conftest import jobs_settled, webhooks_settled

    monkeypatch.setattr(gateway_module, "INTERACTIVE_READ_SECONDS", 0.5)
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(PAGE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at) and not at.button(key="bc_refresh_now").disabled
    jobs_settled()
    webhooks_settled()
    try:
        app().simulator.force_faults("timeout", 5, seconds=3)
        at.button(key="bc_refresh_now").click().run(timeout=30)
        no_exceptions(at)
        assert "STALE" in markdown(at)  # the older verdict stays, said to be from then
        errors = [str(e.value) for e in at.error]
        assert sum("Could not reach Stripe" in e for e in errors) == 1, errors
        button = at.button(key="bc_refresh_now")
        assert button.disabled and "Press Check debit to read Stripe again" in (button.help or "")
        at.run()  # a rerun keeps it off, with its sentence
        assert at.button(key="bc_refresh_now").disabled
        assert sum("Could not reach Stripe" in str(e.value) for e in at.error) == 1
    finally:
        app().simulator.clear_faults()
    at = at.button(key="bc_check").click().run()  # Stripe answers
    no_exceptions(at)
    assert not at.button(key="bc_refresh_now").disabled
    assert not any("Could not reach Stripe" in str(e.value) for e in at.error)


def test_the_id_box_names_every_id_the_check_accepts() -> None:
    """The box took a payment's py_… or ch_… (resolved through its PaymentIntent), but its
    placeholder named neither."""
    from services.rules.ids import PREFIXES
    from services.usecases.resolve_account import LOOKUP_KINDS

    at = open_page(PAGE, "finance")
    at.radio(key="bc_mode").set_value("Paste an ID").run()
    no_exceptions(at)
    placeholder = at.text_input(key="bc_target_id").placeholder
    accepted = [prefix for prefix, kind in PREFIXES.items() if kind in LOOKUP_KINDS]
    assert {"py_", "ch_"} <= set(accepted)
    for prefix in accepted:
        assert f"{prefix}…" in placeholder, (prefix, placeholder)
