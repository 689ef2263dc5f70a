"""The route registry: handlers register ``METHOD /path/{id}`` patterns with :func:`route`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.core.state import State
    from sandbox.core.wire import Request

Handler = Callable[["Request", "State"], dict]


@dataclass
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    params: frozenset[str] | None  # accepted top-level params; None = anything

    @property
    def is_hook(self) -> bool:
        return self.pattern.startswith("/_sandbox/")


ROUTES: list[Route] = []


def route(
    method: str, pattern: str, *, params: Iterable[str] | None = None
) -> Callable[[Handler], Handler]:
    """Register ``handler(req, state) -> dict`` for ``METHOD /v1/things/{id}``.

    ``/v1`` requests are checked against the endpoint's parameter type from the pinned SDK
    (``sandbox.spec``), so ``/v1`` routes take no ``params``. Patterns under ``/_sandbox/`` are
    simulation hooks (no auth, faults or idempotency); their ``params`` list the top-level
    parameters they accept (``expand`` always; anything else → 400 ``parameter_unknown``;
    ``None`` accepts everything).
    """
    if pattern.startswith("/v1/") and params is not None:
        raise ValueError(f"{method} {pattern}: /v1 parameters come from sandbox.spec, not params=")

    def decorate(handler: Handler) -> Handler:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        accepted = None if params is None else frozenset(params) | {"expand"}
        ROUTES[:] = [r for r in ROUTES if not (r.method == method and r.pattern == pattern)]
        ROUTES.append(Route(method.upper(), pattern, regex, handler, accepted))
        return handler

    return decorate


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request; literal segments win over ``{id}`` ones."""
    found: list[tuple[int, Route, dict[str, str]]] = []
    for r in ROUTES:
        if r.method != method:
            continue
        m = r.regex.match(path)
        if m:
            found.append((r.pattern.count("{"), r, m.groupdict()))
    if not found:
        return None
    found.sort(key=lambda t: t[0])
    return found[0][1], found[0][2]
