"""Collect page: a hosted link to send the customer (Checkout Session in setup mode), its
expiry, the client secret only behind "For developers", and a status that updates itself."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.usecases import edit_flows as flows
from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/collect.py"
ADMIN = Actor(username="apptest-admin", role="admin")

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def with_customer() -> AppTest:
    at = open_page(PAGE, "ops")
    at.radio(key="collect_mode").set_value("New customer").run()
    at.text_input(key="collect_new_email").set_value(f"link-{secrets.token_hex(4)}@example.com")
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)
    return at


def create_link(at: AppTest) -> str:
    at.button(key="collect_create_link").click().run()
    no_exceptions(at)
    return str(at.session_state["collect_result"].id)


def status_shown(at: AppTest) -> str:
    return str(next(m.value for m in at.metric if m.label == "Status"))


def in_developer_expander(at: AppTest, text: str) -> bool:
    return any(
        e.label == "For developers"
        and any(text in str(getattr(c, "value", "")) for c in e.get("code"))
        for e in at.expander
    )


def test_a_link_to_send_with_its_expiry_and_the_secret_only_for_developers() -> None:
    at = with_customer()
    intent_id = create_link(at)
    result = at.session_state["collect_result"]
    assert result.hosted_url and result.checkout_session_id
    outside = [c.value for c in at.code if not in_developer_expander(at, c.value)]
    assert result.hosted_url in outside
    assert not any("_secret_" in value for value in outside)
    assert in_developer_expander(at, result.client_secret)
    assert "It expires" in texts(at)
    assert status_shown(at) == "requires_payment_method"
    assert intent_id.startswith("seti_")

    create_link(at)  # a second click on the same request
    assert at.session_state["collect_result"].hosted_url == result.hosted_url
    assert any("Same request as before" in i.value for i in at.info)


def test_the_status_updates_itself_when_the_customer_finishes() -> None:
    at = with_customer()
    intent_id = create_link(at)
    assert "updates by itself" in texts(at)
    app().simulator.link_bank(intent_id, institution="Test Institution")  # off the page
    at.run()  # the next tick of the status watcher (no button pressed)
    no_exceptions(at)
    assert status_shown(at) == "succeeded"
    shown = texts(at)
    assert "The customer finished on the hosted page" in shown
    assert "Linked through Financial Connections" in shown
    assert "updates by itself" not in shown  # nothing left to watch


def test_a_microdeposits_only_flow_offers_no_link_and_says_why() -> None:
    engine = app().engine
    current = flows.load_flow(engine, "setup_intent")
    flows.save_flow(
        engine,
        ADMIN,
        "setup_intent",
        permissions=current.permissions,
        prefetch=current.prefetch,
        verification_method="microdeposits",
        expected_version=current.version,
    )
    at = with_customer()
    link = at.button(key="collect_create_link")
    assert link.disabled and "cannot verify by microdeposits only" in (link.help or "")
    assert not at.button(key="collect_create_si").disabled


def test_an_fc_session_no_longer_says_open_once_the_customer_linked() -> None:
    at = with_customer()
    at.button(key="collect_create_fcs").click().run()
    no_exceptions(at)
    assert status_shown(at) == "open" and "updates by itself" in texts(at)
    at.button(key="collect_sim_link").click().run()  # the customer links in the session
    no_exceptions(at)
    assert status_shown(at) == "linked"
    result = at.session_state["collect_result"]
    assert result.linked_accounts and result.linked_accounts[0].startswith("fca_")
    assert any(result.linked_accounts[0] in s.value for s in at.success)
    assert "updates by itself" not in texts(at)


def test_a_hand_entered_account_on_the_hosted_page_points_to_the_microdeposit_step() -> None:
    at = with_customer()
    create_link(at)
    result = at.session_state["collect_result"]
    at.button(key="collect_sim_manual").click().run()  # the customer types the numbers
    no_exceptions(at)
    assert status_shown(at) == "requires_action"
    shown = texts(at)
    assert "entered the bank account by hand on the hosted page" in shown
    assert "Hosted microdeposit verification page" in shown
    assert result.hosted_url not in [c.value for c in at.code]


def test_a_canceled_request_says_its_link_no_longer_opens() -> None:
    """Stripe refuses to cancel a Checkout Session's SetupIntent ("Expire the Checkout Session
    instead."): Cancel request expires the link, and Stripe cancels the SetupIntent."""
    at = with_customer()
    intent_id = create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    at.button(key="collect_open_reload").click().run()
    at.selectbox(key="collect_cancel_open").set_value(intent_id).run()
    at.button(key="collect_cancel_open_button").click().run()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert any(
        s.value == f"Expired the link `{cs}`, so Stripe canceled {intent_id}: the customer can "
        "no longer open the link."
        for s in at.success
    ), texts(at)
    session = app().gateway.retrieve_checkout_session(cs)
    assert (session["status"], session["url"]) == ("expired", None)
    at.run()  # the card above the tabs shows it from the next run (the watcher's next tick)
    assert status_shown(at) == "canceled"
    assert "the customer can no longer open it" in texts(at), texts(at)
    at.button(key="collect_refresh_status").click().run()  # the card reads the link itself
    no_exceptions(at)
    assert at.session_state["collect_result"].checkout_status == "expired"
    at.run()  # the card draws it from the next run
    shown = texts(at)
    assert "The link expired before its time: it was canceled" in shown, shown
    assert "the customer can no longer open it" in shown


