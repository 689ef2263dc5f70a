"""Finance, admin and manager pages when Stripe fails or the input is wrong.

Stripe faults are forced through the app's own sandbox (``simulator.force_faults``): the next N
API requests answer 500 or 429. Every test checks three things a person would: the page says
what happened in a sentence, no traceback reaches the page, and nothing was changed.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services import audit
from services.auth import Actor
from services.errors import StripeUnavailable
from services.rules.wording import counted as n_of
from services.usecases import conversion_report
from services.usecases import edit_flows as flows
from tests.app.conftest import force_faults, jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_balance_check_page import DAY, check_id, markdown, new_account

BALANCE = "pages/balance_check.py"
BATCH = "pages/batch_check.py"
CONVERSION = "pages/conversion.py"
FLOWS = "pages/flows.py"
ADMIN = Actor(username="apptest-admin", role="admin", name="Admin")
# Like Stripe, the sandbox asks no retry of a 500 or a rate-limit 429, so the SDK makes one
# attempt; the gateway backs off on 429s (five attempts a call). Ten faults cover the few
# requests one page action makes, and the fixture clears whatever is left.
ENOUGH = 10


def clear_faults() -> None:
    # The Simulator has no "clear" call yet; the sandbox hook takes clear=true.
    body = urllib.parse.urlencode({"clear": "true"}).encode()
    request = urllib.request.Request(
        f"{app().simulator.base_url}/_sandbox/faults", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        resp.read()


@pytest.fixture(autouse=True)
def no_faults_left_behind() -> Iterator[None]:
    """Other tests share this sandbox: never hand them a queue of pending faults."""
    clear_faults()
    yield
    clear_faults()


def fail_stripe(mode: str, count: int = ENOUGH) -> None:
    # A page's first account sync runs as a background job, and a webhook applied reads its
    # object back: both end first, so the forced faults meet what the test does.
    force_faults(mode, count)


def sentences(at: AppTest) -> str:
    return " ".join(
        str(getattr(e, "value", "")) for kind in ("error", "warning") for e in at.get(kind)
    )


def audit_count(action: str) -> int:
    return audit.query(app().engine, actor=ADMIN, actions=[action], limit=1).total


def refresh_state(fca: str) -> dict[str, Any]:
    state = app().sandbox.state
    with state.lock:
        return dict(state.lookup(fca)["balance_refresh"])


# --- balance check ---------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "said"), [("500", "temporary problem"), ("429", "rate-limiting")])
def test_a_balance_check_while_stripe_fails_says_so_and_gives_no_verdict(
    mode: str, said: str
) -> None:
    _, fca = new_account(available=100_000)
    at = open_page(BALANCE, "finance")
    fail_stripe(mode)
    check_id(at, fca, "10.00")
    no_exceptions(at)
    assert said in sentences(at)
    assert "OK —" not in markdown(at) and not at.metric


@pytest.mark.parametrize("mode", ["500", "429"])
def test_a_check_stripe_did_not_answer_stays_in_the_address_so_a_reload_checks_again(
    mode: str,
) -> None:
    """"Try again in a minute", and the person presses F5: the address had been emptied, so the
    reload showed an empty form (the ID and amount typed were gone, and so was a check kept from
    before). A check Stripe did not answer keeps its debit in the address; a reload while Stripe
    still fails keeps it too; the reload once Stripe answers gives the verdict."""
    _, fca = new_account(available=100_000)
    at = open_page(BALANCE, "finance")
    fail_stripe(mode)
    check_id(at, f"https://dashboard.stripe.com/test/financial-connections/accounts/{fca}", "10")
    no_exceptions(at)
    assert "Stripe" in sentences(at) and "OK —" not in markdown(at)
    kept = {k: at.query_params[k] for k in ("check", "amount", "currency")}
    assert kept == {"check": fca, "amount": "10.00", "currency": "USD"}  # as a verdict keeps it

    reloaded = open_page(BALANCE, "finance")  # F5 while Stripe still fails: a new session
    reloaded.query_params.update(kept)
    reloaded.run()
    no_exceptions(reloaded)
    assert "Stripe" in sentences(reloaded) and reloaded.query_params["check"] == fca
    clear_faults()
    again = open_page(BALANCE, "finance")  # F5 once Stripe answers
    again.query_params.update(kept)
    again.run()
    no_exceptions(again)
    assert "OK —" in markdown(again)


def test_a_check_stripe_did_not_answer_is_kept_as_the_check_read_its_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The address names the ID the check read before asking Stripe (check_debit's on_read):
    the page no longer reads the typed text a second time when Stripe does not answer."""
    from services.rules import ids

    _, fca = new_account(available=100_000)
    at = open_page(BALANCE, "finance")
    page_reads: list[str] = []
    real = ids.parse_id

    def counted(text: str, *args: Any, **kwargs: Any) -> Any:
        page_reads.append(text)  # the page script imports it on each run; the services did once
        return real(text, *args, **kwargs)

    monkeypatch.setattr(ids, "parse_id", counted)
    fail_stripe("500")
    check_id(at, f"https://dashboard.stripe.com/test/financial-connections/accounts/{fca}", "10")
    no_exceptions(at)
    assert "Stripe" in sentences(at) and at.query_params["check"] == fca
    assert page_reads == []


