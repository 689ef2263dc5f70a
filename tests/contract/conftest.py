"""Contract-test fixtures: one sandbox for the session, reached through the real ``stripe`` SDK.

The sandbox runs with ``refresh_delay=0`` so a refresh is pending in the reply that starts it
and finished by the next request (see ``State.schedule``).
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

from sandbox.server import SandboxHandle, start_background

TEST_KEY = "sk_test_contract"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start_background(
        port=0, seed=7, customers=10, refresh_delay=0, slow_seconds=1.5, search_lag=0,
        check_responses=True,
    )
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def client(sandbox: SandboxHandle) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.base_url})


def raw(
    base_url: str,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A plain HTTP call (no SDK): status, JSON body, headers."""
    data = urllib.parse.urlencode(params or {}, doseq=True)
    url = f"{base_url}{path}"
    body = None
    if method == "GET" and data:
        url += "?" + data
    elif data:
        body = data.encode()
    hdrs = {"Authorization": f"Bearer {TEST_KEY}"} if auth else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def hook(sandbox: SandboxHandle, path: str, **params: Any) -> dict[str, Any]:
    """POST a ``/_sandbox/...`` simulation hook; fails the test on an error reply."""
    status, body, _ = raw(sandbox.base_url, "POST", f"/_sandbox/{path}", params, auth=False)
    assert status == 200, body
    return body


def linked_accounts(
    client: stripe.StripeClient,
    sandbox: SandboxHandle,
    *,
    permissions: list[str] | None = None,
    prefetch: list[str] | None = None,
    institution: str = "Test Institution",
    accounts: int = 1,
    name: str = "Casey Contract",
) -> list[Any]:
    """A new customer with ``accounts`` FC accounts linked through a completed session."""
    cus = client.v1.customers.create(params={"name": name, "email": "casey@example.com"})
    params: dict[str, Any] = {
        "account_holder": {"type": "customer", "customer": cus.id},
        "permissions": permissions or ["balances", "ownership", "transactions", "payment_method"],
    }
    if prefetch:
        params["prefetch"] = prefetch
    session = client.v1.financial_connections.sessions.create(params=params)
    hook(
        sandbox,
        f"financial_connections/sessions/{session.id}/complete",
        institution=institution,
        accounts=accounts,
    )
    found = client.v1.financial_connections.accounts.list(
        params={"account_holder": {"customer": cus.id}, "limit": 100}
    )
    return list(found.data)
