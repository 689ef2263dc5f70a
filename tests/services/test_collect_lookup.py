"""A create Stripe did not confirm is looked for at Stripe before the person is told anything
(services.usecases.collect_lookup).

Through the real SDK against the sandbox: the sandbox's ``500_done`` fault makes the SetupIntent
and answers 500 (Stripe went through but said it failed), ``500`` answers 500 and makes nothing,
a second ``500`` fails the look-up itself, and a ``slow`` answer past the client's patience is a
create with no answer. Each says what Stripe did, mirrors what it made into the store, and
writes an audit row for what the look-up found; the create's own row reads ``unknown``, not
``error``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from bootstrap import SANDBOX_KEY
from services.adapters import backoff
from services.adapters import collect_starts as starts
from services.adapters.gateway import StripeGateway
from services.context import Services
from services.errors import (
    FcopsError,
    Forbidden,
    OutcomeStillUnknown,
    RateLimited,
    StripeUnavailable,
)
from services.rules.intents import OPEN_STATUSES
from services.usecases import (
    collect_customers,
    collect_lists,
    collect_lookup,
    collect_open,
    collection_requests,
)
from services.usecases.collect_common import stored_intents
from tests.conftest import quick_backoff
from tests.services.conftest import audit_rows, new_key


def _customer(svc: Services, ops: Any) -> str:
    email = f"lookup-{secrets.token_hex(4)}@example.com"
    return collect_customers.create_customer(
        svc, ops, email=email, name="Look Up", idempotency_key=f"cus-{email}"
    ).id


def _at_stripe(svc: Services, customer: str) -> list[dict[str, Any]]:
    return list(svc.gateway.iter_setup_intents(customer=customer))


def _stored(svc: Services, customer: str) -> list[str]:
    found = stored_intents(
        svc, customer=customer, since=0, payment_intents=False, statuses=OPEN_STATUSES
    )
    return [str(i["id"]) for i in found]


def test_a_setup_intent_stripe_made_but_answered_500_is_found_and_listed(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    key = new_key()
    simulator.force_faults("500_done", 1)  # the create's POST: made, answered 500

    with pytest.raises(collect_lookup.MadeAfterAll) as caught:
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=key, open_seen=()
        )

    (made,) = _at_stripe(services_ctx, customer)
    assert made["metadata"][collect_lookup.ATTEMPT] == collect_lookup.attempt_id(key)
    said = str(caught.value)
    assert caught.value.made == made["id"]
    assert said.startswith(f"Stripe made the request after all: {made['id']} (shown in Open "
                           "requests), though it answered with a server error."), said
    assert _stored(services_ctx, customer) == [made["id"]]  # mirrored: Open requests lists it
    (lookup,) = audit_rows(services_ctx, "collect.lookup", key)
    assert (lookup.outcome, lookup.target, lookup.params["found"]) == ("ok", made["id"], made["id"])
    # The create's own row is not "error" for a request that exists: Stripe did not confirm
    # it, and the look-up's row (written first, rows are never rewritten) says what was found.
    (create,) = audit_rows(services_ctx, "collect.create", key)
    assert (create.outcome, create.target) == ("unknown", made["id"])
    assert create.message == (
        "Stripe did not confirm the new SetupIntent (a server error), so it may have been made. "
        "fcops looked for it at Stripe (the collect.lookup entry): Stripe made it after all: "
        f"{made['id']}."
    )
    assert lookup.id is not None and create.id is not None and lookup.id < create.id
    # A reload meanwhile follows the create to what it made, not to "was not created".
    (start,) = starts.for_customer(services_ctx.engine, customer, since=0)
    assert (start.outcome, start.request_id) == (starts.OK, made["id"])

    # Create again (a new key, as the page sends after a 500) is refused beside the one made.
    with pytest.raises(collect_open.OpenRequestsExist, match=made["id"]):
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=new_key(), open_seen=()
        )
    assert len(_at_stripe(services_ctx, customer)) == 1


def test_a_setup_intent_stripe_did_not_make_says_create_again_is_safe(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    key = new_key()
    simulator.force_faults("500", 1)  # answered 500, nothing made

    with pytest.raises(StripeUnavailable) as caught:
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=key, open_seen=()
        )

    said = str(caught.value)
    assert said.startswith("Stripe did not confirm the new SetupIntent: it had a server error. "
                           "Stripe did not make it: Create again is safe, and sends a new request "
                           "(fcops looked at this customer's SetupIntents at Stripe since "), said
    assert said.endswith("UTC: none is from this request)."), said
    assert not caught.value.outcome_unknown  # the page spends the key: Stripe replays a 500
    assert _at_stripe(services_ctx, customer) == []
    (lookup,) = audit_rows(services_ctx, "collect.lookup", key)
    assert (lookup.outcome, lookup.target, lookup.params["found"]) == ("ok", None, None)
    assert "none is from this attempt" in (lookup.message or "")
    (create,) = audit_rows(services_ctx, "collect.create", key)
    assert (create.outcome, create.target) == ("unknown", None)
    assert (create.message or "").endswith("(the collect.lookup entry): Stripe did not make it.")
    # A reload meanwhile: "was not created" (the look-up showed it), with why.
    (start,) = starts.for_customer(services_ctx.engine, customer, since=0)
    assert (start.outcome, start.message) == ("error", said)

    again = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=new_key(), open_seen=()
    )
    assert [si["id"] for si in _at_stripe(services_ctx, customer)] == [again.id]


def test_when_the_look_up_fails_too_the_person_keeps_the_advice_to_look_first(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    key = new_key()
    simulator.force_faults("500_done", 1)  # made, answered 500 ...
    simulator.force_faults("500", 1)  # ... and the look-up's list fails

    with pytest.raises(StripeUnavailable) as caught:
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=key, open_seen=()
        )

    said = str(caught.value)
    assert "press Sync from Stripe in Open requests" in said, said
    assert "Create again is safe" not in said and "after all" not in said
    (lookup,) = audit_rows(services_ctx, "collect.lookup", key)
    assert lookup.outcome == "error"
    assert _stored(services_ctx, customer) == []  # nothing claimed it was found
    (create,) = audit_rows(services_ctx, "collect.create", key)
    assert create.outcome == "unknown"
    assert "the look-up failed too, so it is still unknown" in (create.message or "")
    # A reload meanwhile: not "was not created" (it read "was not created: … may have been
    # made"), but unknown, with the audit row's sentence: what is known and where to look.
    (start,) = starts.for_customer(services_ctx.engine, customer, since=0)
    assert (start.outcome, start.message) == ("unknown", create.message)


def test_a_link_stripe_made_but_answered_500_names_the_link_and_its_setup_intent(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    customer = _customer(services_ctx, ops)
    key = new_key()
    simulator.force_faults("500_done", 1)

    with pytest.raises(collect_lookup.MadeAfterAll) as caught:
        collection_requests.create_hosted_link(
            services_ctx, ops, customer_id=customer, idempotency_key=key, open_seen=()
        )

    (made,) = _at_stripe(services_ctx, customer)
    (session,) = services_ctx.gateway.iter_checkout_sessions(customer=customer)
    assert caught.value.link == session["id"]
    assert str(caught.value).startswith(
        f"Stripe made the link after all: {session['id']} (its SetupIntent {made['id']}, shown "
        "in Open requests)"
    ), str(caught.value)
    assert _stored(services_ctx, customer) == [made["id"]]
    # Listed by its link: above the buttons (the create's row) and in Open requests.
    (one,) = collect_open.customer_requests(services_ctx, ops, customer)
    assert (one.request_id, one.link_id) == (made["id"], session["id"])
    assert collect_lists.links_made(services_ctx, [made["id"]]) == {made["id"]: session["id"]}
    (create,) = audit_rows(services_ctx, "collect.create", key)
    assert create.outcome == "unknown"
    assert (create.message or "").endswith(
        f"Stripe made it after all: {made['id']} with the link {session['id']}."
    )


def test_a_create_stripe_refused_stays_an_error_and_is_not_looked_for(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    """A 429 (or any 4xx) is Stripe saying no before doing anything: the outcome is known."""
    customer = _customer(services_ctx, ops)
    rate_key, missing_key = new_key(), new_key()
    simulator.force_faults("429", services_ctx.gateway.backoff.retries + 1)  # past its retries
    with pytest.raises(RateLimited):
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=rate_key, open_seen=()
        )
    with pytest.raises(FcopsError) as caught:  # Stripe's 404: no such customer
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id="cus_nobody0000000", idempotency_key=missing_key,
        )
    assert not isinstance(caught.value, StripeUnavailable)
    for key in (rate_key, missing_key):
        assert [r.outcome for r in audit_rows(services_ctx, "collect.create", key)] == ["error"]
        assert audit_rows(services_ctx, "collect.lookup", key) == []


def test_an_fc_session_stripe_did_not_confirm_is_unknown_too(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    """Stripe cannot list FC sessions, so nothing is looked for; the row still says it may exist."""
    customer = _customer(services_ctx, ops)
    key = new_key()
    simulator.force_faults("500", 1)
    with pytest.raises(StripeUnavailable):
        collection_requests.create_fc_session(
            services_ctx, ops, customer_id=customer, idempotency_key=key
        )
    (create,) = audit_rows(services_ctx, "collect.create", key)
    assert create.outcome == "unknown"
    assert (create.message or "").startswith(
        "Stripe did not confirm the new Financial Connections session (a server error), so it "
        "may have been made. An FC session cannot be listed"
    )
    assert audit_rows(services_ctx, "collect.lookup", key) == []


def test_only_this_attempts_setup_intent_counts_as_made(
    services_ctx: Services, simulator: Any, ops: Any
) -> None:
    """Another SetupIntent of the customer from a moment before (another create, another
    person) is not taken for this one: the match is the attempt id, not the time."""
    customer = _customer(services_ctx, ops)
    other = collection_requests.create_setup_intent(
        services_ctx, ops, customer_id=customer, idempotency_key=new_key()
    )
    simulator.force_faults("500", 1)

    with pytest.raises(StripeUnavailable, match="Stripe did not make it"):
        collection_requests.create_setup_intent(
            services_ctx, ops, customer_id=customer, idempotency_key=new_key(), open_seen=None
        )
    assert [si["id"] for si in _at_stripe(services_ctx, customer)] == [other.id]


def test_the_look_up_checks_the_role_and_audits_the_refusal(
    services_ctx: Services, finance: Any
) -> None:
    key = new_key()
    with pytest.raises(Forbidden):
        collect_lookup.made_by_attempt(
            services_ctx, finance, customer_id="cus_lookup0001", idempotency_key=key,
            since=services_ctx.now(),
        )
    assert [r.outcome for r in audit_rows(services_ctx, "collect.lookup", key)] == ["refused"]


# --------------------------------------------------------------------------- no answer

TIMEOUT, LATE = 0.4, 1.2  # the client's patience; Stripe runs the create this late


def test_a_create_with_no_answer_not_made_yet_says_create_again_repeats_it(
    sandbox_handle: Any, engine: Any, simulator: Any, ops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer even when read back: the look-up finds nothing yet, and Create again (the same
    key, which the page keeps) gets the one SetupIntent Stripe made meanwhile, not a second."""
    gateway = StripeGateway(
        SANDBOX_KEY, base_url=sandbox_handle.base_url, timeout_seconds=TIMEOUT,
        max_network_retries=0, backoff=quick_backoff()[0],
    )
    svc = Services(gateway=gateway, engine=engine, mode="sandbox")
    customer = _customer(svc, ops)
    key = new_key()
    monkeypatch.setattr(backoff, "READ_BACK", backoff.ReadBack(tries=2, pause_seconds=0.05))
    simulator.force_faults("slow", 1, seconds=LATE)

    with pytest.raises(OutcomeStillUnknown) as caught:
        collection_requests.create_setup_intent(
            svc, ops, customer_id=customer, idempotency_key=key, open_seen=()
        )

    said = str(caught.value)
    assert said.startswith("Stripe did not confirm the new SetupIntent in time, and has not made "
                           "it so far: Create again is safe, and repeats the same request, so "
                           "Stripe makes it at most once (fcops looked"), said
    assert caught.value.outcome_unknown  # the page keeps the key
    (lookup,) = audit_rows(svc, "collect.lookup", key)
    assert lookup.params["found"] is None
    (create,) = audit_rows(svc, "collect.create", key)
    assert create.outcome == "unknown"
    assert (create.message or "").startswith(
        "Stripe did not confirm the new SetupIntent (no answer in time)"
    )
    time.sleep(LATE)  # the late create lands at Stripe meanwhile
    again = collection_requests.create_setup_intent(
        svc, ops, customer_id=customer, idempotency_key=key, open_seen=()
    )
    assert [si["id"] for si in _at_stripe(svc, customer)] == [again.id]
