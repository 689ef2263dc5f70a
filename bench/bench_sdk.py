"""What one Stripe call costs through the SDK, against a bare HTTP loop. Numbers for people; no asserts.

    .venv/bin/python -m bench.bench_sdk                      # 2,000 calls per endpoint and way
    .venv/bin/python -m bench.bench_sdk --page-calls 300 --rounds 6   # intent pages: ~100x dearer

One process: a sandbox (``sandbox.server.start_background``, refreshes instant) seeded with
``--customers`` demo customers, most with Financial Connections accounts. Then the two list
calls the syncs make most, each ``--calls`` times with identical parameters:

- ``fc accounts``: one customer's FC accounts (``GET /v1/financial_connections/accounts``,
  ``account_holder[customer]``, ``limit=100``): the full account sync's call, once per customer;
- ``setup intents``: one page of 100 SetupIntents with their payment methods expanded
  (``GET /v1/setup_intents?limit=100&expand[]=data.payment_method``): the intent sync's call.

each made five ways:

- (a) bare: ``http.client`` on one keep-alive connection, the same URL and headers, body
  parsed with ``json.loads``; no SDK;
- (b) before: the gateway as it was before issue 11's change: the SDK's typed services over
  ``stripe.RequestsClient``, every item built as a ``StripeObject`` and turned back into a dict
  (``to_dict``), through the gateway's ``_call`` (its back-off and error translation);
- (b') the same object path over the gateway's new transport (``sdk.KeepAliveClient``), to
  show what the transport alone saves;
- (c') the SDK's public ``StripeClient.raw_request`` called directly (what ``sdk.get_json``
  does, without the gateway's ``_call`` around it);
- (c) after: ``StripeGateway`` as it is now (keep-alive transport, lists read as JSON through
  the SDK's public ``raw_request``: ``sdk.get_json``).

The calls run in ``--rounds`` interleaved rounds (each way in turn, ``calls ÷ rounds`` calls
each), so a busy machine slows every way alike. The table gives the median round's wall
ms/call and the best round's, and the median round's CPU ms/call of the calling thread (the
client's own work: the SDK, HTTP and JSON; the sandbox answers from other threads of this
process, so its time is in the wall numbers of every way, (a)'s included, and not in the CPU
ones); each way's ratios to (a) are on the medians.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import urlencode, urlsplit

import stripe

from bootstrap import SANDBOX_KEY
from sandbox.server import SandboxHandle, start_background
from services.adapters.gateway import StripeGateway, sdk
from services.rules.stripe_api import API_VERSION

Call = Callable[[], list[dict[str, Any]]]


class ObjectPathGateway(StripeGateway):
    """The gateway's two benchmarked lists as they were before issue 11: the SDK's typed
    services, each item a ``StripeObject`` turned back into a dict; ``transport`` picks the
    SDK's HTTP client (``requests`` as before, or the new keep-alive one)."""

    def __init__(self, base_url: str, *, transport: str) -> None:
        super().__init__(SANDBOX_KEY, base_url=base_url, max_network_retries=2)
        http_client: stripe.HTTPClient = (
            stripe.RequestsClient(timeout=20.0)
            if transport == "requests"
            else sdk.KeepAliveClient(timeout=20.0)
        )
        self._client = stripe.StripeClient(
            SANDBOX_KEY,
            stripe_version=API_VERSION,
            base_addresses={"api": base_url},
            max_network_retries=2,
            http_client=http_client,
        )

    def _objects(self, fn: Callable[[], Any]) -> Iterator[dict[str, Any]]:
        page = self._call(fn)
        while True:
            for item in page.data:
                yield sdk.obj_to_dict(item)
            if not page.has_more or not page.data:
                return
            page = self._call(page.next_page)

    def list_accounts(
        self, *, customer: str | None = None, session: str | None = None
    ) -> list[dict[str, Any]]:
        params: sdk.AccountListParams = {"limit": 100}
        if customer:
            params["account_holder"] = {"customer": customer}
        fc = self.v1.financial_connections
        return list(self._objects(lambda: fc.accounts.list(params=params)))

    def iter_setup_intents(
        self, *, created_gte: int | None = None, customer: str | None = None, expand: Any = ()
    ) -> Iterator[dict[str, Any]]:
        params: sdk.SetupIntentListParams = {"limit": 100}
        if expand:
            params["expand"] = [f"data.{e}" for e in expand]
        return self._objects(lambda: self.v1.setup_intents.list(params=params))


class PublicRawRequestGateway(StripeGateway):
    """The gateway now, its lists through the SDK's public ``raw_request`` instead."""

    def _list_page(self, path: str, params: Any) -> dict[str, Any]:
        page: dict[str, Any] = self._call(
            lambda: self._client.raw_request("get", path, **params)
        ).data
        return page


