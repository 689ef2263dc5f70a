"""Stripe's API for the pinned version, as data: ``stripe_spec.json`` and its lookups.

The file is generated from the pinned ``stripe`` SDK's own types by
``python -m sandbox.spec.generate`` (see that module for what is read and the presence rule);
``tests/contract/test_spec.py`` regenerates it and fails when it drifts. The sandbox reads only
this file at run time: :mod:`sandbox.spec.params` checks every ``/v1`` request against its
endpoint's parameter tree, :mod:`sandbox.spec.shapes` checks objects against the resource trees.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("stripe_spec.json")


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def endpoint_key(method: str, pattern: str) -> str:
    """The spec's key for a route: ``"POST /v1/setup_intents/{id}"`` (as the sandbox routes it)."""
    return f"{method.upper()} {pattern}"


def endpoint(method: str, pattern: str, *, served: bool = True) -> dict[str, Any] | None:
    """An endpoint the sandbox serves, or (``served=False``) one the product only previews."""
    section = "endpoints" if served else "preview_only_endpoints"
    found: dict[str, Any] | None = spec()[section].get(endpoint_key(method, pattern))
    return found


def resource(object_name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = spec()["resources"].get(object_name)
    return found


def deref(node: dict[str, Any]) -> dict[str, Any]:
    """A param node with a shared definition (``{"$ref": name}``) replaced by that definition."""
    ref = node.get("$ref")
    if ref is None:
        return node
    shared: dict[str, Any] = spec()["param_defs"][ref]
    return {**shared, **{k: v for k, v in node.items() if k != "$ref"}}


def api_version() -> str:
    """The API version the spec was generated for (the pinned SDK's)."""
    return str(spec()["api_version"])
