"""A person waiting on Stripe sees a spinner saying what is read (runtime.call_stripe).

Before, a link with an ID (``accounts?account=fca_…``, ``payment_lookup?id=…``,
``ownership?account=…``, ``transactions?account=…``) showed only the page's header while Stripe
hung, for up to the 15 s a person's read waits, then "Could not reach Stripe". Streamlit draws a
spinner after half a second, as a transient element AppTest leaves out of its tree, so the
spinners are read from the messages the page sends (``ForwardMsgQueue``'s hook). Stripe is made
slow (not failing) for the page's first request, so the page then draws as usual.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest

from tests.app.conftest import jobs_settled, no_exceptions, open_page, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import new_customer

SLOW = 1.5  # seconds Stripe takes to answer: more than the half second before a spinner shows


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    """A customer with one FC-linked account (every permission) and a SetupIntent using it."""
    a = app()
    tag = secrets.token_hex(4)
    customer = a.gateway.create_customer(
        {"email": f"spin.{tag}@example.org", "name": f"Spin Tester {tag}"}, idempotency_key=None
    )
    permissions = ["payment_method", "balances", "ownership", "transactions"]
    si = a.gateway.create_setup_intent(
        {
            "customer": customer["id"],
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": {
                "us_bank_account": {"financial_connections": {"permissions": permissions}}
            },
        },
        idempotency_key=None,
    )
    a.simulator.link_bank(si["id"], institution="StripeBank")
    a.simulator.complete_refreshes()
    pm = a.gateway.retrieve_setup_intent(si["id"], expand=["payment_method"])["payment_method"]
    return {"setup_intent": si["id"], "account": pm["us_bank_account"]["financial_connections_account"]}


@pytest.fixture
def spinners() -> Iterator[list[str]]:
    """The text of every spinner the pages send while the test runs."""
    seen: list[str] = []

    def record(msg: ForwardMsg) -> None:
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_transient":
            seen.extend(
                e.spinner.text
                for e in msg.delta.new_transient.elements
                if e.WhichOneof("type") == "spinner"
            )

    ForwardMsgQueue.on_before_enqueue_msg(record)
    yield seen
    ForwardMsgQueue.on_before_enqueue_msg(None)
    app().simulator.clear_faults()


def quiet(page: str, role: str) -> AppTest:
    """``page`` opened (a first visit's sync started and ended), nothing in flight at Stripe."""
    at = open_page(page, role)
    jobs_settled()
    webhooks_settled()
    return at


def slow_link(at: AppTest, param: str, value: str) -> AppTest:
    """Stripe's next answer takes :data:`SLOW` seconds; then the link to ``value`` is opened."""
    app().simulator.force_faults("slow", 1, seconds=SLOW)
    at.query_params[param] = value
    return at.run()


def test_an_account_link_says_it_reads_the_account_while_stripe_is_slow(
    world: dict[str, Any], spinners: list[str]
) -> None:
    at = slow_link(quiet("pages/accounts.py", "ops"), "account", world["account"])
    no_exceptions(at)
    assert "Reading the account from Stripe…" in spinners
    assert at.subheader  # and then the account


def test_a_payment_lookup_link_says_it_looks_the_id_up(
    world: dict[str, Any], spinners: list[str]
) -> None:
    at = slow_link(quiet("pages/payment_lookup.py", "ops"), "id", world["setup_intent"])
    no_exceptions(at)
    assert "Looking the ID up in Stripe…" in spinners
    assert at.success


def test_an_ownership_link_says_it_reads_the_owners(
    world: dict[str, Any], spinners: list[str]
) -> None:
    at = slow_link(quiet("pages/ownership.py", "ops"), "account", world["account"])
    no_exceptions(at)
    assert "Reading the account's owners and the customer from Stripe…" in spinners
    assert at.metric  # the verdict's score and owners


def test_a_transactions_link_says_it_reads_the_account(
    world: dict[str, Any], spinners: list[str]
) -> None:
    at = slow_link(quiet("pages/transactions.py", "ops"), "account", world["account"])
    no_exceptions(at)
    assert "Reading the account from Stripe…" in spinners
    assert at.subheader


def test_a_refresh_click_says_it_asks_stripe(spinners: list[str]) -> None:
    _, account = new_customer(prefetch=[])  # no balance yet: Refresh balance is on
    at = quiet("pages/accounts.py", "ops")
    at.query_params["account"] = account["id"]
    at.run()
    assert not at.button(key="acc_refresh_balance").disabled
    # The click's run reads the account (and its customer) to draw the page, then asks.
    app().simulator.force_faults("slow", 4, seconds=SLOW)
    at.button(key="acc_refresh_balance").click().run()
    no_exceptions(at)
    assert "Asking Stripe to refresh the balance…" in spinners
