"""A customer's email is drawn as text on every page that names the customer, not in Markdown,
which draws an email as a clickable mailto link, escaped or not. Collect was changed first; the
Accounts header and account card, the Blocked account card and Ownership's sentence about a
customer without accounts drew the email in Markdown."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.usecases.debit_outcomes import record_payment_intent
from tests.app.conftest import no_exceptions, open_page
from tests.app.conftest import shared_app as app
from tests.app.test_blocked_page import forget_seeded_debits  # noqa: F401  (autouse fixture)
from tests.app.test_returns_page import outcomes_synced  # noqa: F401  (autouse fixture)

MARKDOWN = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
            "success")  # fmt: skip


def in_markdown(at: AppTest, words: str) -> list[str]:
    """What the page draws as Markdown that holds ``words``."""
    drawn = [str(e.value) for kind in MARKDOWN for e in at.get(kind)]
    return [d for d in drawn if words in d]


def in_text(at: AppTest, words: str) -> list[str]:
    return [str(t.value) for t in at.text if words in str(t.value)]


@pytest.fixture
def email_only() -> Iterator[tuple[str, str]]:
    """A Stripe customer with an email and no name (so pages name it by its email)."""
    email = f"plain-{secrets.token_hex(4)}@example.com"
    customer = app().gateway.create_customer({"email": email}, idempotency_key=None)
    yield str(customer["id"]), email


def test_accounts_names_the_chosen_customer_by_email_as_text(
    email_only: tuple[str, str],
) -> None:
    customer, email = email_only
    at = open_page(None, "ops")
    at.query_params["customer"] = customer
    at.switch_page("pages/accounts.py")
    at.run()
    no_exceptions(at)
    assert in_text(at, email) == [f"Accounts of {email} ({customer})"]
    assert in_markdown(at, email) == []


def test_an_accounts_card_names_its_customer_as_text() -> None:
    at = open_page("pages/accounts.py", "ops")
    at.query_params["account"] = str(at.dataframe[0].value["ID"].iloc[0])
    at.run()
    no_exceptions(at)
    line = next(t for t in (str(t.value) for t in at.text) if t.startswith("Customer: "))
    who = line.removeprefix("Customer: ").split(" (cus_")[0]
    assert who and who != "—"
    assert in_markdown(at, who) == []


def _blocked_debit(customer: str) -> str:
    now = app().services.now()
    tag = secrets.token_hex(3)
    pm: dict[str, Any] = {
        "id": f"pm_{tag}plain", "type": "us_bank_account",
        "us_bank_account": {
            "bank_name": "Gringotts", "last4": "4242", "financial_connections_account": None,
            "status_details": {
                "blocked": {"network_code": "R10", "reason": "debit_not_authorized"}
            },
        },
    }  # fmt: skip
    record_payment_intent(
        app().engine,
        {
            "id": f"pi_{tag}plain", "object": "payment_intent", "amount": 4_200,
            "currency": "usd", "created": now - 3 * 86_400, "customer": customer,
            "status": "requires_payment_method", "payment_method": pm,
            "payment_method_options": {"us_bank_account": {"verification_method": "instant"}},
            "last_payment_error": {"code": "debit_not_authorized", "payment_method": pm},
            "metadata": {},
        },  # fmt: skip
        at=now - 86_400,
    )
    return str(pm["id"])


def test_blocked_names_the_accounts_customer_by_email_as_text(
    email_only: tuple[str, str],
) -> None:
    customer, email = email_only
    pm = _blocked_debit(customer)
    at = open_page("pages/blocked.py", "ops")
    at.selectbox(key="blocked_pick").set_value(pm).run()
    no_exceptions(at)
    (line,) = in_text(at, email)
    assert line.startswith(f"{email} · Gringotts ••4242 · R10")
    assert in_markdown(at, email) == []


def test_ownership_names_a_customer_without_accounts_by_email_as_text(
    email_only: tuple[str, str],
) -> None:
    customer, email = email_only
    at = open_page("pages/ownership.py", "ops")
    if "own_id_input" not in [t.key for t in at.text_input]:
        next(b for b in at.button if "heck one" in b.label).click().run()
    at.text_input(key="own_id_input").input(customer)
    next(b for b in at.button if b.label == "Check").click().run()
    no_exceptions(at)
    assert in_text(at, email) == [f"{email} has 0 linked bank accounts."]
    assert in_markdown(at, email) == []
    assert any("no linked bank account" in w.value for w in at.warning)
