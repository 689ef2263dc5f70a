"""Smaller differences the sandbox now models as Stripe does (issue 7 §B9), through the SDK.

Search's query language (implicit AND, `-` negation, AND/OR in any case but never mixed,
`field:'v'`, `field~'sub'`, `metadata['k']:'v'`, numeric comparisons on `created`), search
lagging behind writes, `total_count` only on request, `expand` of a non-expandable field,
`types[]` taking exact event names, and Stripe's string length limits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox.server import SandboxHandle, start_background
from services.rules.stripe_api import LENGTH_LIMITS
from tests.contract.conftest import TEST_KEY, hook, raw


def ids(result: Any) -> set[str]:
    return {c.id for c in result.data}


@pytest.fixture(scope="module")
def people(client: stripe.StripeClient) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    make = client.v1.customers.create
    return {
        "tag": tag,
        "ada": make(params={"name": f"Ada {tag}", "email": f"ada.{tag}@example.com",
                            "metadata": {"team": tag, "tier": "gold"}}),
        "bob": make(params={"name": f"Bob {tag}", "email": f"bob.{tag}@example.com",
                            "metadata": {"team": tag, "tier": "silver"}}),
        "cy": make(params={"name": f"Cy {tag}", "email": f"cy.{tag}@example.com",
                           "metadata": {"team": tag}}),
    }


def test_clauses_separated_by_spaces_are_anded_and_a_dash_negates(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    tag, search = people["tag"], client.v1.customers.search
    team = ids(search(params={"query": f"metadata['team']:'{tag}'"}))
    assert team == {people["ada"].id, people["bob"].id, people["cy"].id}
    gold = search(params={"query": f"metadata['team']:'{tag}' metadata['tier']:'gold'"})
    assert ids(gold) == {people["ada"].id}
    not_gold = search(params={"query": f"metadata['team']:'{tag}' -metadata['tier']:'gold'"})
    assert ids(not_gold) == {people["bob"].id, people["cy"].id}


def test_and_or_are_case_insensitive_but_cannot_be_mixed(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    search, ada, bob = client.v1.customers.search, people["ada"], people["bob"]
    either = search(params={"query": f"email:'{ada.email}' or email:'{bob.email}'"})
    assert ids(either) == {ada.id, bob.id}
    both = search(params={"query": f"name~'{people['tag']}' and email:'{ada.email.upper()}'"})
    assert ids(both) == {ada.id}  # `:` on strings ignores case
    with pytest.raises(stripe.InvalidRequestError, match="cannot combine AND and OR"):
        search(params={"query": f"email:'{ada.email}' AND name~'Ada' OR name~'Bob'"})
    with pytest.raises(stripe.InvalidRequestError, match="cannot combine AND and OR"):
        search(params={"query": f"email:'{ada.email}' name~'Ada' OR name~'Bob'"})


def test_created_takes_numeric_comparisons_and_strings_need_quotes(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    search, ada = client.v1.customers.search, people["ada"]
    found = search(params={"query": f"created>={ada.created} name:'{ada.name}'"})
    assert ids(found) == {ada.id}
    assert ids(search(params={"query": f"created<{ada.created} name:'{ada.name}'"})) == set()
    for bad, why in [
        (f"email:{ada.email}", "must be quoted"),
        ("name~'Ad'", "at least 3 characters"),
        ("email>'a'", "only works on numeric fields"),
        ("colour:'blue'", "unsupported search field"),
        (" ".join(f"name:'x{i}'" for i in range(11)), "at most 10 clauses"),
        ("name:'x' AND", "ends with AND/OR"),
    ]:
        with pytest.raises(stripe.InvalidRequestError, match=why):
            search(params={"query": bad})


def test_total_count_comes_only_when_expanded(sandbox: SandboxHandle, people: dict[str, Any]) -> None:
    query = {"query": f"metadata['team']:'{people['tag']}'"}
    status, plain, _ = raw(sandbox.base_url, "GET", "/v1/customers/search", query)
    assert status == 200 and "total_count" not in plain
    status, counted, _ = raw(
        sandbox.base_url, "GET", "/v1/customers/search", {**query, "expand[]": "total_count"}
    )
    assert (status, counted["total_count"]) == (200, 3)


def test_payment_intent_search_speaks_the_same_language(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    ach = {"allowed_payment_method_types": ["us_bank_account"], "currency": "usd"}
    ada = people["ada"].id
    big = client.v1.payment_intents.create(params={"amount": 5000, "customer": ada, **ach})
    small = client.v1.payment_intents.create(params={"amount": 700, "customer": ada, **ach})
    search = client.v1.payment_intents.search
    assert ids(search(params={"query": f"customer:'{ada}' amount>1000"})) == {big.id}
    assert ids(search(params={"query": f"customer:'{ada}' -amount>1000"})) == {small.id}


@pytest.fixture(scope="module")
def lagging() -> Iterator[SandboxHandle]:
    handle = start_background(port=0, seed=3, customers=2, refresh_delay=0, search_lag=30)
    yield handle
    handle.stop()


def test_search_lags_behind_writes_until_the_index_catches_up(lagging: SandboxHandle) -> None:
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": lagging.base_url})
    search = client.v1.customers.search
    cus = client.v1.customers.create(params={"name": "Late Lou", "email": "lou@example.com"})
    assert ids(search(params={"query": "email:'lou@example.com'"})) == set()
    # The list is not subject to the lag: read back writes through it.
    listed = client.v1.customers.list(params={"email": "lou@example.com"})
    assert [c.id for c in listed.data] == [cus.id]
    hook(lagging, "clock/advance", seconds=31)
    assert ids(search(params={"query": "email:'lou@example.com'"})) == {cus.id}
    client.v1.customers.update(cus.id, params={"email": "lou.new@example.com"})
    assert ids(search(params={"query": "email:'lou@example.com'"})) == {cus.id}  # old state
    assert ids(search(params={"query": "email:'lou.new@example.com'"})) == set()
    hook(lagging, "clock/advance", seconds=31)
    assert ids(search(params={"query": "email:'lou@example.com'"})) == set()
    assert ids(search(params={"query": "email:'lou.new@example.com'"})) == {cus.id}


def test_expanding_a_field_that_is_not_expandable_is_a_400(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    cus = people["ada"].id
    si = client.v1.setup_intents.create(
        params={"customer": cus, "allowed_payment_method_types": ["us_bank_account"]}
    )
    assert client.v1.setup_intents.retrieve(si.id, params={"expand": ["customer"]}).customer.id == cus
    for path in ("payment_method_types", "status", "metadata", "nonexistent", "customer.email"):
        with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded") as err:
            client.v1.setup_intents.retrieve(si.id, params={"expand": [path]})
        assert err.value.param == "expand"
    listed = client.v1.setup_intents.list(params={"customer": cus, "expand": ["data.customer"]})
    assert listed.data[0].customer.id == cus
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.setup_intents.list(params={"customer": cus, "expand": ["data.usage"]})


def test_types_takes_exact_names_and_type_takes_a_wildcard(
    client: stripe.StripeClient, people: dict[str, Any]
) -> None:
    events = client.v1.events
    exact = events.list(params={"types": ["customer.created"], "limit": 5}).data
    assert exact and {e.type for e in exact} == {"customer.created"}
    grouped = events.list(params={"type": "customer.*", "limit": 100}).data
    assert {e.type for e in grouped} <= {"customer.created", "customer.updated", "customer.deleted"}
    with pytest.raises(stripe.InvalidRequestError, match="exact event names") as err:
        events.list(params={"types": ["customer.created", "customer.*"]})
    assert err.value.param == "types[1]"


@pytest.mark.parametrize(("field", "limit"), sorted(LENGTH_LIMITS["/v1/customers"].items()))
def test_customer_fields_longer_than_stripes_limit_are_refused(
    client: stripe.StripeClient, field: str, limit: int
) -> None:
    fits = "a" * (limit - len("@example.com")) + "@example.com" if field == "email" else "7" * limit
    client.v1.customers.create(params={field: fits})  # type: ignore[misc]
    with pytest.raises(stripe.InvalidRequestError, match=f"at most {limit} characters") as err:
        client.v1.customers.create(params={field: fits + "x"})  # type: ignore[misc]
    assert err.value.param == field


def test_metadata_values_and_keys_have_stripes_limits(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="at most 500 characters") as err:
        client.v1.customers.create(params={"metadata": {"note": "n" * 501}})
    assert err.value.param == "metadata[note]"
    with pytest.raises(stripe.InvalidRequestError, match="at most 40 characters"):
        client.v1.customers.create(params={"metadata": {"k" * 41: "v"}})
    with pytest.raises(stripe.InvalidRequestError, match="at most 50 keys"):
        client.v1.customers.create(params={"metadata": {f"k{i}": "v" for i in range(51)}})