@pytest.mark.parametrize("mode", ["500", "429"])
def test_refreshing_a_stale_balance_while_stripe_fails_keeps_the_stale_verdict(mode: str) -> None:
    _, fca = new_account(available=900_000, age=3 * DAY)
    at = check_id(open_page(BALANCE, "finance"), fca, "100.00")
    assert "STALE" in markdown(at)
    before = refresh_state(fca)
    fail_stripe(mode)
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    assert "Stripe" in sentences(at)
    assert "STALE" in markdown(at), "the verdict the person already had stays on screen"
    assert [b for b in at.button if b.key == "bc_refresh_now"], "and they can try again"
    assert refresh_state(fca) == before  # no refresh started


@pytest.mark.parametrize(
    ("amount", "said", "instead"),
    [
        ("12,34", "uses a comma as the decimal mark", "Write it as 12.34"),
        ("-5", "negative", "positive"),
        ("abc", "not an amount", "1234.56"),
        ("1e3", "not an amount", "1234.56"),
    ],
)
def test_a_malformed_amount_is_explained_and_nothing_is_checked(
    amount: str, said: str, instead: str
) -> None:
    _, fca = new_account(available=100_000)
    at = check_id(open_page(BALANCE, "finance"), fca, amount)
    no_exceptions(at)
    errors = " ".join(e.value for e in at.error)
    assert errors.startswith("Amount:") and said in errors
    assert instead in errors  # says how to write it instead
    assert not at.metric


@pytest.mark.parametrize(
    "unknown",
    [
        "fca_0000000000000000unknown",
        "cus_0000000000unknown",
        "pm_0000000000unknown",
        "pi_0000000000unknown",
        "seti_0000000000unknown",
    ],
)
def test_an_unknown_id_is_named_in_the_message(unknown: str) -> None:
    """It was Stripe's own "No such payment_intent: 'pi_…'"; now fcops' sentence names the ID
    as typed and says what to check, and keeps Stripe's request ID."""
    at = check_id(open_page(BALANCE, "finance"), unknown, "10.00")
    no_exceptions(at)
    errors = " ".join(e.value for e in at.error)
    assert "No such" not in errors
    assert "Stripe has no " in errors and f"`{unknown}`. Check that the whole ID" in errors
    assert "(test or live)" in errors and "another one" in errors and "(Stripe request req_" in errors
    assert not at.metric


# --- batch check -----------------------------------------------------------------------------


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="batch_file").set_value((name, data, "text/csv")).run()
    return at.button(key="batch_run").click().run(timeout=120)


def test_a_batch_while_stripe_fails_marks_the_rows_it_could_not_look_up() -> None:
    # A customer ID is looked up in Stripe (an FC account ID would be read from the live mirror).
    cus, _ = new_account(available=500_000)
    at = open_page(BATCH, "finance")
    runs = audit_count("balances.batch_check")
    fail_stripe("500", count=30)
    upload(at, "debits.csv", f"id,amount,currency\n{cus},10.00,usd\n".encode())
    no_exceptions(at)
    problems = at.dataframe[0].value
    assert list(problems["row"]) == [2]
    assert "Could not look this ID up: Stripe had a temporary problem" in problems["error"][0]
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Checked"], shown["Errors"]) == ("0", "1")
    # The $10.00 that nothing vouched for is not silently left out of the money figures.
    assert any(
        "$10.00 is in the 1 row that could not be checked" in c.value for c in at.caption
    )
    assert audit_count("balances.batch_check") == runs + 1


