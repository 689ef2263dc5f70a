"""Accounts detail when Stripe cannot be read: the account stays on screen from the store.

A refresh that goes through, followed by a read of the account that fails (a 500, a timeout),
used to replace the whole account view with the error sentence. Now the page draws the stored
copy, says it is the stored copy and how old it is, keeps the error sentence, and says the
refresh started and its outcome is not known yet. The failure is made with a gateway of ours
(the seam the services take), swapped into the app for one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from bootstrap import SANDBOX_KEY
from services.adapters.gateway import StripeGateway
from services.errors import StripeUnavailable
from tests.app.conftest import jobs_settled, no_exceptions, open_page, texts, webhooks_settled
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_page import new_customer
from tests.conftest import quick_backoff

PAGE = "pages/accounts.py"
OUTAGE = "Stripe had a temporary problem (HTTP 500). Try again in a minute."


class ReadsFail(StripeGateway):
    """The sandbox's gateway, except that reading an FC account fails while ``down`` is set;
    ``down_after_refresh`` sets it as soon as a refresh has gone through."""

    down = False
    down_after_refresh = False

    def retrieve_account(self, account_id: str, *, expand_ownership: bool = False) -> Any:
        if self.down:
            raise StripeUnavailable(OUTAGE)
        return super().retrieve_account(account_id, expand_ownership=expand_ownership)

    def refresh_account(self, account_id: str, features: Any, *, idempotency_key: Any) -> Any:
        answer = super().refresh_account(account_id, features, idempotency_key=idempotency_key)
        self.down = self.down or self.down_after_refresh
        return answer


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadsFail]:
    a = app()
    jobs_settled()  # the list's first-visit sync must not meet the outage
    flaky = ReadsFail(
        SANDBOX_KEY, base_url=a.sandbox.base_url, max_network_retries=0,
        backoff=quick_backoff()[0],
    )  # fmt: skip
    monkeypatch.setattr(a, "services", replace(a.services, gateway=flaky))
    yield flaky


def detail(account_id: str) -> AppTest:
    at = open_page(PAGE, "ops")
    at.query_params["account"] = account_id
    at.run()
    no_exceptions(at)
    return at


def warnings(at: AppTest) -> str:
    return " ".join(str(w.value) for w in at.warning)


def shows_the_stored_account(at: AppTest, account: dict[str, Any]) -> None:
    no_exceptions(at)
    heading = " ".join(str(h.value) for h in at.subheader)
    assert account["institution_name"] in heading and f"••{account['last4']}" in heading
    assert OUTAGE in " ".join(str(e.value) for e in at.error)
    assert "Stripe could not be read just now; showing what fcops stored at" in warnings(at)
    said = warnings(at) + " " + " ".join(str(e.value) for e in at.error)
    assert said.lower().count("try again in a") == 1, said  # one time to try again, not two
    assert "Current balance" in [m.label for m in at.metric]
    assert "permissions: balances" in texts(at)
    assert "Traceback" not in texts(at)


def test_a_refresh_then_a_failed_read_keeps_the_account_on_screen_from_the_store(
    gateway: ReadsFail,
) -> None:
    _, account = new_customer(prefetch=[])
    at = detail(account["id"])
    assert not at.warning
    gateway.down_after_refresh = True
    at.button(key="acc_refresh_balance").click().run()
    shows_the_stored_account(at, account)
    # The refresh's state is the honest one: started, its outcome not known yet.
    assert "Balance refresh started; its outcome is not known yet" in texts(at)
    assert at.button(key="acc_refresh_balance").disabled
    # Stripe answers again: the next run reads it, and the stored-copy warning goes away.
    gateway.down = False
    webhooks_settled()
    at.button(key="acc_read_again").click().run()
    no_exceptions(at)
    assert "showing what fcops stored" not in warnings(at)
    assert not at.error


def test_opening_an_account_while_stripe_is_down_shows_the_stored_copy(
    gateway: ReadsFail,
) -> None:
    _, account = new_customer(prefetch=["balances"])
    detail(account["id"])  # read once, so the store has it
    gateway.down = True
    at = detail(account["id"])
    shows_the_stored_account(at, account)
    assert any(m.value.startswith("$") for m in at.metric)
    assert "Owners could not be read from Stripe just now" in texts(at)


def test_an_account_the_store_never_saw_is_still_the_error_sentence(gateway: ReadsFail) -> None:
    gateway.down = True
    at = detail("fca_neverstored0001")
    assert OUTAGE in " ".join(str(e.value) for e in at.error)
    assert not at.subheader and not at.metric and not at.warning
