"""Setup attempts (reference §2.5): one per confirmation of a SetupIntent, listed by intent."""

from __future__ import annotations

from typing import Any

from sandbox.api.params import created_bounds
from sandbox.core import Request, State, missing, register_index, route

Obj = dict[str, Any]
register_index("setup_attempt", "setup_intent")


@route("GET", "/v1/setup_attempts")
def list_setup_attempts(req: Request, state: State) -> Obj:
    si = req.str("setup_intent")
    if not si:
        raise missing("setup_intent")
    created = created_bounds(req.params.get("created"))
    view = state.view("setup_attempt", where={"setup_intent": si}, created=created)
    return state.list_response(view, req, "/v1/setup_attempts")
