"""``expand[]`` (reference §1.3): ids replaced by their objects, at most four levels deep, and
only where the pinned types mark the field expandable (``ExpandableField``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sandbox import spec as api_spec
from sandbox.core.copies import clone
from sandbox.core.errors import invalid

MAX_EXPAND_DEPTH = 4
Lookup = Callable[[str], dict | None]


def expand(lookup: Lookup, body: dict, paths: Sequence[str]) -> dict:
    """Return a copy of ``body`` with each dotted path's id replaced by its object."""
    result = clone(body)
    for path in paths:
        parts = [p for p in str(path).split(".") if p]
        depth = (
            len([p for p in parts if p != "data"]) if result.get("object") == "list" else len(parts)
        )
        if not parts or depth > MAX_EXPAND_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                f"Property: {path}",
                param="expand",
            )
        _expand_path(lookup, result, parts, str(path))
    return result


def _expand_path(
    lookup: Lookup, node: Any, parts: list[str], path: str, shape: dict | None = None
) -> None:
    """Expand ``parts`` under ``node``; ``shape`` is the node's type in the API spec (None:
    read it from the node's ``object``). Anything not expandable is a 400 as on Stripe."""
    if isinstance(node, list):
        for item in node:
            _expand_path(lookup, item, parts, path, shape)
        return
    if not isinstance(node, dict):
        return
    key, rest = parts[0], parts[1:]
    kind = node.get("object")
    if shape is None and kind in ("list", "search_result"):
        if key != "data" or not rest:
            raise _not_expandable(path)
        _expand_path(lookup, node["data"], rest, path)
        return
    if shape is None:
        shape = api_spec.resource(str(kind)) if kind else None
    field_shape = (shape or {}).get("fields", {}).get(key)
    expandable = (field_shape or {}).get("type") == "expandable"
    if key not in node or field_shape is None or (not rest and not expandable):
        raise _not_expandable(path)
    value = node[key]
    if isinstance(value, str) and expandable:
        target = lookup(value)
        if target is None:
            raise _not_expandable(path)
        node[key] = value = clone(target)
    if rest and value is not None:
        _expand_path(lookup, value, rest, path, None if expandable else _inner(field_shape))


def _not_expandable(path: str) -> Exception:
    return invalid(f"This property cannot be expanded ({path}).", param="expand")


def _inner(shape: dict) -> dict | None:
    """The object type inside a field's spec (an object, or the items of an array/list)."""
    while shape.get("type") in ("array", "list"):
        shape = shape["items"]
    return shape if shape.get("type") == "object" else None
