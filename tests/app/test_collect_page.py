"""Collect bank accounts page: customer, creation with the flow config, sandbox play, cancel, queue."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from services.usecases import edit_flows as flows
from tests.app.conftest import no_exceptions, open_page, refused, shown_cells, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/collect.py"


pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def new_customer(at: AppTest) -> AppTest:
    at.radio(key="collect_mode").set_value("New customer").run()
    at.text_input(key="collect_new_email").set_value(f"page-{secrets.token_hex(4)}@example.com")
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)
    return at


def create_setup_intent(at: AppTest) -> str:
    at.button(key="collect_create_si").click().run()
    no_exceptions(at)
    result = at.session_state["collect_result"]
    return str(result.id)


def status_shown(at: AppTest) -> str:
    return str(next(m.value for m in at.metric if m.label == "Status"))


@pytest.mark.parametrize("role", ["ops", "admin"])
def test_the_page_shows_the_setup_intent_flow_configuration(role: str) -> None:
    at = open_page(PAGE, role)
    no_exceptions(at)
    config = flows.load_flow(app().engine, "setup_intent")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flow configuration"] == (  # it said "Config version v0"
        f"version {config.version}" if config.version else "Defaults"  # the help names them
    )
    assert metrics["Verification"] == config.verification_method
    create = at.button(key="collect_create_si")
    assert create.disabled and "customer first" in (create.help or "")  # none chosen yet
    another = at.button(key="collect_another")
    assert another.disabled and another.help == "Nothing created yet."


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_other_roles_cannot_reach_the_page_or_its_data(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.button and not direct.dataframe


def test_creating_twice_shows_one_setup_intent_with_the_flow_config_and_client_secret() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    customer = at.session_state["collect_customer"]
    assert customer.startswith("cus_")
    intent_id = create_setup_intent(at)
    config = flows.load_flow(app().engine, "setup_intent")

    assert any("_secret_" in c.value for c in at.code)
    assert ", ".join(config.permissions) in texts(at)
    again = create_setup_intent(at)  # a second click on the same request
    assert again == intent_id
    assert any("Same request as before" in i.value for i in at.info)
    listed = [si["id"] for si in app().gateway.iter_setup_intents(customer=customer)]
    assert listed == [intent_id]

    # Another one for the same customer is made only once the person confirms it beside the
    # open one, which the page names.
    at.button(key="collect_another").click().run()
    at.button(key="collect_create_si").click().run()
    assert "collect_result" not in at.session_state
    assert any("already has 1 open request" in w.value for w in at.warning)
    assert intent_id in texts(at)
    at.button(key="collect_create_anyway").click().run()
    no_exceptions(at)
    assert at.session_state["collect_result"].id != intent_id


def test_linking_at_a_demo_bank_succeeds_the_setup_intent() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.selectbox(key="collect_sim_bank").set_value("Test Institution").run()
    at.button(key="collect_sim_link").click().run()
    no_exceptions(at)
    assert status_shown(at) == "succeeded"
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "succeeded"
    assert "Linked through Financial Connections" in texts(at)


def verify_code(at: AppTest, code: str, prefix: str = "collect_verify") -> AppTest:
    at.text_input(key=f"{prefix}_code").set_value(code)
    at.button(key=f"FormSubmitter:{prefix}_form-Verify").click().run()
    no_exceptions(at)
    return at


def verify_audits(intent_id: str) -> list[str]:
    from services import audit
    from services.auth import Actor as _Actor

    page = audit.query(
        app().engine,
        actor=_Actor(username="apptest-admin", role="admin"),
        actions=["collect.verify"],
        target=intent_id,
    )
    return [r.outcome for r in page.rows]


def test_manual_entry_then_microdeposits_then_a_wrong_and_the_right_code() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    assert at.button(key="collect_sim_arrive").disabled  # nothing was sent yet
    at.button(key="collect_sim_manual").click().run()
    no_exceptions(at)
    assert status_shown(at) == "requires_action"
    assert "Hosted microdeposit verification page" in texts(at)

    verify_code(at, "SM11AA")  # too early: not arrived yet
    assert any("not arrived" in e.value for e in at.error)

    at.button(key="collect_sim_arrive").click().run()
    verify_code(at, "SM99ZZ")
    assert any("9 of 10 attempts left" in e.value for e in at.error)
    assert status_shown(at) == "requires_action"

    verify_code(at, "SM11AA")
    said = f"Verified: SetupIntent `{intent_id}` succeeded; the bank account is ready for debits."
    assert any(said in s.value for s in at.success)
    assert status_shown(at) == "succeeded"
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "succeeded"
    assert verify_audits(intent_id) == ["ok", "error", "error"]  # newest first


def test_a_malformed_code_is_explained_and_sends_nothing_to_stripe() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_sim_manual").click().run()
    at.button(key="collect_sim_arrive").click().run()
    verify_code(at, "AB12")
    assert any("not a descriptor code" in e.value for e in at.error)
    verify_code(at, "SM99ZZ")  # the malformed try used no attempt
    assert any("9 of 10 attempts left" in e.value for e in at.error)
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "requires_action"


def test_too_many_wrong_amounts_show_the_request_needs_a_new_account() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.selectbox(key="collect_sim_md_type").set_value("amounts").run()
    at.button(key="collect_sim_manual").click().run()
    at.button(key="collect_sim_arrive").click().run()
    for first, second in ((1, 2), (3, 4), (5, 6)):
        at.text_input(key="collect_verify_a1").set_value(str(first))
        at.text_input(key="collect_verify_a2").set_value(str(second))
        at.button(key="FormSubmitter:collect_verify_form-Verify").click().run()
        no_exceptions(at)
    assert any("Too many wrong attempts" in e.value for e in at.error)
    assert status_shown(at) == "requires_payment_method"
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "requires_payment_method"


def queued_request(*, arrived: bool) -> tuple[AppTest, str]:
    """Ops' page with a new customer's SetupIntent in the microdeposit queue (the customer chose
    manual entry; with ``arrived``, the deposits have reached their bank)."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_sim_manual").click().run()
    if arrived:
        at.button(key="collect_sim_arrive").click().run()
    at.button(key="collect_queue_reload").click().run()
    return at, intent_id


