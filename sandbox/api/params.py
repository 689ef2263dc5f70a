"""Reading request parameters the way every resource does (on top of ``Request``'s helpers).

``sandbox.spec`` has already checked every ``/v1`` request against the pinned SDK's types, so
these readers mostly pick values out; the checks here are the ones the types cannot express.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.core import invalid, range_bounds
from sandbox.shared_facts import METADATA_KEY_LENGTH, METADATA_MAX_KEYS, METADATA_VALUE_LENGTH

Obj = dict[str, Any]


def dig(params: Any, *keys: str) -> Any:
    """``params[a][b][c]`` or None when any level is missing or not a dict."""
    current = params
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def as_list(value: Any, *, param: str) -> list[str]:
    """A form array (indexed or ``[]``) as a list of strings; a scalar counts as one item."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):  # a[0]=x parsed as a dict by a lenient parser
        value = [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise invalid(f"Invalid array: {param}", param=param)


def one_of(value: Any, allowed: Iterable[str], *, param: str) -> str:
    """``value`` if it is one of ``allowed``, else 400 naming the choices."""
    options = tuple(allowed)
    if value not in options:
        raise invalid(f"Invalid {param}: must be one of {', '.join(options)}", param=param)
    return str(value)


def each_one_of(values: list[Any], allowed: Iterable[str], *, param: str) -> list[str]:
    """Every item of the array ``param`` checked with :func:`one_of`; duplicates dropped."""
    allowed = tuple(allowed)
    for i, value in enumerate(values):
        one_of(value, allowed, param=f"{param}[{i}]")
    return [str(v) for v in dict.fromkeys(values)]


def metadata_update(current: Obj, given: Any) -> Obj:
    """Stripe's metadata update: keys merge, ``""`` unsets a key, ``metadata=""`` clears all.

    Returns the new hash (``current`` is not changed), so a refused update changes nothing.
    """
    if given is None:
        return current
    if given == "":
        return {}
    if not isinstance(given, dict):
        raise invalid("Invalid metadata: must be a hash", param="metadata")
    merged = dict(current)
    for key, value in given.items():
        if len(key) > METADATA_KEY_LENGTH or "[" in key or "]" in key:
            raise invalid(f"Invalid metadata key: {key}", param=f"metadata[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)[:METADATA_VALUE_LENGTH]
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid(f"Metadata can have at most {METADATA_MAX_KEYS} keys.", param="metadata")
    return merged


def created_bounds(value: Any, *, param: str = "created") -> tuple[int | None, int | None]:
    """``created=123`` or ``created[gte]=...`` as ``[low, high)`` (open when absent)."""
    if value is None or value == "":
        return None, None
    return range_bounds(value, param)


def where(**values: Any) -> dict[str, Any] | None:
    """Index filters for ``state.view`` from optional params (None = not filtered)."""
    found = {k: v for k, v in values.items() if v is not None}
    return found or None
