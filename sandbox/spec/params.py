"""Check a ``/v1`` request's parameters against its endpoint's type, the way Stripe refuses them.

Every parameter is walked against the tree generated from the pinned SDK's params TypedDict
(``stripe_spec.json``): unknown names at any depth, wrong scalar types, values outside a
``Literal`` enum, missing required keys, and ``""`` where the type has no ``Literal['']``.
Parameters this API version removed get Stripe's own code where Stripe documents one
(:data:`REMOVED`). The first problem found is the answer, with ``param`` set to its bracketed
path (``payment_method_options[us_bank_account][foo]``), as Stripe reports it.

Form values arrive as strings (the SDK encodes numbers and booleans as text); arrays arrive as
lists, hashes as dicts (``sandbox.core.parse_params``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.shared_facts import (
    MAX_STRING_LENGTH,
    METADATA_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_LENGTH,
    length_limit,
)
from sandbox.spec import deref, endpoint

_INT = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Refusal:
    """Why Stripe would answer 400: ``code``, a Stripe-worded ``message`` and the ``param``."""

    code: str
    message: str
    param: str | None


# Removed by this API version, with the code Stripe documents for them (reference §9; Stripe
# changelog endive 2026-09-30 "Removes the payment method types parameter from Payment Intents
# and Setup Intents" and "... from Checkout Sessions"). Absent from the SDK's types, so without
# this table they would be plain `parameter_unknown`. The FC Session `filters[countries]` →
# `filters[country]` rename has no documented code ("results in an error"): parameter_unknown.
_PMT = (
    "payment_method_types_no_longer_supported",
    "The `payment_method_types` parameter is no longer supported in this API version "
    "(2026-09-30.endive and later). Use `allowed_payment_method_types` to restrict the "
    "payment methods offered, or omit it to use dynamic payment methods.",
)
REMOVED: dict[str, dict[str, tuple[str, str]]] = {
    key: {"payment_method_types": _PMT}
    for key in (
        "POST /v1/setup_intents",
        "POST /v1/setup_intents/{id}",
        "POST /v1/payment_intents",
        "POST /v1/payment_intents/{id}",
        "POST /v1/payment_intents/{id}/confirm",
        "POST /v1/checkout/sessions",
    )
}


def check_request(
    method: str, pattern: str, params: dict[str, Any], *, served: bool = True
) -> Refusal | None:
    """The refusal for these params on ``METHOD pattern``, or None when Stripe accepts them.

    ``params`` as parsed from the form (strings, lists, dicts); ``served=False`` checks an
    endpoint the sandbox does not serve but the product previews (invoices, subscriptions).
    """
    spec = endpoint(method, pattern, served=served)
    if spec is None:
        return Refusal(
            "parameter_unknown", f"{method} {pattern} is not in the sandbox's API spec.", None
        )
    removed = REMOVED.get(f"{method} {pattern}", {})
    for name in params:
        if name in removed:
            code, message = removed[name]
            return Refusal(code, message, name)
    return check(deref(spec["params"]), params, "") or _check_lengths(pattern, params)


def _check_lengths(pattern: str, params: dict[str, Any]) -> Refusal | None:
    """Stripe's per-field length limits (``services.rules.stripe_api.LENGTH_LIMITS``)."""
    for name, value in params.items():
        if isinstance(value, str) and len(value) > (limit := length_limit(pattern, name)):
            return _too_long(name, limit)
    return None


def _too_long(path: str, limit: int) -> Refusal:
    return Refusal("parameter_invalid", f"Invalid {path}: must be at most {limit} characters", path)


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if path else str(key)


def _empty(path: str) -> Refusal:
    return Refusal(
        "parameter_invalid_empty",
        f"You passed an empty string for '{path}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{path}' cannot be unset. You should remove '{path}' from "
        "your request or supply a non-empty value.",
        path,
    )