def test_ops_can_verify_a_queued_request_for_a_customer_on_the_phone() -> None:
    at, intent_id = queued_request(arrived=True)
    at.selectbox(key="collect_queue_verify_pick").set_value(intent_id).run()
    verify_code(at, "SM11AA", prefix="collect_qverify")
    assert any(f"Verified: {intent_id}" in s.value for s in at.success)
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "succeeded"


def test_an_incomplete_email_is_a_sentence_and_no_customer_is_chosen() -> None:
    at = open_page(PAGE, "ops")
    at.radio(key="collect_mode").set_value("New customer").run()
    at.text_input(key="collect_new_email").set_value("nobody@")
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)
    assert any("not a complete email" in e.value for e in at.error)
    assert "collect_customer" not in at.session_state


def test_part_of_an_email_finds_the_customer_and_a_malformed_one_says_why() -> None:
    from services.adapters import account_mirror
    from tests.app.conftest import jobs_settled

    tag = secrets.token_hex(4)
    at = open_page(PAGE, "ops")
    jobs_settled(at)  # the first visit's sync mirrors Stripe's customers (and only those)
    account_mirror.upsert_customer(
        app().engine, {"id": f"cus_partmail{tag}", "email": f"anagarcia{tag}@gmail.com", "created": 1}
    )
    at.text_input(key="collect_search").set_value(f"anagarcia{tag}@gmail").run()
    no_exceptions(at)
    assert not at.error
    assert at.selectbox(key="collect_pick").options == [f"anagarcia{tag}@gmail.com · cus_partmail{tag}"]
    at.text_input(key="collect_search").set_value(f"ana garcia{tag}@gmail").run()
    no_exceptions(at)
    assert any("has a space and an email address has none" in e.value for e in at.error)


def test_searching_with_a_payment_id_or_its_dashboard_url_says_where_to_open_it() -> None:
    for pasted in ("pi_3Abc123456", "https://dashboard.stripe.com/acct_1Nx/test/payments/pi_3Abc123456"):
        at = open_page(PAGE, "ops")
        at.text_input(key="collect_search").set_value(pasted).run()
        no_exceptions(at)
        assert any(
            "That is a PaymentIntent (`pi_3Abc123456`), not a customer: open it in Payment lookup"
            in i.value for i in at.info
        ), [i.value for i in at.info]
        [opens] = [str(p.proto) for p in at.get("page_link") if "pi_3Abc123456" in str(p.proto)]
        assert 'page: "payment_lookup"' in opens and "id=pi_3Abc123456" in opens


