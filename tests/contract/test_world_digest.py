"""A seeded demo world is the same objects for the same seed, byte for byte.

Seeding is a long chain of seeded random draws (ids, names, balances, histories): moving code
around in ``sandbox/`` must not reorder one of them. The digest covers every stored object of
every type in storage order, every account's transactions as ``GET /v1/financial_connections/
transactions`` pages them (the lazy loaders run then), how many background jobs are scheduled and
the next id the seeded generator gives. A change that alters the demo world on purpose updates
``DIGESTS``: run ``FCOPS_PRINT_WORLD_DIGESTS=1 .venv/bin/python -m pytest -s`` on this file and
copy the printed values.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.core import SandboxConfig, State, handle
from sandbox.server import build_state

NOW = 1_767_369_600  # 2026-01-02 16:00 UTC
CUSTOMERS = 40
DIGESTS = {
    11: "04e64bce4b4d2dba9b59a10a05028cf2f0c147912035e8b71b61353c0d3d0bca",
    42: "af002c09f6df8595cd97c43bc902f498251341f44ea1999606b4aec50bdcd6e8",
}
HEADERS = {"Authorization": "Bearer sk_test_digest"}


def _transactions(state: State, account: str) -> Iterator[dict[str, Any]]:
    after = ""
    while True:
        query = f"account={account}&limit=100" + (f"&starting_after={after}" if after else "")
        path = "/v1/financial_connections/transactions"
        resp = handle(state, "GET", path, query=query, headers=HEADERS)
        if resp.status != 200:  # no transaction refresh succeeded: the refusal is in the digest
            yield resp.body
            return
        yield from resp.body["data"]
        if not resp.body["has_more"]:
            return
        after = resp.body["data"][-1]["id"]


def world_digest(seed: int) -> str:
    state = build_state(SandboxConfig(seed=seed, customers=CUSTOMERS, now=NOW))
    digest = hashlib.sha256()

    def add(value: Any) -> None:
        digest.update(json.dumps(value, sort_keys=True).encode() + b"\n")

    for kind in sorted(state.store):
        for obj in state.find(kind):
            add(obj)
    add(state.pending_jobs())
    for account in sorted(state.store.get("financial_connections.account", {})):
        for txn in _transactions(state, account):
            add(txn)
    add(state.new_id("probe_"))
    return digest.hexdigest()


@pytest.mark.parametrize("seed", sorted(DIGESTS))
def test_a_seeded_world_is_the_same_objects_for_the_same_seed(seed: int) -> None:
    found = world_digest(seed)
    if os.environ.get("FCOPS_PRINT_WORLD_DIGESTS"):
        print(f"\n    {seed}: {found!r},")
    assert found == DIGESTS[seed], "the seeded demo world changed (see this module's docstring)"
