"""``State.view`` pages exactly like sorting the whole selection (``core.View``, indexes).

Lists used to filter and sort every object per request; views page sorted id arrays instead.
These tests compare the two on random worlds: ties in ``created``, removed and replaced
objects, indexed fields changed in place, ``created`` bounds and every paging parameter.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from sandbox.core import (
    Request,
    SandboxConfig,
    State,
    StripeError,
    range_bounds,
    range_filter,
    register_index,
)

KIND = "test.thing"
register_index(KIND, "color")
register_index(KIND, "owner", "holder.owner")
COLORS = ("red", "green", "blue")


def thing(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"thing_{i:04d}",
        "object": KIND,
        "created": 1_000 + rng.randint(0, 40),  # many ties: insertion order breaks them
        "color": rng.choice(COLORS),
        "holder": {"owner": rng.choice(["ann", "bo", None])},
    }


def random_world(seed: int) -> State:
    rng = random.Random(seed)
    state = State(SandboxConfig(seed=seed))
    things = [state.add(thing(i, rng)) for i in range(150)]
    state.view(KIND, where={"color": "red"}).all()  # build the index midway
    things += [state.add(thing(i, rng)) for i in range(150, 300)]
    for victim in rng.sample(things, 30):
        state.remove(victim)
    for i in rng.sample(range(300), 40):  # replaced by a new dict with the same id
        state.add({**thing(i, rng), "id": f"thing_{i:04d}"})
    for obj in rng.sample(state.find(KIND), 40):  # changed in place, then re-filed
        obj["color"] = rng.choice(COLORS)
        state.reindex(obj)
    return state


def page(state: State, items: Any, params: dict[str, Any]) -> Any:
    try:
        body = state.list_response(items, Request("GET", "/v1/things", params=params), "/v1/x")
    except StripeError as err:
        return ("error", err.status, err.message, err.param)
    return [o["id"] for o in body["data"]], body["has_more"]


@pytest.mark.parametrize("seed", range(6))
def test_a_view_pages_like_the_sorted_list_it_stands_for(seed: int) -> None:
    state = random_world(seed)
    rng = random.Random(seed * 7 + 1)
    everything = state.find(KIND)
    ids = [o["id"] for o in everything] + ["thing_9999"]
    for _ in range(120):
        where: dict[str, Any] = {}
        if rng.random() < 0.5:
            where["color"] = rng.choice(COLORS)
        if rng.random() < 0.3:
            where["owner"] = rng.choice(["ann", "bo", None])
        if rng.random() < 0.2:
            where = {"color": frozenset(rng.sample(COLORS, 2)), **where}
        created: Any = None
        if rng.random() < 0.4:
            created = {
                op: str(1_000 + rng.randint(0, 40))
                for op in rng.sample(["gt", "gte", "lt", "lte"], rng.randint(1, 2))
            }
        elif rng.random() < 0.1:
            created = str(1_000 + rng.randint(0, 40))
        params: dict[str, Any] = {"limit": str(rng.choice([1, 2, 3, 10, 100]))}
        anchor = rng.random()
        if anchor < 0.35:
            params["starting_after"] = rng.choice(ids)
        elif anchor < 0.7:
            params["ending_before"] = rng.choice(ids)

        def matches(obj: dict[str, Any], where: dict[str, Any] = where) -> bool:
            for name, value in where.items():
                field = obj["color"] if name == "color" else obj["holder"]["owner"]
                allowed = value if isinstance(value, frozenset) else {value}
                if field not in allowed:
                    return False
            return True

        bounds = range_bounds(created, "created") if created is not None else (None, None)
        keep = range_filter_like(created)
        expected_items = [o for o in everything if matches(o) and keep(o["created"])]
        view = state.view(KIND, where=where or None, created=bounds)
        expected = page(state, expected_items, params)
        assert page(state, view, params) == expected, (where, created, params)


def range_filter_like(created: Any) -> Any:
    return (lambda _ts: True) if created is None else range_filter(created, "created")


def test_a_view_of_a_type_with_nothing_stored_is_an_empty_page() -> None:
    state = State(SandboxConfig())
    body = state.list_response(state.view(KIND), Request("GET", "/v1/x"), "/v1/x")
    assert body["data"] == [] and body["has_more"] is False
    assert len(state.view(KIND, where={"color": "red"})) == 0
