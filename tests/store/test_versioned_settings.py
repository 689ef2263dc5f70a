"""The one versioned-settings store (compare-and-set on the version), tested once for both of its
users: the debit policy and the per-flow FC configs. Both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from services.adapters import versioned_settings as store
from services.auth import Actor
from services.errors import Conflict
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy, edit_flows

ADA = Actor(username="ada", role="admin")
BOB = Actor(username="bob", role="admin")


def test_a_save_from_a_stale_version_is_refused_and_writes_nothing(engine: Engine) -> None:
    first = store.save(engine, "k", {"a": 1}, updated_by="ada", expected_version=0)
    assert (first.changed, first.stored.version) == (True, 1)
    second = store.save(engine, "k", {"a": 2}, updated_by="bob", expected_version=1, note="b")
    assert second.stored.version == 2
    with pytest.raises(store.StaleVersion) as refused:
        store.save(engine, "k", {"a": 3}, updated_by="ada", expected_version=1)
    assert isinstance(refused.value, Conflict)
    with pytest.raises(store.StaleVersion):  # a second "first" save
        store.save(engine, "k", {"a": 4}, updated_by="ada", expected_version=0)
    current = store.load(engine, "k")
    assert current is not None and (current.value, current.version) == ({"a": 2}, 2)
    assert [(s.version, s.value, s.note) for s in store.history(engine, "k")] == [
        (2, {"a": 2}, "b"),
        (1, {"a": 1}, None),
    ]
    assert store.load(engine, "other") is None and store.history(engine, "other") == []
    assert set(store.load_many(engine, ["k", "other"])) == {"k"}


def test_saving_what_is_stored_writes_no_version_even_from_a_stale_base(engine: Engine) -> None:
    store.save(engine, "k", {"a": 1}, updated_by="ada", expected_version=0)
    again = store.save(engine, "k", {"a": 1}, updated_by="ada", expected_version=0)
    assert (again.changed, again.stored.version) == (False, 1)
    assert len(store.history(engine, "k")) == 1


def test_of_many_concurrent_saves_from_one_version_exactly_one_wins(engine: Engine) -> None:
    store.save(engine, "k", {"n": 0}, updated_by="ada", expected_version=0)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            store.save(engine, "k", {"n": n}, updated_by=f"u{n}", expected_version=1)
            result = "won"
        except store.StaleVersion:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    assert [s.version for s in store.history(engine, "k")] == [2, 1]


@dataclass(frozen=True)
class User:
    """One user of the store: how it saves value ``n`` and under which key it stores."""

    key: str
    save: Callable[[Engine, Actor, int, int], Any]  # (engine, actor, n, expected) -> saved
    version: Callable[[Engine], int]


def _save_policy(engine: Engine, actor: Actor, n: int, expected: int) -> Any:
    policy = DebitPolicy(buffer_amount=n * 100)
    return debit_policy.save_policy(engine, actor, policy, expected_version=expected)


def _save_flow(engine: Engine, actor: Actor, n: int, expected: int) -> Any:
    method = ("automatic", "instant", "microdeposits")[n % 3]
    return edit_flows.save_flow(
        engine,
        actor,
        "invoice",
        permissions=["payment_method"],
        prefetch=[],
        verification_method=method,
        expected_version=expected,
    )


USERS = {
    "debit policy": User(
        debit_policy.POLICY_KEY, _save_policy, lambda e: debit_policy.load_policy(e).version
    ),
    "flow config": User(
        edit_flows.setting_key("invoice"),
        _save_flow,
        lambda e: edit_flows.load_flow(e, "invoice").version,
    ),
}


@pytest.mark.parametrize("name", list(USERS))
def test_both_users_save_through_the_one_store_and_get_its_conflicts(
    engine: Engine, name: str
) -> None:
    user = USERS[name]
    base = user.version(engine)
    user.save(engine, ADA, 1, base)
    assert user.version(engine) == base + 1
    stored = store.load(engine, user.key)
    assert stored is not None and stored.version == base + 1 and stored.updated_by == "ada"
    with pytest.raises(Conflict, match="while you were editing"):
        user.save(engine, BOB, 2, base)  # Bob edited the version Ada replaced
    assert user.version(engine) == base + 1
    user.save(engine, BOB, 2, base + 1)
    assert [s.updated_by for s in store.history(engine, user.key)][:2] == ["bob", "ada"]
