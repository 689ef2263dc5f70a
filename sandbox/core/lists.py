"""Stripe's list and search envelopes (reference §1.4): ``limit``, ``starting_after``,
``ending_before``; search pages with an opaque ``next_page`` token."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sandbox.core.errors import StripeError, invalid
from sandbox.core.indexes import View
from sandbox.core.wire import Request

if TYPE_CHECKING:
    from sandbox.core.state import State


def page_limit(req: Request) -> int:
    """``limit`` (default 10), or 400 when it is outside 1–100."""
    limit = req.int("limit", 10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid(
            "Invalid limit: must be between 1 and 100",
            param="limit",
            code="parameter_invalid_integer",
        )
    return limit


def list_response(
    state: State, items: Sequence[dict] | View, req: Request, url: str, *, presorted: bool
) -> dict:
    """The list envelope; ``items`` is a list (sorted here unless ``presorted``) or a
    :class:`View`, which is paged without materialising the selection."""
    limit = page_limit(req)
    after, before = req.str("starting_after"), req.str("ending_before")
    if after and before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
            code="parameters_exclusive",
        )
    if isinstance(items, View):
        page, has_more = _view_page(items, limit, after=after, before=before)
        return {"object": "list", "data": page, "has_more": has_more, "url": url}
    ordered = list(items) if presorted else state.sort_newest_first(items)
    if after:
        i = _index_of(ordered, after, "starting_after")
        rest = ordered[i + 1 :]
        page, has_more = rest[:limit], len(rest) > limit
    elif before:
        i = _index_of(ordered, before, "ending_before")
        head = ordered[:i]
        page, has_more = head[-limit:], len(head) > limit
    else:
        page, has_more = ordered[:limit], len(ordered) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def search_response(
    state: State, items: Sequence[dict], req: Request, url: str, *, presorted: bool
) -> dict:
    """The ``search_result`` envelope; ``page`` is an opaque token from ``next_page``."""
    limit = page_limit(req)
    ordered = list(items) if presorted else state.sort_newest_first(items)
    offset = 0
    token = req.str("page")
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
        except (ValueError, IndexError) as exc:
            raise invalid(f"Invalid page: {token}", param="page") from exc
    page = ordered[offset : offset + limit]
    has_more = offset + limit < len(ordered)
    next_page = (
        base64.urlsafe_b64encode(f"off:{offset + limit}".encode()).decode() if has_more else None
    )
    result = {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
    }
    if "total_count" in req.list("expand"):  # only on request (`expand[]=total_count`)
        result["total_count"] = len(ordered)
    return result


def _view_page(
    view: View, limit: int, *, after: str | None, before: str | None
) -> tuple[list[dict], bool]:
    """One page of a view, with the same answers as slicing the fully sorted list."""
    anchor, param = (after, "starting_after") if after else (before, "ending_before")
    if anchor and not view.contains(anchor):
        raise _no_such_object(anchor, param)
    if before:
        nearest = view.newer(limit + 1, than=before)
        return nearest[:limit][::-1], len(nearest) > limit
    found = view.older(limit + 1, than=after or None)
    return found[:limit], len(found) > limit


def _index_of(items: Sequence[dict], id: str, param: str) -> int:
    for i, item in enumerate(items):
        if item.get("id") == id:
            return i
    raise _no_such_object(id, param)


def _no_such_object(id: str, param: str) -> StripeError:
    return StripeError(400, f"No such object: '{id}'", code="resource_missing", param=param)