def test_an_open_request_can_be_canceled_from_its_tab() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_open_reload").click().run()
    assert any(o.endswith(intent_id) for o in at.selectbox(key="collect_cancel_open").options)
    assert at.button(key="collect_cancel_open_button").disabled  # nothing chosen yet
    assert "Customer to link a bank account" in str(at.dataframe[0].value.to_dict())
    opened = at.dataframe[0].value  # ages in seconds and times as datetimes: they sort as numbers
    assert pd.api.types.is_float_dtype(opened["Age"])
    assert pd.api.types.is_datetime64_any_dtype(opened["Created"])
    assert list(at.dataframe[0].proto.column_order)[-2:] == [
        "SetupIntent",
        "Customer ID",
    ]  # the ID after people
    at.selectbox(key="collect_cancel_open").set_value(intent_id)
    at.selectbox(key="collect_cancel_open_reason").set_value("abandoned").run()
    at.button(key="collect_cancel_open_button").click().run()
    no_exceptions(at)
    assert any(f"Canceled {intent_id}" in s.value for s in at.success)
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "canceled"


def test_a_request_a_colleague_canceled_meanwhile_says_so_and_leaves_the_list() -> None:
    """Two ops tabs: the second Cancel showed Stripe's list of cancelable statuses and kept the
    canceled request listed as open; then it said so in a red error box, though nothing was
    changed and the request is canceled as asked (now an info box)."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_open_reload").click().run()
    at.selectbox(key="collect_cancel_open").set_value(intent_id)
    at.selectbox(key="collect_cancel_open_reason").set_value("duplicate").run()
    app().gateway.cancel_setup_intent(intent_id, reason="abandoned", idempotency_key=f"x-{intent_id}")
    at.button(key="collect_cancel_open_button").click().run()
    no_exceptions(at)
    notices = " ".join(i.value for i in at.info)
    assert f"{intent_id} was already canceled (reason: abandoned)" in notices, texts(at)
    assert "Nothing was changed" in notices
    assert not at.error, [e.value for e in at.error]
    assert "Only a SetupIntent with one of the following statuses" not in texts(at)
    assert not any(o.endswith(intent_id) for o in at.selectbox(key="collect_cancel_open").options)


def test_the_microdeposit_queue_lists_a_request_waiting_for_deposits() -> None:
    at, intent_id = queued_request(arrived=False)
    no_exceptions(at)
    assert any(o.endswith(intent_id) for o in at.selectbox(key="collect_cancel_queue").options)
    assert any(intent_id in df.value.to_string() for df in at.dataframe)
    queue = next(df.value for df in at.dataframe if intent_id in df.value.to_string())
    assert pd.api.types.is_float_dtype(queue["Age"])


def test_the_microdeposit_queue_search_keeps_its_pickers_to_the_matching_requests() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    first = create_setup_intent(at)
    at.button(key="collect_sim_manual").click().run()
    customer = str(at.session_state["collect_customer"])

    at.text_input(key="collect_queue_search").input(first).run()
    no_exceptions(at)
    assert [o.rsplit(" · ", 1)[-1] for o in at.selectbox(key="collect_cancel_queue").options] == [
        first
    ]
    assert [
        o.rsplit(" · ", 1)[-1] for o in at.selectbox(key="collect_queue_verify_pick").options
    ] == [first]

    at.text_input(key="collect_queue_search").input(customer).run()
    assert any(o.endswith(first) for o in at.selectbox(key="collect_cancel_queue").options)
    assert len(at.selectbox(key="collect_cancel_queue").options) <= 50

    at.text_input(key="collect_queue_search").input("seti_no_such_request").run()
    no_exceptions(at)
    assert "No request matches the search." in texts(at)


def test_an_fc_session_says_which_accounts_it_lets_the_customer_link() -> None:
    """Endive's defaults would allow credit cards and mortgages; the page shows the session asks
    for checking/savings with payment support, as Stripe returned it (B6)."""
    at = new_customer(open_page(PAGE, "ops"))
    at.button(key="collect_create_fcs").click().run()
    no_exceptions(at)
    result = at.session_state["collect_result"]
    assert result.kind == "financial_connections.session"
    shown = texts(at)
    assert "Filters on the session: accounts **checking, savings**" in shown
    assert "payment support required: **all**" in shown
    session = app().gateway.retrieve_fc_session(result.id)
    assert session["filters"]["require_payment_method_support"] == "all"


def test_a_customer_search_says_how_many_match_and_pages_through_them() -> None:
    from services.adapters import account_mirror

    tag = f"collectpaged{secrets.token_hex(3)}"
    for n in range(23):
        account_mirror.upsert_customer(
            app().engine, {"id": f"cus_{tag}{n:03d}", "name": f"{tag} {n}", "created": n}
        )
    at = open_page(PAGE, "ops")
    at.text_input(key="collect_search").set_value(tag).run()
    no_exceptions(at)
    assert "Customers 1–20 of 23 found" in texts(at)  # not "20 found" when 23 match
    assert len(at.selectbox(key="collect_pick").options) == 20
    at.button(key="collect_hits_next").click().run()
    no_exceptions(at)
    assert "Customers 21–23 of 23 found" in texts(at)
    options = at.selectbox(key="collect_pick").options
    assert len(options) == 3 and all(f"cus_{tag}00" in o or f"cus_{tag}01" in o for o in options)
    at.text_input(key="collect_search").set_value(f"{tag} 7").run()  # a new term: page 1
    assert "1 customer found." in texts(at)


def test_choosing_another_customer_puts_the_request_shown_aside() -> None:
    """The card of customer A's request must not stay under customer B's name: ops would send
    A's link to B. Choosing A again and creating replays A's request, not a second one."""
    at = new_customer(open_page(PAGE, "ops"))
    first_customer = at.session_state["collect_customer"]
    first = create_setup_intent(at)
    assert any("_secret_" in c.value for c in at.code)

    at = new_customer(at)  # another customer, chosen on the same page
    second_customer = at.session_state["collect_customer"]
    assert second_customer != first_customer
    assert "collect_result" not in at.session_state
    assert not any("_secret_" in c.value for c in at.code)  # no card, no secret of A
    aside = [i.value for i in at.info if "put aside" in i.value]
    assert len(aside) == 1 and first in aside[0] and "Open requests" in aside[0]
    assert "request" not in at.query_params
    assert at.query_params["customer"] == second_customer  # a reload keeps the customer chosen

    second = create_setup_intent(at)
    assert second != first
    created = app().gateway.retrieve_setup_intent(second)
    assert created["customer"] == second_customer

    at.session_state["collect_customer"] = first_customer  # back to A, as the picker does
    at.run()
    assert create_setup_intent(at) == first
    assert any("Same request as before" in i.value for i in at.info)


@pytest.mark.parametrize("code", ["'; --", "SM99ZZ"])
def test_a_wrong_code_for_a_caller_keeps_the_request_and_what_was_typed(code: str) -> None:
    at, intent_id = queued_request(arrived=True)
    at.selectbox(key="collect_queue_verify_pick").set_value(intent_id).run()
    verify_code(at, code, prefix="collect_qverify")
    assert at.selectbox(key="collect_queue_verify_pick").value == intent_id
    assert at.text_input(key="collect_qverify_code").value == code
    assert at.session_state["collect_queue_verify_open"]  # the panel stays open
    panel = next(e for e in at.expander if e.label == "Verify for a customer on the phone")
    words = [e.value for e in panel.error]
    assert words, "the error shows in the panel, next to the form"
    if code == "SM99ZZ":
        assert any("9 of 10 attempts left" in w for w in words)
        verify_code(at, "SM11AA", prefix="collect_qverify")  # corrected in place
        assert any(f"Verified: {intent_id} succeeded; the bank account is ready for debits." in s.value for s in at.success)
        assert verify_audits(intent_id) == ["ok", "error"]
        assert at.session_state["collect_queue_verify_pick"] is None  # it left the queue
        assert not any(
            o.endswith(intent_id) for o in at.selectbox(key="collect_cancel_queue").options
        )


def test_the_stuck_count_is_over_the_whole_queue_in_plain_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    from services.auth import Actor as _Actor
    from services.usecases import microdeposits

    at, intent_id = queued_request(arrived=False)
    # Ten days on, the deposits (due in a day or two) are past due: the request is stuck.
    real = app().services
    later = dataclasses.replace(real, now=lambda: real.now() + 10 * 86_400)
    monkeypatch.setattr(app(), "services", later)
    at.run()
    no_exceptions(at)
    ops = _Actor(username="apptest-ops", role="ops")
    stuck = microdeposits.stuck_count(later, ops)
    waiting = microdeposits.waiting_count(later, ops)
    assert stuck >= 1
    (metric,) = [m for m in at.metric if m.label.startswith("Stuck")]
    assert metric.value == f"{stuck:,} of {waiting:,} waiting"
    at.text_input(key="collect_queue_search").input(intent_id).run()
    (metric,) = [m for m in at.metric if m.label.startswith("Stuck")]
    assert metric.value == "1 of 1 waiting"  # the count follows the search


def test_the_request_chosen_for_a_caller_survives_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit keeps a choice by the words shown: the pickers' words must not change as time
    passes (an age like '12 min ago' did, so the request chosen was dropped on the next run)."""
    import dataclasses

    at, intent_id = queued_request(arrived=True)
    before = {k: at.selectbox(key=k).options for k in ("collect_queue_verify_pick", "collect_cancel_queue")}
    real = app().services
    later = dataclasses.replace(real, now=lambda: real.now() + 3 * 3600 + 17 * 60)
    monkeypatch.setattr(app(), "services", later)
    at.run()
    no_exceptions(at)
    for key, options in before.items():
        assert any(o.endswith(intent_id) for o in options)
        assert at.selectbox(key=key).options == options, key