def test_a_batch_while_stripe_fails_still_checks_accounts_the_live_mirror_holds() -> None:
    _, fca = new_account(available=500_000)  # its balance arrived by webhook: the mirror is live
    at = open_page(BATCH, "finance")
    fail_stripe("500", count=30)
    upload(at, "debits.csv", f"id,amount,currency\n{fca},10.00,usd\n".encode())
    no_exceptions(at)
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Checked"], shown["OK"], shown["Errors"]) == ("1", "1", "0")


def test_a_rate_limited_batch_backs_off_finishes_and_says_it_was_slowed_down() -> None:
    cus, _ = new_account(available=500_000)  # looked up in Stripe (see above)
    at = open_page(BATCH, "finance")
    # A rate-limit 429 asks no retry, so the SDK gives up at once and the batch backs off.
    fail_stripe("429", count=1)
    upload(at, "debits.csv", f"id,amount,currency\n{cus},10.00,usd\n".encode())
    no_exceptions(at)
    shown = {m.label: m.value for m in at.metric}
    assert (shown["OK"], shown["Errors"]) == ("1", "0")
    assert any("slowed down 1× by Stripe" in c.value for c in at.caption)


def test_a_csv_with_every_kind_of_bad_row_explains_each_and_checks_the_rest() -> None:
    cus, fca = new_account(available=500_000)
    bad = {
        3: (f"{fca},12,34,usd", "4 cells"),
        4: (f"{fca},-5,usd", "negative"),
        5: (f"{fca},abc,usd", "not an amount"),
        6: (f"{fca},1e3,usd", "not an amount"),
        7: (f"{fca},0,usd", "zero"),
        8: (f"{fca},,usd", "amount is required"),
        9: (",10.00,usd", "No id"),
        10: ("ba_123,10.00,usd", "not an id this tool can debit"),
        11: ("fca_000000000000unknown,10.00,usd", "no Financial Connections account"),
        12: ("cus_000000000unknown,10.00,usd", "no customer cus_000000000unknown."),
        13: (f"{fca},10.00,eur", "cannot be debited in this batch"),
        14: (f"{fca},10.00,xx", "not a currency code"),
        15: (f"{fca},10.001,usd", "too many decimals"),
        16: (f"{fca},99999999999999,usd", "limit"),
        17: (f"{fca}", "1 cell but the header has 3 columns"),
    }
    lines = ["id,amount,currency", f"{fca},100.00,usd"]
    lines += [bad[row][0] for row in sorted(bad)]
    lines.append(f"{cus},20.00,usd")
    at = upload(open_page(BATCH, "finance"), "bad.csv", "\n".join(lines).encode())
    no_exceptions(at)
    problems = at.dataframe[0].value.set_index("row")["error"]
    assert sorted(problems.index) == sorted(bad)
    for row, (_line, said) in bad.items():
        assert said in problems[row], (row, problems[row])
    shown = {m.label: m.value for m in at.metric}
    assert (shown["Rows"], shown["Checked"], shown["OK"]) == (str(len(bad) + 2), "2", "2")
    assert any(f"{n_of(len(bad), 'row')} could not be checked" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n  \n", "is empty"),
        ("header.csv", b"id,amount,currency\n", "no debit rows"),
        ("book.csv", b"PK\x03\x04" + bytes(64), "Excel workbook"),
        ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text"),
        ("notes.txt", b"please debit everyone on friday", "No column says whom to debit"),
    ],
)
def test_a_file_that_is_not_a_usable_csv_is_refused_with_the_reason(
    name: str, data: bytes, said: str
) -> None:
    runs = audit_count("balances.batch_check")
    at = upload(open_page(BATCH, "finance"), name, data)
    no_exceptions(at)
    assert said in " ".join(e.value for e in at.error)
    assert not at.metric and not at.dataframe
    assert audit_count("balances.batch_check") == runs  # nothing was run


# --- conversion sync -------------------------------------------------------------------------


def an_intent_stored() -> None:
    """An intent a webhook stored: the intents' data version moves, so "Sync intents" starts a
    new job (a job's ID comes from its inputs: the minute and that version)."""
    import secrets

    from services.usecases.sync_intents import store_intent

    store_intent(
        app().engine,
        {
            "id": f"seti_hook{secrets.token_hex(6)}", "object": "setup_intent",
            "created": app().services.now() - 60, "customer": "cus_hook",
            "status": "requires_payment_method", "payment_method_types": ["us_bank_account"],
            "payment_method_options": {"us_bank_account": {"verification_method": "automatic"}},
        },
    )