def test_a_link_request_is_titled_and_named_by_its_link_with_the_setupintent_beside_it() -> None:
    """The card of a hosted link was titled "SetupIntent seti_…" and its sentences named the
    seti_, while what ops sends (and the address holds) is the Checkout Session cs_…."""
    at = with_customer()
    intent_id = create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    assert cs.startswith("cs_")
    titles = [m.value for m in at.markdown if str(m.value).startswith("#### ")]
    assert f"#### Checkout link `{cs}`" in titles
    assert not any(intent_id in t for t in titles)
    card = next(c.value for c in at.caption if str(c.value).startswith("Created "))
    assert card.endswith(f"Stripe saves the bank account on its SetupIntent `{intent_id}`.")

    at.button(key="collect_refresh_status").click().run()
    no_exceptions(at)
    assert any(
        i.value == f"Checkout link `{cs}` (SetupIntent `{intent_id}`) is requires_payment_method "
        "on Stripe."
        for i in at.info
    ), texts(at)
    create_link(at)  # the same click again
    assert any(
        f"Same request as before: Checkout link `{cs}` already exists" in i.value for i in at.info
    )
    at.button(key="collect_sim_manual").click().run()  # the sandbox plays the customer
    no_exceptions(at)
    assert any(
        s.value == f"Checkout link `{cs}` (SetupIntent `{intent_id}`) is now requires_action."
        for s in at.success
    ), texts(at)
    at.text_input(key="collect_new_email").set_value(f"link-{secrets.token_hex(4)}@example.com")
    at.button(key="FormSubmitter:collect_new_customer-Create customer").click().run()
    no_exceptions(at)  # another customer chosen: the link is put aside, named as sent
    assert any(
        f"so the Checkout link `{cs}` for" in i.value and "put aside" in i.value for i in at.info
    ), texts(at)


def test_a_link_that_expires_while_the_page_is_open_says_it_expired_not_canceled() -> None:
    """Stripe cancels an expired link's SetupIntent: the watcher read only the SetupIntent and
    said "The request was canceled", so ops thought a colleague had canceled it (a reload said
    "The link expired"). The watcher and Refresh read the link's own status too."""
    at = with_customer()
    create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    app().gateway._client.v1.checkout.sessions.expire(cs)  # Stripe expires it, off the page
    at.run()  # the watcher's next tick
    no_exceptions(at)
    shown = texts(at)
    assert "The link expired" in shown, shown
    assert "The request was canceled" not in shown
    # The Status tile says so too (the SetupIntent behind it reads "canceled"), and the
    # sandbox's customer steps are not offered on a link nobody can open
    assert status_shown(at) == "link expired"
    assert not [b for b in at.button if b.key == "collect_sim_link"]
    assert "Nothing to play on this request: its link expired." in shown

    at.button(key="collect_create_link").click().run()  # a new one, saying why
    no_exceptions(at)
    assert at.session_state["collect_result"].checkout_session_id != cs


def test_open_requests_name_a_hosted_links_request_by_its_link() -> None:
    """The open requests table had a SetupIntent column but no link: a hosted link's request
    names its Checkout Session (opening the request on this page), a SetupIntent made for
    one's own page none."""
    at = with_customer()
    link_intent = create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    at.button(key="collect_another").click().run()
    at.button(key="collect_create_si").click().run()
    at.button(key="collect_create_anyway").click().run()  # confirmed beside the open link
    no_exceptions(at)
    plain_intent = str(at.session_state["collect_result"].id)
    at.button(key="collect_open_reload").click().run()
    no_exceptions(at)
    table = next(df for df in at.dataframe if "SetupIntent" in df.value.columns)
    links = dict(zip(table.value["SetupIntent"], table.value["Link"], strict=True))
    assert links[link_intent] == f"collect?request={cs}"
    assert pd.isna(links[plain_intent])
    order = list(table.proto.column_order)
    assert order[-3:] == ["Link", "SetupIntent", "Customer ID"]  # IDs after people


def _picker(at: AppTest) -> list[str]:
    try:
        return list(at.selectbox(key="collect_cancel_open").options)
    except KeyError:  # no picker at all: nothing left to cancel
        return []


def test_a_completed_links_request_waiting_on_microdeposits_offers_no_cancel_and_says_why() -> None:
    """The customer typed the account on the hosted page: the link is complete, so it cannot be
    expired, and Stripe refuses to cancel a Checkout Session's SetupIntent. Cancel was offered
    and always refused; now the row says so, and the request names its verification page."""
    at = with_customer()
    intent_id = create_link(at)
    cs = at.session_state["collect_result"].checkout_session_id
    at.button(key="collect_sim_manual").click().run()  # the customer types the numbers
    at.button(key="collect_open_reload").click().run()
    no_exceptions(at)
    table = next(df for df in at.dataframe if "SetupIntent" in df.value.columns)
    assert intent_id in list(table.value["SetupIntent"])  # still listed, as waiting
    said = " ".join(c.value for c in at.caption)
    assert f"{intent_id} was made by a Checkout link the customer completed" in said
    assert "Stripe lets no one cancel it" in said and "after 10 days" in said
    assert not any(o.endswith(intent_id) for o in _picker(at))

    reopened = open_page(PAGE, "ops")  # the request opened from its address (?request=cs_…)
    reopened.query_params["request"] = cs
    reopened.run()
    no_exceptions(reopened)
    assert status_shown(reopened) == "requires_action"
    assert "the verification page below is what to send next" in texts(reopened)
    assert "Hosted microdeposit verification page" in texts(reopened)
