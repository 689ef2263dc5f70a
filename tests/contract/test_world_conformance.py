"""A whole demo world, read back over HTTP, matches the pinned version's resource types.

The sandbox seeds a demo world; the test then drives the SDK and the simulation hooks so every
event type the sandbox emits (``sandbox.core.event_types.EVENT_TYPES``) happens at least once, reads every
object back the way a client would (lists, retrieves, expansions, search, events, a deleted
customer) and checks each answer with :class:`sandbox.spec.shapes.Checker`: no field outside
the SDK's annotations, none missing that Stripe always sends, JSON types, enums, nulls only
where the type is ``Optional``. It reports how many objects and fields it checked.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from sandbox import core
from sandbox.server import SandboxHandle, start_background
from sandbox.spec.generate import RESOURCES
from sandbox.spec.shapes import Checker
from tests.contract.conftest import TEST_KEY, hook

ACH: dict[str, Any] = {"allowed_payment_method_types": ["us_bank_account"]}
ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.9", "user_agent": "world-walk"},
    }
}


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxHandle]:
    handle = start_background(port=0, seed=11, customers=40, refresh_delay=0)
    yield handle
    handle.stop()


def get(base_url: str, path: str, **params: Any) -> tuple[int, Any]:
    query = urllib.parse.urlencode(params, doseq=True)
    request = urllib.request.Request(
        f"{base_url}{path}" + (f"?{query}" if query else ""),
        headers={"Authorization": f"Bearer {TEST_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --------------------------------------------------------------------------- driving the world


def _customer(client: stripe.StripeClient, name: str) -> Any:
    return client.v1.customers.create(params={"name": name, "email": f"{name.lower()}@example.com"})


def _linked_setup(client: stripe.StripeClient, world: SandboxHandle, name: str) -> Any:
    cus = _customer(client, name)
    si = client.v1.setup_intents.create(
        params={
            "customer": cus.id,
            **ACH,
            "payment_method_options": {
                "us_bank_account": {
                    "financial_connections": {
                        "permissions": ["payment_method", "balances", "ownership", "transactions"],
                        "prefetch": ["balances"],
                    }
                }
            },
        }
    )
    hook(world, f"setup_intents/{si.id}/link", institution="Test Institution")
    return client.v1.setup_intents.retrieve(si.id)


def _manual_setup(client: stripe.StripeClient, world: SandboxHandle, account: str) -> Any:
    cus = _customer(client, f"Manual{account[-4:]}")
    si = client.v1.setup_intents.create(params={"customer": cus.id, **ACH})
    hook(world, f"setup_intents/{si.id}/manual_entry", account_number=account)
    hook(world, f"setup_intents/{si.id}/microdeposits_arrive")
    return si


def _debit(client: stripe.StripeClient, si: Any, amount: int = 2500) -> Any:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "customer": si.customer,
            "payment_method": si.payment_method,
            **ACH,
            "confirm": True,
            "off_session": True,
        }
    )


def _verified(client: stripe.StripeClient, world: SandboxHandle, account: str) -> Any:
    si = _manual_setup(client, world, account)
    return client.v1.setup_intents.verify_microdeposits(si.id, params={"descriptor_code": "SM11AA"})


def drive(client: stripe.StripeClient, world: SandboxHandle) -> dict[str, Any]:
    """Make every kind of change the sandbox models; returns ids the walk cannot list."""
    made: dict[str, Any] = {}
    # customers: updated, deleted (the DELETE reply is a deleted customer)
    cus = _customer(client, "Walker")
    client.v1.customers.update(cus.id, params={"name": "Walker Renamed", "metadata": {"k": "v"}})
    gone = _customer(client, "Goner")
    made["deleted"] = client.v1.customers.delete(gone.id).to_dict()
    # FC: a session, its accounts, every refresh, deactivate/reactivate, disconnect
    session = client.v1.financial_connections.sessions.create(
        params={
            "account_holder": {"type": "customer", "customer": cus.id},
            "permissions": ["balances", "ownership", "transactions", "payment_method"],
            "filters": {"country": "US"},
        }
    )
    hook(world, f"financial_connections/sessions/{session.id}/complete",
         institution="Test Institution", accounts=2)
    made["fc_session"] = session.id
    fc = client.v1.financial_connections
    first, second = fc.accounts.list(params={"account_holder": {"customer": cus.id}}).data
    fc.accounts.refresh(first.id, params={"features": ["balance", "ownership", "transactions"]})
    hook(world, "refreshes/complete")
    fc.accounts.subscribe(first.id, params={"features": ["transactions"]})
    hook(world, "refreshes/complete")
    # deactivation ahead of time: announced, moved, then relinked by reactivation
    hook(world, f"financial_connections/accounts/{first.id}/upcoming_deactivation", days=20)
    hook(world, f"financial_connections/accounts/{first.id}/upcoming_deactivation", days=30)
    hook(world, f"financial_connections/accounts/{second.id}/deactivate")
    hook(world, f"financial_connections/accounts/{second.id}/reactivate")
    fc.accounts.disconnect(second.id)
    # SetupIntents: succeeded, requires_action, setup_failed, canceled
    linked = _linked_setup(client, world, "Linker")
    _manual_setup(client, world, "000123456789")
    failing = _customer(client, "Nodeposit")
    fail_si = client.v1.setup_intents.create(params={"customer": failing.id, **ACH})
    hook(world, f"setup_intents/{fail_si.id}/manual_entry", account_number="000666666661")
    hook(world, "refreshes/complete")
    client.v1.setup_intents.cancel(
        client.v1.setup_intents.create(params={"customer": cus.id, **ACH}).id,
        params={"cancellation_reason": "abandoned"},
    )
    # PaymentIntents and charges: succeeded, failed (NSF), blocked (closed), disputed, canceled
    _debit(client, linked)
    _debit(client, _verified(client, world, "000222222227"))
    _debit(client, _verified(client, world, "000111111113"))
    _debit(client, _verified(client, world, "000555555559"))
    hook(world, "refreshes/complete")
    slow = _debit(client, _verified(client, world, "000000000009"))
    client.v1.payment_intents.cancel(slow.id, params={"cancellation_reason": "requested_by_customer"})
    waiting = client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "customer": cus.id, **ACH}
    )
    hook(world, f"payment_intents/{waiting.id}/manual_entry", microdeposit_type="amounts")
    # PaymentMethods: updated, detached (its mandate goes inactive)
    client.v1.payment_methods.update(
        linked.payment_method, params={"billing_details": {"email": "walk@example.com"}}
    )
    client.v1.payment_methods.detach(linked.payment_method)
    # Checkout: completed + async succeeded, completed + async failed, expired
    made["checkout"] = []
    for account in (None, "000222222227"):
        buyer = _customer(client, "Buyer")
        checkout = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": "https://example.com/ok",
                "customer": buyer.id,
                **ACH,
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1250,
                            "product_data": {"name": "Rent"},
                        },
                        "quantity": 2,
                    }
                ],
            }
        )
        made["checkout"].append(checkout.id)
        if account is None:
            hook(world, f"payment_intents/{checkout.payment_intent}/link",
                 institution="Test Institution")
        else:
            path = f"payment_intents/{checkout.payment_intent}/"
            hook(world, path + "manual_entry", account_number=account)
            hook(world, path + "microdeposits_arrive")
            client.v1.payment_intents.verify_microdeposits(
                checkout.payment_intent, params={"descriptor_code": "SM11AA"}
            )
        hook(world, "refreshes/complete")
    expiring = client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "usd", "customer": cus.id,
                "success_url": "https://example.com/ok", **ACH}
    )
    client.v1.checkout.sessions.expire(expiring.id)
    made["checkout"].append(expiring.id)
    hook(world, "refreshes/complete")
    # a registered webhook endpoint: its create answer (the only one with the secret) and,
    # after the walk read it back, its delete answer
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["customer.created"]}
    )
    made["webhook_endpoint"] = endpoint.to_dict()
    return made


# --------------------------------------------------------------------------- walking it


def _pages(base_url: str, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    after: str | None = None
    while True:
        status, page = get(base_url, path, limit=100, **params,
                           **({"starting_after": after} if after else {}))
        assert status == 200, (path, page)
        yield page
        if not page["has_more"]:
            return
        after = page["data"][-1]["id"]


def walk(world: SandboxHandle, made: dict[str, Any], checker: Checker) -> set[str]:
    """Read everything back and check it; returns the event types seen."""
    base = world.base_url

    def check(body: Any, where: str) -> None:
        checker.check(body, where)

    event_types: set[str] = set()
    for page in _pages(base, "/v1/events"):
        check(page, "events")
        event_types.update(e["type"] for e in page["data"])
    customers = [c for page in _pages(base, "/v1/customers") for c in page["data"]]
    for page in _pages(base, "/v1/customers"):
        check(page, "customers")
    check(made["deleted"], "deleted customer")
    status, found = get(base, "/v1/customers/search", query=f"email:'{customers[0]['email']}'")
    check(found, "customer search")
    for cus in customers:
        cid = cus["id"]
        check(get(base, f"/v1/customers/{cid}")[1], cid)
        for page in _pages(base, "/v1/financial_connections/accounts",
                           **{"account_holder[customer]": cid}):
            check(page, f"{cid} accounts")
            for account in page["data"]:
                _walk_account(base, account, check)
        for page in _pages(base, "/v1/setup_intents", customer=cid,
                           **{"expand[]": ["data.payment_method", "data.mandate",
                                           "data.latest_attempt"]}):
            check(page, f"{cid} setup intents")
            for si in page["data"]:
                status, attempts = get(base, "/v1/setup_attempts", setup_intent=si["id"])
                check(attempts, f"{si['id']} attempts")
        for page in _pages(base, "/v1/payment_intents", customer=cid,
                           **{"expand[]": ["data.latest_charge", "data.payment_method",
                                           "data.customer"]}):
            check(page, f"{cid} payment intents")
            for pi in page["data"]:
                error = pi["last_payment_error"] or {}
                if pi["latest_charge"] and pi["status"] == "requires_payment_method":
                    account = error["payment_method"]["us_bank_account"]
                    returns = made.setdefault("returns", [])
                    returns.append((error["code"], account["financial_connections_account"]))
                if pi["latest_charge"]:
                    charge = pi["latest_charge"]["id"]
                    check(get(base, f"/v1/charges/{charge}")[1], charge)
        check(get(base, f"/v1/customers/{cid}/payment_methods", type="us_bank_account")[1],
              f"{cid} payment methods")
        for page in _pages(base, "/v1/payment_methods", customer=cid, type="us_bank_account"):
            for pm in page["data"]:
                blocked = (pm["us_bank_account"]["status_details"] or {}).get("blocked")
                if blocked:
                    made.setdefault("blocked", []).append(blocked["network_code"])
                for mandate in world.state.view("mandate", where={"payment_method": pm["id"]}).all():
                    status, body = get(base, f"/v1/mandates/{mandate['id']}",
                                       **{"expand[]": "payment_method"})
                    check(body, mandate["id"])
    for page in _pages(base, "/v1/checkout/sessions"):
        check(page, "checkout sessions")
    for cs in made["checkout"]:
        check(get(base, f"/v1/checkout/sessions/{cs}",
                  **{"expand[]": ["payment_intent", "setup_intent", "customer"]})[1], cs)
    check(get(base, f"/v1/financial_connections/sessions/{made['fc_session']}")[1], "fc session")
    endpoint = made["webhook_endpoint"]
    assert endpoint["secret"].startswith("whsec_")
    check(endpoint, "webhook endpoint as created")
    check(get(base, f"/v1/webhook_endpoints/{endpoint['id']}")[1], endpoint["id"])
    check(get(base, "/v1/webhook_endpoints")[1], "webhook endpoints")
    check(_delete(base, f"/v1/webhook_endpoints/{endpoint['id']}"), "deleted webhook endpoint")
    return event_types


def _delete(base_url: str, path: str) -> Any:
    request = urllib.request.Request(
        f"{base_url}{path}", method="DELETE", headers={"Authorization": f"Bearer {TEST_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def _walk_account(base: str, account: dict[str, Any], check: Any) -> None:
    fca = account["id"]
    status, full = get(base, f"/v1/financial_connections/accounts/{fca}",
                       **{"expand[]": "ownership"})
    check(full, fca)
    if full.get("ownership"):
        ownership = full["ownership"]["id"]
        check(get(base, f"/v1/financial_connections/accounts/{fca}/owners",
                  ownership=ownership)[1], f"{fca} owners")
    status, txns = get(base, "/v1/financial_connections/transactions", account=fca, limit=100)
    if status == 200:
        check(txns, f"{fca} transactions")
        for txn in txns["data"][:2]:
            check(get(base, f"/v1/financial_connections/transactions/{txn['id']}")[1], txn["id"])


# --------------------------------------------------------------------------- the test


def test_the_whole_demo_world_matches_the_pinned_resource_types(
    world: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": world.base_url})
    made = drive(client, world)
    checker = Checker()
    event_types = walk(world, made, checker)
    with capsys.disabled():  # shown in every run's output, not only with -s
        print(
            f"\n[conformance] {checker.objects:,} objects and {checker.fields:,} fields checked "
            f"against the pinned types, {len(event_types)} event types; "
            f"{len(checker.problems)} problems; by type: {dict(sorted(checker.types_seen.items()))}"
        )
    assert checker.problems == []
    # the seeded 90 days of debits: some came back from FC-linked accounts (R01 above the
    # balance), and blocked payment methods were checked too
    assert {code for code, fca in made["returns"] if fca} >= {"insufficient_funds"}
    assert "R02" in made["blocked"]
    assert sorted(core.EVENT_TYPES - event_types) == [], "event types the walk never saw"
    assert set(RESOURCES) <= set(checker.types_seen), sorted(set(RESOURCES) - set(checker.types_seen))
    events = sum(1 for _ in world.state.view("event").all())
    assert checker.objects > 2 * events  # every event and the object it carries, at least
    assert checker.fields > 20 * checker.objects // 2
