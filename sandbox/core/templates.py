"""Stripe's own example objects (``sandbox/stripe_templates.json``, from stripe/openapi, MIT):
every object the sandbox builds starts as a copy of Stripe's example of its type."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.core.copies import clone

if TYPE_CHECKING:
    from sandbox.core.state import State

TEMPLATES_PATH = Path(__file__).resolve().parents[1] / "stripe_templates.json"


@functools.cache
def examples() -> dict[str, dict]:
    """Stripe's example objects by type, as loaded (shared: never change them; copy them)."""
    resources: dict[str, dict] = json.loads(TEMPLATES_PATH.read_text())["resources"]
    return resources


def template(object_name: str) -> dict:
    """A fresh deep copy of Stripe's example object for ``object_name``."""
    return clone(examples()[object_name])


def build(state: State, object_name: str, prefix: str, base: dict, fields: dict[str, Any]) -> dict:
    """Stripe's example of ``object_name`` with ``base`` (the sandbox's defaults) and then
    ``fields`` (the caller's overrides) on top, a fresh ``prefix`` id and ``created`` now."""
    # Same result as ``template(object_name)`` updated with ``base`` (keys in template order,
    # new keys after), but only the template values that survive are copied.
    obj = {k: base[k] if k in base else clone(v) for k, v in examples()[object_name].items()}
    for k, v in base.items():
        if k not in obj:
            obj[k] = v
    obj["id"] = fields.pop("id", None) or state.new_id(prefix)
    obj["object"] = object_name
    if "livemode" in obj:
        obj["livemode"] = False
    if "created" in obj:
        obj["created"] = state.now()
    obj.update(fields)
    return obj