def bare_call(base_url: str, path: str, query: dict[str, str]) -> Call:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    target = f"{path}?{urlencode(query)}"
    headers = {"Authorization": f"Bearer {SANDBOX_KEY}", "Stripe-Version": API_VERSION}

    def call() -> list[dict[str, Any]]:
        conn.request("GET", target, headers=headers)
        data: list[dict[str, Any]] = json.loads(conn.getresponse().read())["data"]
        return data

    return call


def gateway_calls(gw: StripeGateway, customer: str) -> dict[str, Call]:
    return {
        "fc accounts": lambda: gw.list_accounts(customer=customer),
        "setup intents": lambda: list(islice(gw.iter_setup_intents(expand=["payment_method"]), 100)),
    }


def a_customer_with_accounts(gw: StripeGateway) -> tuple[str, int]:
    for customer in gw.iter_customers():
        accounts = gw.list_accounts(customer=customer["id"])
        if accounts:
            return str(customer["id"]), len(accounts)
    raise SystemExit("no customer with FC accounts: seed more (--customers)")


def measure(
    ways: dict[str, Call], calls: int, rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """(wall, calling-thread CPU) ms/call per round for every way, interleaved round by round."""
    per_round = max(1, calls // rounds)
    seen: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in ways}
    for call in ways.values():  # warm up: connections, imports, caches
        call()
    for _ in range(rounds):
        for name, call in ways.items():
            began, cpu = time.perf_counter(), time.thread_time()
            for _ in range(per_round):
                call()
            seen[name][0].append((time.perf_counter() - began) / per_round * 1000)
            seen[name][1].append((time.thread_time() - cpu) / per_round * 1000)
    return seen


def run(handle: SandboxHandle, calls: int, page_calls: int, rounds: int) -> None:
    after = StripeGateway(SANDBOX_KEY, base_url=handle.base_url, max_network_retries=2)
    before = ObjectPathGateway(handle.base_url, transport="requests")
    objects_keepalive = ObjectPathGateway(handle.base_url, transport="keepalive")
    public_raw = PublicRawRequestGateway(SANDBOX_KEY, base_url=handle.base_url,
                                         max_network_retries=2)
    customer, n_accounts = a_customer_with_accounts(after)
    bare = {
        "fc accounts": bare_call(
            handle.base_url,
            "/v1/financial_connections/accounts",
            {"account_holder[customer]": customer, "limit": "100"},
        ),
        "setup intents": bare_call(
            handle.base_url,
            "/v1/setup_intents",
            {"limit": "100", "expand[0]": "data.payment_method"},
        ),
    }
    gateways = {
        "(b) before: objects over requests": gateway_calls(before, customer),
        "(b') objects over keep-alive": gateway_calls(objects_keepalive, customer),
        "(c') lists via public raw_request": gateway_calls(public_raw, customer),
        "(c) after: gateway now": gateway_calls(after, customer),
    }
    for endpoint, n in (("fc accounts", calls), ("setup intents", page_calls)):
        ways = {"(a) bare http.client": bare[endpoint]}
        ways.update({name: calls_of[endpoint] for name, calls_of in gateways.items()})
        results = [call() for call in ways.values()]
        same = all(r == results[0] for r in results[1:])
        detail = (
            f"{n_accounts} account(s) of {customer}"
            if endpoint == "fc accounts"
            else f"{len(results[0])} SetupIntents, payment_method expanded"
        )
        print(f"\n{endpoint}: {n:,} calls each in {rounds} rounds; {detail}; "
              f"every way returned the same dicts: {'yes' if same else 'NO'}")
        seen = measure(ways, n, rounds)
        wall_a = statistics.median(seen["(a) bare http.client"][0])
        cpu_a = statistics.median(seen["(a) bare http.client"][1])
        width = max(len(name) for name in ways)
        print(f"  {'way':<{width}}  {'wall ms/call':>12}  {'best':>7}  {'÷ (a)':>6}  "
              f"{'client CPU ms/call':>18}  {'÷ (a)':>6}")
        for name, (wall, cpu) in seen.items():
            w, c = statistics.median(wall), statistics.median(cpu)
            print(f"  {name:<{width}}  {w:>12.3f}  {min(wall):>7.3f}  {w / wall_a:>5.2f}x  "
                  f"{c:>18.3f}  {c / cpu_a:>5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per endpoint and way")
    parser.add_argument(
        "--page-calls", type=int, default=None,
        help="calls of the SetupIntents page per way (default: --calls)",
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--customers", type=int, default=200, help="demo customers to seed")
    args = parser.parse_args()
    began = time.perf_counter()
    handle = start_background(customers=args.customers, refresh_delay=0)
    print(f"sandbox with {args.customers:,} customers in {time.perf_counter() - began:.1f} s; "
          f"stripe {stripe.VERSION}, API {API_VERSION}")
    try:
        run(handle, args.calls, args.page_calls or args.calls, args.rounds)
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
