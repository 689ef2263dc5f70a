"""What a customer search says of a pasted ID or Dashboard URL of another Stripe object."""

from __future__ import annotations

import pytest

from services.rules.ids import NotACustomer, from_url, is_dashboard_link, not_a_customer


@pytest.mark.parametrize(
    "text",
    [
        "cus_NffrFeUfNV2Hib",
        "https://dashboard.stripe.com/test/customers/cus_NffrFeUfNV2Hib",
        "https://dashboard.stripe.com/acct_1Nabc/test/customers/cus_NffrFeUfNV2Hib",
        "dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib?tab=payments",
        "Ana García",
        "ana@example.com",
        "pi_ with a space",
    ],
)
def test_a_customer_its_dashboard_url_or_a_name_is_searched(text: str) -> None:
    assert not_a_customer(text) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://dashboard.stripe.com/test/customers/cus_NffrFeUfNV2Hib",
        "https://dashboard.stripe.com/acct_1Nabc/test/customers/cus_NffrFeUfNV2Hib",
        "https://dashboard.stripe.com/customers/cus_NffrFeUfNV2Hib#events",
    ],
)
def test_a_customers_dashboard_url_holds_its_id(url: str) -> None:
    assert from_url(url) == "cus_NffrFeUfNV2Hib"


@pytest.mark.parametrize(
    ("text", "object_id", "kind", "page"),
    [
        ("https://dashboard.stripe.com/test/payments/pi_3Nabcdef", "pi_3Nabcdef", "payment_intent",
         "Payment lookup"),
        ("https://dashboard.stripe.com/acct_1Nabc/test/payments/pi_3Nabcdef?x=1", "pi_3Nabcdef",
         "payment_intent", "Payment lookup"),
        ("https://dashboard.stripe.com/test/setup_intents/seti_1Nabcdef", "seti_1Nabcdef",
         "setup_intent", "Payment lookup"),
        (" 'py_1Nabcdef'. ", "py_1Nabcdef", "charge", "Payment lookup"),
        ("https://dashboard.stripe.com/test/financial-connections/accounts/fca_1Nabcdef",
         "fca_1Nabcdef", "financial_connections.account", "Accounts"),
        ("evt_1Nabcdef", "evt_1Nabcdef", "event", None),
    ],
)  # fmt: skip
def test_another_objects_id_or_url_is_named_with_the_page_that_opens_it(
    text: str, object_id: str, kind: str, page: str | None
) -> None:
    assert not_a_customer(text) == NotACustomer(object_id, kind, page)


def test_the_sentence_says_what_it_is_and_where_to_open_it() -> None:
    pi = not_a_customer("https://dashboard.stripe.com/test/payments/pi_3Nabcdef")
    assert pi is not None and pi.sentence == (
        "That is a PaymentIntent (`pi_3Nabcdef`), not a customer: open it in Payment lookup, "
        "which finds the bank account behind it."
    )
    fca = not_a_customer("fca_1Nabcdef")
    assert fca is not None and fca.sentence == (
        "That is a Financial Connections account (`fca_1Nabcdef`), not a customer: open it in "
        "Accounts."
    )
    event = not_a_customer("evt_1Nabcdef")
    assert event is not None and event.sentence == (
        "That is an event (`evt_1Nabcdef`), not a customer: search by a customer ID (cus_…), an "
        "email, or part of a name."
    )


@pytest.mark.parametrize(
    ("text", "dashboard"),
    [
        ("https://dashboard.stripe.com/test/customers", True),
        ("https://dashboard.stripe.com/acct_1Nabc/test/customers?email=lee", True),
        ("dashboard.stripe.com/customers", True),
        ("HTTPS://Dashboard.Stripe.com/payments#x", True),
        ("https://example.com/dashboard.stripe.com/customers", False),
        ("https://stripe.com/docs", False),
        ("Ana García", False),
        ("cus_NffrFeUfNV2Hib", False),
    ],
)
def test_a_dashboard_link_is_told_from_other_text(text: str, dashboard: bool) -> None:
    """A customer search says a Dashboard link with no ID names no customer (from_url leaves
    such a link as it is); any other text is searched."""
    assert is_dashboard_link(text) is dashboard
