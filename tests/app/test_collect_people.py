"""Collect names people before IDs (issue 9): the chosen customer, the open-requests list and
the microdeposit queue with their pickers, each searchable by name and by email."""

from __future__ import annotations

import secrets

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import PAGE_WIDTH, no_exceptions, open_page, shown_widths, texts

PAGE = "pages/collect.py"

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def named_customer(at: AppTest) -> tuple[AppTest, str, str]:
    """Create a customer with a unique name and email on the page; returns (at, name, email)."""
    tag = secrets.token_hex(4)
    name, email = f"Ada Lovelace {tag}", f"ada-{tag}@example.org"
    at.radio(key="collect_mode").set_value("New customer").run()
    at.text_input(key="collect_new_email").set_value(email)
    at.text_input(key="collect_new_name").set_value(name)
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)
    return at, name, email


def create_setup_intent(at: AppTest) -> str:
    at.button(key="collect_create_si").click().run()
    no_exceptions(at)
    return str(at.session_state["collect_result"].id)


def options(at: AppTest, key: str) -> list[str]:
    return list(at.selectbox(key=key).options)


def test_the_chosen_customer_is_named_by_name_and_email() -> None:
    at, name, email = named_customer(open_page(PAGE, "ops"))
    customer = str(at.session_state["collect_customer"])
    # Text, not Markdown (which draws an email as a mailto link, escaped or not).
    shown = next(t.value for t in at.text if "Requests will be created for" in t.value)
    assert shown == f"Requests will be created for {name} · {email} ({customer})."
    create_setup_intent(at)
    card = [t.value for t in at.text if str(t.value).startswith("For ")]
    assert card == [f"For {name} · {email} ({customer})"]
    drawn = [*(m.value for m in at.markdown), *(c.value for c in at.caption)]
    assert not any(email in str(words) for words in drawn)


def test_the_customer_picker_finds_by_name_and_email_with_the_person_first() -> None:
    at, name, email = named_customer(open_page(PAGE, "ops"))
    customer = str(at.session_state["collect_customer"])
    at.radio(key="collect_mode").set_value("Existing customer").run()
    for term in (name.split()[-1], email.upper()):
        at.text_input(key="collect_search").set_value(term).run()
        no_exceptions(at)
        found = options(at, "collect_pick")
        assert found == [f"{name} · {email} · {customer}"]


def test_open_requests_name_the_customer_and_search_by_name_and_email() -> None:
    at, name, email = named_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    other, _, _ = named_customer(open_page(PAGE, "ops"))
    other_id = create_setup_intent(other)

    at.text_input(key="collect_open_search").set_value(name.split()[-1]).run()
    no_exceptions(at)
    picked = options(at, "collect_cancel_open")
    assert len(picked) == 1 and picked[0].startswith(f"{name} · {email} · ")
    assert picked[0].endswith(intent_id)
    table = next(df.value for df in at.dataframe if "SetupIntent" in df.value.columns)
    assert list(table["Customer"]) == [f"{name} · {email}"]
    assert "1 open request," in texts(at)

    at.text_input(key="collect_open_search").set_value(email).run()
    assert [o.rsplit(" · ", 1)[-1] for o in options(at, "collect_cancel_open")] == [intent_id]

    at.text_input(key="collect_open_search").set_value("").run()
    every = [o.rsplit(" · ", 1)[-1] for o in options(at, "collect_cancel_open")]
    assert {intent_id, other_id} <= set(every)
    assert len(every) <= 50

    at.text_input(key="collect_open_search").set_value("nobody-by-this-name").run()
    no_exceptions(at)
    assert "No open request matches the search." in texts(at)


def test_the_microdeposit_queue_and_its_pickers_name_the_customer() -> None:
    at, name, email = named_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_sim_manual").click().run()
    no_exceptions(at)

    at.text_input(key="collect_queue_search").input(email).run()
    no_exceptions(at)
    for key in ("collect_cancel_queue", "collect_queue_verify_pick"):
        found = options(at, key)
        assert len(found) == 1, found
        assert found[0].startswith(f"{name} · {email} · ")
        assert found[0].endswith(intent_id)
        # No age in the option: Streamlit keeps a choice by its words, and "12 min ago" turning
        # into "13 min ago" dropped the request chosen (the table shows the age).
        assert "ago" not in found[0]
    queue = next(df.value for df in at.dataframe if "Intent" in df.value.columns)
    assert list(queue["Customer"]) == [f"{name} · {email}"]

    at.text_input(key="collect_queue_search").input(name.split()[-1].upper()).run()
    assert [o.rsplit(" · ", 1)[-1] for o in options(at, "collect_cancel_queue")] == [intent_id]


def test_sync_from_stripe_brings_the_customers_the_store_did_not_know() -> None:
    from sqlmodel import delete

    from services.adapters.models import CustomerRecord
    from services.adapters.store import session_scope
    from tests.app.conftest import shared_app, webhooks_settled

    at, name, email = named_customer(open_page(PAGE, "ops"))
    customer = str(at.session_state["collect_customer"])
    intent_id = create_setup_intent(at)
    webhooks_settled()  # the create's events would otherwise bring the customer back mid-test
    with session_scope(shared_app().engine) as session:  # as if only Stripe knew the customer
        session.exec(delete(CustomerRecord).where(CustomerRecord.id == customer))  # type: ignore[call-overload]

    at.text_input(key="collect_open_search").set_value(intent_id).run()
    # Its ID, not "Customer not in the store yet" on every row of a fresh store.
    unknown = f"{customer} (name not synced yet)"
    assert options(at, "collect_cancel_open") == [f"{unknown} · {intent_id}"]
    table = next(df for df in at.dataframe if "SetupIntent" in df.value.columns)
    # The table's Customer ID column holds the ID: its cell says the start of it in words that
    # fit ("cus_x0411… (nam…" was all that showed at 1,400 px).
    assert list(table.value["Customer"]) == [f"{customer[:8]}… · not synced"]
    assert list(table.value["Customer ID"]) == [customer]
    widths = shown_widths(table)
    upto = list(widths)[: list(widths).index("Last error") + 1]
    assert sum(widths[c] for c in upto) <= PAGE_WIDTH, widths  # Last error on the page too
    assert widths["Customer"] >= 7 * len(f"{customer[:8]}… · not synced") + 16, widths
    at.button(key="collect_open_reload").click().run()
    no_exceptions(at)
    assert options(at, "collect_cancel_open")[0].startswith(f"{name} · {email} · ")


def test_a_new_search_lets_go_of_the_customer_chosen_from_the_last_one() -> None:
    """Ops chose A, then searched for B: the page still said "Requests will be created for A"
    with Create enabled, and the link went to A."""
    at, first_name, _ = named_customer(open_page(PAGE, "ops"))
    first = str(at.session_state["collect_customer"])
    at, second_name, _ = named_customer(at)
    at.radio(key="collect_mode").set_value("Existing customer").run()
    at.text_input(key="collect_search").set_value(first_name).run()
    at.selectbox(key="collect_pick").set_value(first).run()
    assert at.session_state["collect_customer"] == first
    assert not at.button(key="collect_create_si").disabled

    at.text_input(key="collect_search").set_value(second_name).run()
    no_exceptions(at)
    assert "collect_customer" not in at.session_state
    assert "Requests will be created for" not in texts(at)
    assert at.button(key="collect_create_si").disabled  # until B (or A again) is chosen
    assert at.selectbox(key="collect_pick").value is None
