"""Events: what ``State.emit`` stores after every change, and who listens.

An event's ``data.object`` is a snapshot of the object as it is after the change. Snapshots
share the unchanged parts of the previous snapshot of the same object, which keeps a big
seeded world (about twelve events per customer) fast to build and small in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core.copies import ATOMIC, clone
from sandbox.core.templates import build
from sandbox.shared_facts import API_VERSION

if TYPE_CHECKING:
    from sandbox.core.state import State

# Called with (state, event) after every event is stored (sandbox.api.search indexes from here).
EVENT_LISTENERS: list[Callable[[State, dict], None]] = []

_MISSING = object()


def event(
    state: State,
    *,
    type: str,
    data_object: dict,
    previous_attributes: dict | None = None,
    request: dict | None = None,
    **fields: Any,
) -> dict:
    """An ``event`` around a snapshot; ``state.emit`` is the usual way to make one."""
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    base: dict[str, Any] = {
        "api_version": API_VERSION,
        "data": data,
        "pending_webhooks": 0,
        "request": request or {"id": None, "idempotency_key": None},
        "type": type,
    }
    return build(state, "event", "evt_", base, fields)


class Snapshots:
    """The latest event snapshot of every object, to share unchanged parts with the next one."""

    def __init__(self) -> None:
        self._latest: dict[str, dict] = {}

    def take(self, obj: dict) -> dict:
        """A detached copy of ``obj`` that shares unchanged parts with its previous snapshot.

        Most events are about objects that changed one or two top-level fields since their
        last event; reusing the earlier snapshot's (never mutated) copy of every unchanged
        nested value saves most of the copying time and memory. Values shared are only ever
        other snapshots' copies, never the live dict. Nested values compare with ``==`` (so a
        nested ``1`` that became ``True`` would keep the ``1``; nothing in the sandbox does that).
        """
        id = obj.get("id")
        previous = self._latest.get(id) if isinstance(id, str) else None
        snap: dict = {}
        for key, value in obj.items():
            if type(value) in ATOMIC:
                snap[key] = value
                continue
            if previous is not None:
                before = previous.get(key, _MISSING)
                if type(before) is type(value) and before == value:
                    snap[key] = before
                    continue
            snap[key] = clone(value)
        if isinstance(id, str):
            self._latest[id] = snap
        return snap
