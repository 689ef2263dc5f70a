"""Payment lookup page: intent → bank account, manual entry said plainly, bad IDs and errors."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import force_faults, no_exceptions, open_page, texts, webhooks_settled
from tests.app.conftest import shared_app as app

PAGE = "pages/payment_lookup.py"


def setup_intent(*, manual: bool) -> dict[str, Any]:
    """A SetupIntent of a fresh customer, linked through FC or entered manually."""
    a = app()
    customer = a.gateway.create_customer(
        {"email": f"lee.{secrets.token_hex(4)}@example.org", "name": "Lee Park"},
        idempotency_key=None,
    )
    si = a.gateway.create_setup_intent(
        {"customer": customer["id"], "allowed_payment_method_types": ["us_bank_account"]},
        idempotency_key=None,
    )
    if manual:
        a.simulator.manual_entry(si["id"])
    else:
        a.simulator.link_bank(si["id"], institution="StripeBank")
    return si


def look_up(text: str, role: str = "ops") -> AppTest:
    at = open_page(PAGE, role)
    at.text_input(key="lookup_id").set_value(text)
    next(b for b in at.button if b.label == "Look up").click().run()
    return at


def test_a_linked_setup_intent_leads_to_its_account_with_a_link_to_it() -> None:
    si = setup_intent(manual=False)
    at = look_up(f"  {si['id']} ")
    no_exceptions(at)
    assert "Linked through Financial Connections" in " ".join(s.value for s in at.success)
    account_id = app().gateway.retrieve_setup_intent(si["id"], expand=["payment_method"])[
        "payment_method"
    ]["us_bank_account"]["financial_connections_account"]
    assert account_id in texts(at)
    links = at.get("page_link")
    assert links and "Open in Accounts" in str(links[0].proto)
    assert account_id in str(links[0].proto)


def test_a_manually_entered_account_is_said_plainly_to_have_no_data() -> None:
    si = setup_intent(manual=True)
    at = look_up(si["id"], "finance")
    no_exceptions(at)
    warning = " ".join(w.value for w in at.warning)
    assert "entered manually" in warning
    assert "no balance, ownership or transaction data" in warning
    assert not at.get("page_link")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an ID"),
        ("hello world", "is not a Stripe ID Payment lookup accepts: paste a pi_…, py_…, ch_…, "
                        "seti_…, pm_…, fca_… or cus_… ID or a Dashboard link."),
        ("'; drop", "`'; drop` is not a Stripe ID Payment lookup accepts"),  # as typed: not `drop`
        ("pi_doesnotexist123", "Stripe has no PaymentIntent `pi_doesnotexist123`"),
    ],
)
def test_empty_malformed_and_unknown_ids_give_a_sentence(text: str, message: str) -> None:
    at = look_up(text)
    no_exceptions(at)
    assert message in " ".join(e.value for e in at.error)


def test_the_header_and_the_box_name_every_id_the_lookup_accepts() -> None:
    """A charge's ch_… was looked up, but neither the header nor the box's placeholder named it."""
    from services.rules.ids import PREFIXES
    from services.usecases.resolve_account import LOOKUP_KINDS

    at = open_page(PAGE, "ops")
    no_exceptions(at)
    header = " ".join(c.value for c in at.caption)
    placeholder = at.text_input(key="lookup_id").placeholder
    accepted = [prefix for prefix, kind in PREFIXES.items() if kind in LOOKUP_KINDS]
    assert "ch_" in accepted
    for prefix in accepted:
        assert f"{prefix}…" in header and f"{prefix}…" in placeholder, (prefix, header, placeholder)


def test_a_rejected_request_is_a_sentence_not_a_trace() -> None:
    at = open_page(PAGE, "ops")
    # one 429 for each attempt the gateway's back-off makes (the SDK retries none of them)
    force_faults("429", app().services.gateway.backoff.retries + 1)
    at.text_input(key="lookup_id").set_value("seti_anything123")
    next(b for b in at.button if b.label == "Look up").click().run()
    no_exceptions(at)
    assert "rate-limiting" in " ".join(e.value for e in at.error)


def test_a_customer_with_one_account_is_counted_in_words() -> None:
    si = setup_intent(manual=False)
    at = look_up(si["customer"])
    no_exceptions(at)
    assert "has 1 linked bank account." in " ".join(s.value for s in at.success)


def paid_intent(*, manual: bool) -> dict[str, Any]:
    """A $1,234.56 PaymentIntent of Lee Park, linked through FC or entered manually."""
    a = app()
    customer = a.gateway.create_customer(
        {"email": f"lee.{secrets.token_hex(4)}@example.org", "name": "Lee Park"},
        idempotency_key=None,
    )
    pi = a.gateway.create_payment_intent(
        {
            "amount": 123_456,
            "currency": "usd",
            "customer": customer["id"],
            "allowed_payment_method_types": ["us_bank_account"],
        },
        idempotency_key=None,
    )
    if manual:
        a.simulator.manual_entry(pi["id"])
    else:
        a.simulator.link_bank(pi["id"], institution="StripeBank")
    return {**pi, "email": customer["email"]}


def test_a_payment_shows_what_the_dashboard_shows() -> None:
    pi = paid_intent(manual=False)
    at = look_up(pi["id"])
    no_exceptions(at)
    shown = texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Amount"] == "$1,234.56"
    assert "USD" in shown
    status = app().gateway.retrieve_payment_intent(pi["id"])["status"]
    assert metrics["Status"] == {"processing": "Processing", "succeeded": "Succeeded"}[status]
    assert f"`{status}`" in shown  # Stripe's own code, under the words
    assert metrics["Created"] != "—" and " ago" in shown
    assert "Lee Park" in shown and pi["email"] in shown
    # the customer's email as text, not a Markdown mailto link (as on every other page)
    assert [str(t.value) for t in at.text if "Customer:" in str(t.value)] == [
        f"Customer: Lee Park · {pi['email']} · {pi['customer']}"
    ]
    assert not [m for m in at.markdown if pi["email"] in str(m.value)]
    assert "STRIPEBANK ••" in shown.upper()
    assert "Mandate:** active" in shown
    assert "Verified instantly" in shown
    # sandbox mode: no Dashboard link, and the page says why
    assert not at.get("link_button")
    assert "no page in Stripe's Dashboard" in shown


def test_an_unverified_manual_account_is_not_called_verified_by_microdeposits() -> None:
    pi = paid_intent(manual=True)
    at = look_up(pi["id"])
    no_exceptions(at)
    shown = texts(at)
    assert "not verified yet" in shown
    assert "verified by microdeposits" not in shown
    assert "Mandate:** none yet" in shown


def test_a_lookup_is_kept_in_the_address_for_a_reload_or_a_colleague() -> None:
    si = setup_intent(manual=False)
    at = look_up(f"https://dashboard.stripe.com/test/setup_intents/{si['id']}")
    no_exceptions(at)
    assert at.query_params["id"] == si["id"]  # the clean ID, not what was pasted
    shown = texts(at)

    colleague = open_page(PAGE, "admin")  # a new session opening that address
    colleague.query_params["id"] = si["id"]
    colleague.run()
    no_exceptions(colleague)
    assert colleague.text_input(key="lookup_id").value == si["id"]
    assert "Linked through Financial Connections" in texts(colleague)
    assert shown.count(si["id"]) == texts(colleague).count(si["id"])  # the same lookup

    colleague.text_input(key="lookup_id").set_value("pi_doesnotexist12345")
    next(b for b in colleague.button if b.label == "Look up").click().run()
    assert "id" not in colleague.query_params  # an error is not kept for a reload to repeat


def test_a_payment_looked_up_by_its_py_id_is_kept_as_typed_for_a_reload() -> None:
    """The address kept the PaymentIntent's ID the payment led to: after a reload the box said
    pi_… and the line saying which payment it was had gone."""
    pi = paid_intent(manual=False)
    payment = str(app().gateway.retrieve_payment_intent(pi["id"])["latest_charge"])
    assert payment.startswith("py_")
    at = look_up(f" {payment} ")
    no_exceptions(at)
    assert at.query_params["id"] == payment
    said = f"{payment} is a payment of {pi['id']}."
    assert any(said in s.value for s in at.success)

    reloaded = open_page(PAGE, "ops")  # a new session on the same address
    reloaded.query_params["id"] = at.query_params["id"]
    reloaded.run()
    no_exceptions(reloaded)
    assert reloaded.text_input(key="lookup_id").value == payment
    assert any(said in s.value for s in reloaded.success)
    assert reloaded.query_params["id"] == payment


def returned_debit() -> tuple[str, str]:
    """A linked account with $10 debited $50, back R01: (pi id, fca id)."""
    a = app()
    si = setup_intent(manual=False)
    pm = a.gateway.retrieve_setup_intent(si["id"], expand=["payment_method"])["payment_method"]
    fca = pm["us_bank_account"]["financial_connections_account"]
    state = a.sandbox.state
    with state.lock:
        now = state.now()
        state.lookup(fca)["balance"] = {"as_of": now, "type": "cash", "current": {"usd": 1_000},
                                        "cash": {"available": {"usd": 1_000}}}  # fmt: skip
    pi = a.gateway.create_payment_intent(
        {"amount": 5_000, "currency": "usd", "customer": si["customer"], "payment_method": pm["id"],
         "allowed_payment_method_types": ["us_bank_account"], "confirm": True,
         "off_session": True},
        idempotency_key=None,
    )  # fmt: skip
    assert a.gateway.retrieve_payment_intent(pi["id"])["status"] == "requires_payment_method"
    return str(pi["id"]), str(fca)


def test_a_returned_debit_shows_the_account_it_debited_its_return_and_the_retry_link() -> None:
    """It said "No payment method is attached yet: the customer has not linked a bank account"
    and "Verification: No bank account yet", next to "Mandate: active"."""
    pi_id, fca = returned_debit()
    webhooks_settled()  # the debit's outcome in fcops' store: Returns can plan its retry
    at = look_up(pi_id, "finance")
    no_exceptions(at)
    shown = texts(at)
    assert "not linked" not in shown and "No bank account yet" not in shown
    assert "Collect accounts" not in shown
    warning = " ".join(w.value for w in at.warning)
    assert "The bank returned this debit: R01 (insufficient funds)" in warning
    assert "`insufficient_funds`" in warning
    assert "Linked through Financial Connections: StripeBank ••" in " ".join(
        s.value for s in at.success
    )
    assert fca in shown and "Balance $10.00 as of" in shown
    assert "Verified instantly: linked through Financial Connections." in shown
    assert "**Last attempt:** returned by the bank, R01 (insufficient funds)" in shown
    # The Status metric was "requires_payment_method", cut to "requires_pay…" at 1,400 px.
    status = next(m for m in at.metric if m.label == "Status")
    assert status.value == "Returned"
    assert "Needs a new payment method · `requires_payment_method`" in shown
    links = [str(link.proto) for link in at.get("page_link")]
    retry = next(p for p in links if f"Plan a retry for {pi_id} (insufficient funds)" in p)
    assert "returns" in retry and f"retry={pi_id}" in retry.replace('"', "")


def test_the_retry_link_is_offered_only_when_returns_can_plan_it_else_why() -> None:
    """The link led to Returns' "No insufficient-funds return matches the search." for a debit
    Returns could not plan (one made 75 days ago, before its window, read the same). Now the
    link is there only when the plan allows a retry; otherwise the page says why."""
    pi_id, _ = returned_debit()
    webhooks_settled()
    state = app().sandbox.state
    with state.lock:  # made 200 days ago: past Nacha's 180 days (the lookup keeps Stripe's date)
        state.lookup(pi_id)["created"] = state.now() - 200 * 86_400
    at = look_up(pi_id, "finance")
    no_exceptions(at)
    links = [str(link.proto) for link in at.get("page_link")]
    assert not any("Plan a retry" in p for p in links)
    said = " ".join(c.value for c in at.caption)
    assert f"No retry to plan for {pi_id}: The 180 days after the original settlement ended" in said


def test_a_return_fcops_has_not_stored_yet_gets_its_retry_link_at_once() -> None:
    """A return whose outcome had not reached fcops' store (its webhook on the way, or the
    outcomes never synced) read "No retry to plan for pi_…: No debit pi_… is known to fcops yet.
    Sync the debit outcomes on the Returns page and try again." under the return the lookup had
    just read from Stripe. The lookup keeps what Stripe says, as the webhook does."""
    from sqlmodel import col, delete

    from services.adapters.models import DebitOutcomeRecord
    from services.adapters.store import session_scope

    pi_id, _ = returned_debit()
    webhooks_settled()
    with session_scope(app().engine) as session:  # as if the webhook had not come yet
        session.execute(delete(DebitOutcomeRecord).where(col(DebitOutcomeRecord.id) == pi_id))
    at = look_up(pi_id, "finance")
    no_exceptions(at)
    assert "known to fcops" not in " ".join(c.value for c in at.caption)
    links = [str(link.proto) for link in at.get("page_link")]
    assert any(f"Plan a retry for {pi_id} (insufficient funds)" in p for p in links)


def test_a_return_whose_intent_was_updated_since_still_shows_why_it_came_back() -> None:
    """Updated after its return (its metadata written by another system), the intent has no
    last_payment_error: the page said "No payment method is attached yet: the customer has not
    linked a bank account" with a "Waiting" status and nothing of the return. The failed charge
    still says why (``failure_code``)."""
    import stripe

    from bootstrap import SANDBOX_KEY

    pi_id, fca = returned_debit()
    client = stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": app().sandbox.base_url})
    client.v1.payment_intents.update(pi_id, params={"metadata": {"crm_note": "called"}})
    updated = client.v1.payment_intents.retrieve(pi_id, params={"expand": ["latest_charge"]})
    assert updated.last_payment_error is None and updated.status == "requires_payment_method"
    charge = updated.latest_charge.id
    webhooks_settled()
    at = look_up(pi_id, "finance")
    no_exceptions(at)
    shown = texts(at)
    assert "not linked" not in shown and "No bank account yet" not in shown
    warning = " ".join(w.value for w in at.warning)
    assert "The bank returned this debit: R01 (insufficient funds)" in warning
    assert f"Stripe's code `insufficient_funds` on the failed payment `{charge}`" in warning
    assert fca in shown
    assert next(m for m in at.metric if m.label == "Status").value == "Returned"
    links = [str(link.proto) for link in at.get("page_link")]
    assert any(f"Plan a retry for {pi_id} (insufficient funds)" in p for p in links)


@pytest.mark.parametrize("mode", ["500", "429"])
def test_a_lookup_stripe_did_not_answer_stays_in_the_address_so_a_reload_tries_again(
    mode: str,
) -> None:
    """"Try again in a minute", and the person presses F5: the ID they typed was gone (nothing in
    the address, an empty box). A lookup Stripe did not answer keeps its ID in the address, and
    the reload looks it up again; one Stripe answered "no such ID" still leaves none."""
    si = setup_intent(manual=False)
    at = open_page(PAGE, "finance")
    force_faults(mode, app().services.gateway.backoff.retries + 3)  # every attempt fails
    try:
        at.text_input(key="lookup_id").set_value(f"https://dashboard.stripe.com/test/setup_intents/{si['id']}")
        next(b for b in at.button if b.label == "Look up").click().run()
        no_exceptions(at)
        assert at.error and "Linked through Financial Connections" not in texts(at)
        assert at.query_params["id"] == si["id"]  # the clean ID, as a lookup that worked keeps it
    finally:
        app().simulator.clear_faults()

    reloaded = open_page(PAGE, "finance")  # F5: a new session on that address
    reloaded.query_params["id"] = at.query_params["id"]
    reloaded.run()
    no_exceptions(reloaded)
    assert "Linked through Financial Connections" in texts(reloaded)