def check(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    """Check one value against one node of the tree (recursively)."""
    node = deref(node)
    if value == "" and path:
        return None if node.get("emptyable") else _empty(path)
    if "anyOf" in node:
        return _check_any(node["anyOf"], value, path)
    kind = node.get("type")
    checker = _CHECKERS.get(str(kind))
    return checker(node, value, path) if checker else None


def _check_any(options: list[dict[str, Any]], value: Any, path: str) -> Refusal | None:
    """Accepted when one option accepts; else the refusal of the option shaped like the value."""
    refusals: list[tuple[bool, Refusal]] = []
    for option in options:
        refusal = check(option, value, path)
        if refusal is None:
            return None
        refusals.append((_shape_of(deref(option)) == _shape_of_value(value), refusal))
    matching = [r for same, r in refusals if same]
    return (matching or [r for _, r in refusals])[0]


def _shape_of(node: dict[str, Any]) -> str:
    kind = node.get("type")
    return {"object": "dict", "map": "dict", "array": "list"}.get(str(kind), "str")


def _shape_of_value(value: Any) -> str:
    return "dict" if isinstance(value, dict) else "list" if isinstance(value, list) else "str"


def _check_object(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if not isinstance(value, dict):
        return Refusal("parameter_invalid", f"Invalid hash: {path or 'params'}", path or None)
    props: dict[str, Any] = node.get("properties", {})
    for key, item in value.items():
        here = _join(path, key)
        if key not in props:
            return Refusal("parameter_unknown", f"Received unknown parameter: {here}", here)
        refusal = check(props[key], item, here)
        if refusal is not None:
            return refusal
    for key in node.get("required", ()):
        if value.get(key) in (None, [], {}):
            here = _join(path, key)
            return Refusal("parameter_missing", f"Missing required param: {here}.", here)
    return None


def _check_map(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if not isinstance(value, dict):
        return Refusal("parameter_invalid", f"Invalid hash: {path}", path)
    if path == "metadata" or path.endswith("[metadata]"):
        refusal = _check_metadata(value, path)
        if refusal is not None:
            return refusal
    for key, item in value.items():
        if item == "":  # a map entry set to "" removes that key (metadata[k]="")
            continue
        refusal = check(node.get("values", {"type": "any"}), item, _join(path, key))
        if refusal is not None:
            return refusal
    return None


def _check_metadata(value: dict[str, Any], path: str) -> Refusal | None:
    """Reference §2.9: at most 50 keys, keys up to 40 characters, values up to 500."""
    if len(value) > METADATA_MAX_KEYS:
        return Refusal(
            "parameter_invalid", f"Metadata can have at most {METADATA_MAX_KEYS} keys.", path
        )
    for key, item in value.items():
        here = _join(path, key)
        if len(key) > METADATA_KEY_LENGTH:
            return Refusal(
                "parameter_invalid",
                f"Metadata keys can have at most {METADATA_KEY_LENGTH} characters ({here}).",
                here,
            )
        if isinstance(item, str) and len(item) > METADATA_VALUE_LENGTH:
            return Refusal(
                "parameter_invalid",
                f"Metadata values can have at most {METADATA_VALUE_LENGTH} characters; "
                f"{here} has {len(item)}.",
                here,
            )
    return None


def _check_array(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if not isinstance(value, list):
        return Refusal("parameter_invalid", f"Invalid array: {path}", path)
    for i, item in enumerate(value):
        refusal = check(node.get("items", {"type": "any"}), item, _join(path, i))
        if refusal is not None:
            return refusal
    return None


def _scalar(value: Any, path: str, what: str, code: str = "parameter_invalid") -> Refusal | None:
    if isinstance(value, str):
        return None
    shown = "a hash" if isinstance(value, dict) else "an array"
    return Refusal(code, f"Invalid {what}: {path} was given as {shown}.", path)


def _check_string(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    refusal = _scalar(value, path, "string")
    if refusal is not None:
        return refusal
    enum = node.get("enum")
    if enum is not None and value not in enum:
        return Refusal(
            "parameter_invalid", f"Invalid {path}: must be one of {', '.join(enum)}", path
        )
    if len(value) > MAX_STRING_LENGTH:
        return _too_long(path, MAX_STRING_LENGTH)
    return None


def _check_integer(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if not isinstance(value, str) or not _INT.fullmatch(value.strip()):
        return Refusal("parameter_invalid_integer", f"Invalid integer: {value}", path)
    return None


def _check_number(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if not isinstance(value, str) or not _NUMBER.fullmatch(value.strip()):
        return Refusal("parameter_invalid", f"Invalid decimal: {value}", path)
    return None


def _check_boolean(node: dict[str, Any], value: Any, path: str) -> Refusal | None:
    if value not in ("true", "false"):
        return Refusal("parameter_invalid_boolean", f"Invalid boolean: {value}", path)
    return None


_CHECKERS = {
    "object": _check_object,
    "map": _check_map,
    "array": _check_array,
    "string": _check_string,
    "integer": _check_integer,
    "number": _check_number,
    "decimal": _check_number,
    "boolean": _check_boolean,
}