def test_the_open_request_chosen_to_cancel_survives_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Open-requests picker offered 'Ada · … · 2 min ago · seti_…': once the age ticked to
    '3 min ago', Streamlit (which keeps a choice by its words) dropped the request chosen. The
    age is in the table beside it, not in the option."""
    import dataclasses

    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.text_input(key="collect_open_search").set_value(intent_id).run()
    at.selectbox(key="collect_cancel_open").set_value(intent_id).run()
    options = at.selectbox(key="collect_cancel_open").options
    assert not any("ago" in o for o in options)
    real = app().services
    later = dataclasses.replace(real, now=lambda: real.now() + 3 * 3600 + 17 * 60)
    monkeypatch.setattr(app(), "services", later)
    at.run()
    no_exceptions(at)
    assert at.selectbox(key="collect_cancel_open").value == intent_id  # still chosen
    assert at.selectbox(key="collect_cancel_open").options == options
    table = next(df for df in at.dataframe if "SetupIntent" in df.value.columns)
    ages = table.value["Age"]  # seconds, so the column sorts; said as every page says an age
    assert list(ages) == [pytest.approx(3 * 3600 + 17 * 60, abs=120)]  # the age moved
    assert list(shown_cells(table)["Age"]) == ["3 h"]
    at.button(key="collect_cancel_open_button").click().run()
    no_exceptions(at)
    assert any(f"Canceled {intent_id}" in s.value for s in at.success)


@pytest.mark.parametrize(
    ("first", "second", "said"),
    [
        ("-1", "45", "The first deposit -1 is not between 1 and 99 cents."),
        ("0.32", "45", "The first deposit '0.32' looks like dollars: enter it in cents (32)."),
        ("32", "0", "The second deposit 0 is not between 1 and 99 cents."),
        ("32", "", "Enter the second deposit amount."),
        ("32", "4 5", "The second deposit '4 5' is not whole cents."),
    ],
)
def test_bad_amounts_typed_for_a_customer_on_the_phone_get_a_sentence_and_reach_no_stripe(
    first: str, second: str, said: str
) -> None:
    """A number box turned red on -1 or 0.32 and Verify then did nothing, with no sentence."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.selectbox(key="collect_sim_md_type").set_value("amounts").run()
    at.button(key="collect_sim_manual").click().run()
    at.button(key="collect_sim_arrive").click().run()
    at.button(key="collect_queue_reload").click().run()
    at.selectbox(key="collect_queue_verify_pick").set_value(intent_id).run()
    at.text_input(key="collect_qverify_a1").set_value(first)
    at.text_input(key="collect_qverify_a2").set_value(second)
    app().simulator.record_requests()
    try:
        at.button(key="FormSubmitter:collect_qverify_form-Verify").click().run()
        sent = app().simulator.recorded_requests()["data"]
    finally:
        app().simulator.record_requests(on=False)
    no_exceptions(at)
    errors = " ".join(e.value for e in at.error)
    assert said in errors
    assert "Amounts are whole cents between 1 and 99, as on the customer's bank statement" in errors
    assert not [r for r in sent if "verify_microdeposits" in r["path"]]  # nothing sent to Stripe
    assert app().gateway.retrieve_setup_intent(intent_id)["status"] == "requires_action"
