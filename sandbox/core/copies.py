"""Fast deep copies of JSON-like data (snapshots, templates, expansions)."""

from __future__ import annotations

import copy
from typing import Any

ATOMIC = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), about 5x faster than deepcopy.

    Event snapshots, builder templates and expansions are copied hundreds of thousands of
    times while a big world is seeded; ``copy.deepcopy``'s memo bookkeeping dominated start-up.
    Sub-objects that appear twice are copied twice (nothing here relies on aliasing); anything
    that is not a dict, list or scalar falls back to ``copy.deepcopy``.
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in ATOMIC else clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in ATOMIC else clone(v) for v in value]
    if kind in ATOMIC:
        return value
    return copy.deepcopy(value)
