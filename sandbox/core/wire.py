"""The wire format (reference §1.2): bracketed form parameters, and the parsed :class:`Request`
handlers read them from with typed helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from sandbox.core.errors import invalid, missing, unknown_param


def parse_params(query: str) -> dict[str, Any]:
    """Parse a query string / form body with Stripe's bracket nesting (§1.2).

    ``a[b][0]=x&a[b][1]=y`` and ``a[b][]=x&a[b][]=y`` both give ``{"a": {"b": ["x", "y"]}}``;
    indexed arrays are ordered by index, not by arrival.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        _insert(root, _split_key(key), value, key)
    return _listify(root)


def _split_key(key: str) -> list[str]:
    head, sep, rest = key.partition("[")
    parts = [head]
    if sep:
        parts += re.findall(r"\[([^\]]*)\]", "[" + rest)
    return parts


def _insert(node: dict[str, Any], parts: list[str], value: str, raw: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":  # `a[]=x`: append at the next free index
            part = str(sum(1 for k in node if k.isdigit()))
        if last:
            if isinstance(node.get(part), dict):
                raise invalid(f"Invalid parameter: {raw}", param=parts[0])
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid(f"Invalid parameter: {raw}", param=parts[0])
        node = child


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def canonical_params(params: dict[str, Any]) -> str:
    """A stable string of the params, to compare idempotent requests."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


# Request's helper methods are named str/int/bool/list/dict (the documented API), which shadows
# the builtins inside the class body for type checkers; these aliases keep annotations honest.
_Str: TypeAlias = str
_Int: TypeAlias = int
_Bool: TypeAlias = bool
_List: TypeAlias = list
_Dict: TypeAlias = dict


@dataclass
class Request:
    """One API call, already parsed; handlers read params through the typed helpers."""

    method: _Str
    path: _Str
    params: _Dict[_Str, Any] = field(default_factory=dict)
    path_args: _Dict[_Str, _Str] = field(default_factory=dict)
    headers: _Dict[_Str, _Str] = field(default_factory=dict)
    request_id: _Str = ""
    idempotency_key: _Str | None = None
    api_key: _Str | None = None

    def has(self, name: _Str) -> _Bool:
        return name in self.params

    def str(self, name: _Str, default: _Str | None = None) -> _Str | None:
        value = self.params.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {name}", param=name)
        return value

    def int(self, name: _Str, default: _Int | None = None) -> _Int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        return to_int(value, name)

    def bool(self, name: _Str, default: _Bool = False) -> _Bool:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if value in ("true", "false"):
            return value == "true"
        raise invalid(f"Invalid boolean: {value}", param=name, code="parameter_invalid_boolean")

    def list(self, name: _Str) -> _List:
        value = self.params.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [value]
        raise invalid(f"Invalid array: {name}", param=name)

    def dict(self, name: _Str) -> _Dict[_Str, Any]:
        value = self.params.get(name)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid hash: {name}", param=name)
        return value

    def require(self, name: _Str) -> Any:
        """The value of a required param, or 400 ``parameter_missing``."""
        value = self.params.get(name)
        if value is None or value == "" or value == [] or value == {}:
            raise missing(name)
        return value


def to_int(value: Any, param: str) -> int:
    """Parse a decimal string as Stripe does, or 400 ``parameter_invalid_integer``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise invalid(f"Invalid integer: {value}", param=param, code="parameter_invalid_integer")


def range_bounds(value: Any, param: str) -> tuple[int | None, int | None]:
    """A ``created``-style filter as ``[low, high)`` bounds (either may be None = open): a bare
    int (equality) or ``{gt,gte,lt,lte}``. Bounds let an indexed list jump straight to the
    matching slice instead of testing every object."""
    if not isinstance(value, dict):
        exact = to_int(value, param)
        return exact, exact + 1
    bounds = {op: to_int(v, f"{param}[{op}]") for op, v in value.items()}
    unknown = set(bounds) - {"gt", "gte", "lt", "lte"}
    if unknown:
        raise unknown_param(f"{param}[{sorted(unknown)[0]}]")
    lows = [bounds["gte"]] if "gte" in bounds else []
    lows += [bounds["gt"] + 1] if "gt" in bounds else []
    highs = [bounds["lt"]] if "lt" in bounds else []
    highs += [bounds["lte"] + 1] if "lte" in bounds else []
    return (max(lows) if lows else None), (min(highs) if highs else None)


def range_filter(value: Any, param: str) -> Callable[[int], bool]:
    """The same filter as :func:`range_bounds`, as a predicate on a timestamp."""
    low, high = range_bounds(value, param)
    return lambda ts: (low is None or ts >= low) and (high is None or ts < high)
