"""Events (reference §5.1): ``GET /v1/events`` (30 days kept, newest first, filtered by
``type`` with a ``*`` wildcard, ``types`` or ``created``) and ``GET /v1/events/{id}``."""

from __future__ import annotations

from typing import Any

from sandbox.core import Request, State, invalid, not_found, range_bounds, register_index, route

Obj = dict[str, Any]
DAY = 86400
EVENT_RETENTION = 30 * DAY
register_index("event", "type")


@route("GET", "/v1/events")
def list_events(req: Request, state: State) -> Obj:
    oldest = state.now() - EVENT_RETENTION
    if req.has("type") and req.has("types"):
        raise invalid(
            "You may only specify one of these parameters: type, types.",
            param="types",
            code="parameters_exclusive",
        )
    # `type` takes one name or a `*` wildcard group; `types` exact names only (Stripe's API
    # reference for GET /v1/events), so a wildcard there is refused rather than matching nothing.
    patterns = [str(t) for t in req.list("types")] or (
        [req.str("type") or ""] if req.has("type") else []
    )
    if len(patterns) > 20:
        raise invalid("types can contain at most 20 values", param="types")
    for i, name in enumerate(req.list("types")):
        if "*" in str(name):
            raise invalid(
                f"Invalid types[{i}]: types takes exact event names ({name!r} has a wildcard); "
                "use type for a wildcard such as 'financial_connections.account.*'.",
                param=f"types[{i}]",
            )
    low, high = (
        range_bounds(req.params["created"], "created") if req.has("created") else (None, None)
    )
    where = None
    if patterns:  # the matching types, each a sorted run of the event index
        known = state.index_values("event", "type")
        where = {"type": frozenset(t for t in known if any(_type_matches(p, t) for p in patterns))}
    view = state.view("event", where=where, created=(max(oldest, low or oldest), high))
    return state.list_response(view, req, "/v1/events")


def _type_matches(pattern: str, type: str) -> bool:
    """Stripe lets ``type`` end in ``*``: ``financial_connections.account.*``."""
    if pattern.endswith("*"):
        return type.startswith(pattern[:-1])
    return type == pattern


@route("GET", "/v1/events/{id}")
def retrieve_event(req: Request, state: State) -> Obj:
    evt = state.get("event", req.path_args["id"])
    if evt["created"] < state.now() - EVENT_RETENTION:
        raise not_found("event", evt["id"])
    return evt
