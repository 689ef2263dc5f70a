"""Whether a collection request can still be used (Collect's create buttons make a new one when
it cannot, rather than answer "Same request as before")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.rules.intents import CollectionRequest
from services.rules.request_state import ended

NOW = 1_800_000_000
SI = CollectionRequest(
    id="seti_1", kind="setup_intent", customer_id="cus_1", status="requires_payment_method",
    flow_version=1, permissions=(), prefetch=(), verification_method="automatic", created=NOW,
    payment_method_options={}, hosted_verification_url=None, replayed=False, client_secret="",
)
LINK = replace(SI, checkout_session_id="cs_1", hosted_url="https://x", expires_at=NOW + 60,
               checkout_status="open")
FCS = replace(SI, id="fcsess_1", kind="financial_connections.session", status="open")


@pytest.mark.parametrize(
    ("request_", "status", "why"),
    [
        (SI, "requires_payment_method", None),
        (SI, "requires_action", None),  # microdeposits on their way: still the same request
        (SI, "processing", None),
        (SI, "canceled", "it was canceled"),
        (SI, "succeeded", "the customer already finished it"),
        (LINK, "requires_payment_method", None),
        (replace(LINK, checkout_status="expired"), "canceled", "its link expired"),
        (replace(LINK, expires_at=NOW), "requires_payment_method", "its link expired"),
        (replace(LINK, checkout_status="complete"), "requires_action",
         "the customer already completed its link and now verifies the microdeposits"),
        (replace(LINK, checkout_status="complete"), "succeeded",
         "the customer already finished it"),
        (FCS, "open", None),
        (FCS, "linked", "the customer already linked accounts in it"),
    ],
)
def test_ended(request_: CollectionRequest, status: str, why: str | None) -> None:
    assert ended(request_, status, now=NOW) == why
