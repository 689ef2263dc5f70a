"""The sandbox's engine: the request pipeline and the in-memory Stripe state. It knows no
particular resource; route modules (``sandbox.api``) register handlers with :func:`route`.

| module | what |
|---|---|
| ``wire`` | bracketed form parameters and the parsed :class:`Request` |
| ``errors`` | :class:`StripeError` and its usual kinds (``not_found``, ``invalid``, ``missing`` …) |
| ``routes`` | the route registry: :func:`route`, :func:`match_route` |
| ``state`` | :class:`State` (objects, ids, events, private slots) and :class:`SandboxConfig` |
| ``indexes`` | indexes and :class:`View`: lists page sorted id arrays instead of scanning |
| ``lists``, ``expand`` | list/search envelopes; ``expand[]`` |
| ``clock`` | sandbox time and the jobs that run when it comes |
| ``idempotency``, ``faults`` | idempotency keys; fault injection and the rate limit |
| ``events``, ``event_types`` | event building and snapshots; every event type the sandbox emits |
| ``templates``, ``copies`` | Stripe's example objects; fast deep copies |
| ``pipeline`` | :func:`handle`: one request from auth to the JSON reply |

Stripe facts used here: ``../shared/docs/stripe-fc-reference.md`` §1 (wire conventions).
"""

from sandbox.core.clock import Clock
from sandbox.core.copies import clone
from sandbox.core.errors import (
    StripeError,
    api_error,
    invalid,
    missing,
    not_found,
    unexpected_state,
    unknown_param,
)
from sandbox.core.event_types import EVENT_TYPES
from sandbox.core.events import EVENT_LISTENERS
from sandbox.core.faults import FAULT_MODES
from sandbox.core.indexes import IdSet, View, register_index
from sandbox.core.pipeline import Response, handle
from sandbox.core.routes import ROUTES, Route, match_route, route
from sandbox.core.state import SandboxConfig, State
from sandbox.core.wire import (
    Request,
    canonical_params,
    parse_params,
    range_bounds,
    range_filter,
    to_int,
)
from sandbox.shared_facts import API_VERSION  # the one pinned version (also the gateway's)

__all__ = [
    "API_VERSION",
    "EVENT_LISTENERS",
    "EVENT_TYPES",
    "FAULT_MODES",
    "ROUTES",
    "Clock",
    "IdSet",
    "Request",
    "Response",
    "Route",
    "SandboxConfig",
    "State",
    "StripeError",
    "View",
    "api_error",
    "canonical_params",
    "clone",
    "handle",
    "invalid",
    "match_route",
    "missing",
    "not_found",
    "parse_params",
    "range_bounds",
    "range_filter",
    "register_index",
    "route",
    "to_int",
    "unexpected_state",
    "unknown_param",
]