@pytest.mark.parametrize("mode", ["500", "429"])
def test_a_sync_started_while_stripe_fails_goes_on_in_the_background_and_finishes(
    mode: str,
) -> None:
    """"Sync intents" starts a job: while Stripe fails the page says it runs in the background
    and keeps the last good figures; the job asks Stripe again and finishes once it answers."""
    at = open_page(CONVERSION, "manager")  # syncs the store on first visit if needed
    jobs_settled(at)
    no_exceptions(at)
    an_intent_stored()
    before = conversion_report.store_info(app().engine)
    fail_stripe(mode, count=10_000)  # Stripe answers nothing until it is cleared
    try:
        at.button(key="conv_sync").click().run()
        no_exceptions(at)  # the click returned: the sync is a job
        assert "runs in the background" in texts(at)
        assert at.button(key="conv_sync").disabled, "no second start while one is followed"
        assert at.metric, "the figures of the last good sync are still shown"
        now = conversion_report.store_info(app().engine)
        assert (now.cursor, now.last_finished_at) == (before.cursor, before.last_finished_at)
    finally:
        clear_faults()
    jobs_settled(at)
    no_exceptions(at)
    assert any(s.value.startswith("Read ") for s in at.success), "the job's result is shown"
    after = conversion_report.store_info(app().engine)
    assert after.last_finished_at is not None and after.last_finished_at > before.last_finished_at
    assert not at.button(key="conv_sync").disabled


def test_a_sync_job_that_gives_up_says_why_and_keeps_the_figures(monkeypatch: Any) -> None:
    from services.errors import ValidationError
    from services.usecases import sync_intents

    at = open_page(CONVERSION, "manager")
    jobs_settled(at)
    before = conversion_report.store_info(app().engine)

    def refused(*args: Any, **kwargs: Any) -> Any:  # a failure the job does not retry
        raise ValidationError("Stripe refused the intent list.")

    monkeypatch.setattr(sync_intents, "sync_intents", refused)
    an_intent_stored()
    at.button(key="conv_sync").click().run()
    if not at.error:  # the job outlived the click's second: the page follows it to its end
        jobs_settled(at)
    no_exceptions(at)
    said = " ".join(e.value for e in at.error)
    assert "The sync did not finish: Stripe refused the intent list." in said
    assert "try “Sync intents”" in said
    assert at.metric, "the figures of the last good sync are still shown"
    assert conversion_report.store_info(app().engine).last_finished_at == before.last_finished_at


# --- flow save -------------------------------------------------------------------------------


def test_saving_a_flow_needs_no_stripe_so_it_works_while_stripe_fails() -> None:
    flow = "subscription"
    at = open_page(FLOWS, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    before = flows.load_flow(app().engine, flow)
    saves = audit_count("flow.save")
    wanted = "instant" if before.verification_method != "instant" else "automatic"
    fail_stripe("500", count=3)
    at.radio(key=f"flows_{flow}_method").set_value(wanted).run()
    at.button(key=f"flows_{flow}_save").click().run()
    no_exceptions(at)
    after = flows.load_flow(app().engine, flow)
    assert (after.version, after.verification_method) == (before.version + 1, wanted)
    assert audit_count("flow.save") == saves + 1
    # The faults are still queued: saving sent no request to Stripe.
    with pytest.raises(StripeUnavailable):
        app().gateway.retrieve_customer("cus_anything1234")


def test_a_flow_save_that_fails_unexpectedly_says_so_keeps_the_edits_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = "invoice"
    at = open_page(FLOWS, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    before = flows.load_flow(app().engine, flow)
    wanted = "microdeposits" if before.verification_method != "microdeposits" else "automatic"
    at.radio(key=f"flows_{flow}_method").set_value(wanted).run()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(flows, "save_flow", broken)
    at.button(key=f"flows_{flow}_save").click().run()
    no_exceptions(at)
    assert "could not be saved" in " ".join(e.value for e in at.error)
    assert "database connection lost" not in texts(at)  # internals stay in the server log
    assert at.radio(key=f"flows_{flow}_method").value == wanted  # edits kept
    assert flows.load_flow(app().engine, flow).version == before.version
