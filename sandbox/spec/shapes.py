"""Check objects against the pinned version's resource types (``stripe_spec.json``).

An object passes when every field it carries is a field of its type (nothing sandbox-only),
every field Stripe always sends is there (the presence rule of :mod:`sandbox.spec.generate`),
nulls appear only where the type is ``Optional``, values have their JSON type and ``Literal``
enum, variant hashes (``payment_method.us_bank_account``) appear only for their own ``type``,
and expandable fields hold an id or the full object of the right type. ``event.data.object`` is
checked as the object it holds; list and search envelopes by Stripe's envelope rules.

:class:`Checker` counts the objects and fields it looked at, so a contract test can say how
much of a world it validated.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sandbox.spec import resource

_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_ENVELOPES: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    # name → field → (JSON type, required); reference §1.4
    "list": {"object": (str, True), "data": (list, True), "has_more": (bool, True), "url": (str, True)},
    "search_result": {
        "object": (str, True),
        "data": (list, True),
        "has_more": (bool, True),
        "next_page": ((str, type(None)), True),
        "url": (str, True),
        "total_count": (int, False),  # only with expand[]=total_count
    },
}


@dataclass
class Checker:
    """Validates objects and keeps counts; ``problems`` lists every departure with its path."""

    objects: int = 0
    fields: int = 0
    problems: list[str] = field(default_factory=list)
    types_seen: dict[str, int] = field(default_factory=dict)

    def check(self, obj: Any, path: str = "") -> list[str]:
        """Validate one top-level API answer (an object, a list or a search result)."""
        before = len(self.problems)
        self._any_object(obj, path or "$")
        return self.problems[before:]

    # ---- objects

    def _any_object(self, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            self.problems.append(f"{path}: expected an object, got {_kind(obj)}")
            return
        name = obj.get("object")
        if name in _ENVELOPES:
            self._envelope(obj, str(name), path)
        else:
            self._resource(obj, str(name), path)

    def _envelope(self, obj: dict, name: str, path: str) -> None:
        rules = _ENVELOPES[name]
        self.objects += 1
        self.types_seen[name] = self.types_seen.get(name, 0) + 1
        self._unknown(obj, rules, path, f"a {name}")
        for key, (kind, required) in rules.items():
            if not self._present(obj, key, f"{path}.{key}", needed=required):
                continue
            value = obj[key]
            if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
                self.problems.append(f"{path}.{key}: {_kind(value)}")
        for i, item in enumerate(obj.get("data") or []):
            self._any_object(item, f"{path}.data[{i}]")

    def _resource(self, obj: dict, name: str, path: str) -> None:
        spec = resource(name)
        if spec is None:
            self.problems.append(f"{path}: object type {name!r} is not in the spec")
            return
        self.objects += 1
        self.types_seen[name] = self.types_seen.get(name, 0) + 1
        if obj.get("deleted") is True:
            self._deleted(obj, spec, name, path)
            return
        self._fields(spec, obj, path, top=name)

    def _deleted(self, obj: dict, spec: dict, name: str, path: str) -> None:
        self.fields += len(obj)
        if not spec.get("deletable"):
            self.problems.append(f"{path}: {name} cannot be deleted")
        if set(obj) != {"id", "object", "deleted"}:
            self.problems.append(f"{path}: a deleted {name} is {{id, object, deleted}}, got {sorted(obj)}")

    def _fields(self, node: dict, obj: dict, path: str, top: str | None = None) -> None:
        fields: dict[str, dict] = node["fields"]
        self._unknown(obj, fields, path, "the pinned type")
        own_type = obj.get("type")
        for key, spec in fields.items():
            here = f"{path}.{key}"
            if spec.get("variant"):
                if key in obj and own_type != key:
                    self.problems.append(f"{here}: variant hash for type {own_type!r}")
                    continue
                needed = spec["required"] and own_type == key
            else:
                needed = spec["required"]
            if not self._present(obj, key, here, needed=needed):
                continue
            value = obj[key]
            if value is None:
                if not spec["nullable"]:
                    self.problems.append(f"{here}: null, but the type is not Optional")
                continue
            if top == "event" and key == "data":
                self._event_data(value, here)
                continue
            self._value(spec, value, here)

    def _event_data(self, data: Any, path: str) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
            self.problems.append(f"{path}.object: missing")
            return
        self._unknown(data, ("object", "previous_attributes"), path, "the pinned type")
        self._any_object(data["object"], f"{path}.object")
        previous = data.get("previous_attributes")
        if previous is not None and not isinstance(previous, dict):
            self.problems.append(f"{path}.previous_attributes: {_kind(previous)}")

    def _unknown(self, obj: dict, known: Collection[str], path: str, owner: str) -> None:
        """A problem for every key of ``obj`` that is not one of ``known`` (nothing sandbox-only)."""
        for key in obj:
            if key not in known:
                self.problems.append(f"{path}.{key}: not a field of {owner}")

    def _present(self, obj: dict, key: str, here: str, *, needed: bool) -> bool:
        """Whether ``obj`` carries ``key`` (counted as a checked field); missing and ``needed`` is a
        problem."""
        if key not in obj:
            if needed:
                self.problems.append(f"{here}: missing")
            return False
        self.fields += 1
        return True

    # ---- values

    def _value(self, node: dict, value: Any, path: str) -> None:
        if "anyOf" in node:
            for option in node["anyOf"]:
                trial = Checker()
                trial._value(option, value, path)
                if not trial.problems:
                    self.objects += trial.objects
                    return
            self.problems.append(f"{path}: {_kind(value)} matches none of its types")
            return
        kind = node.get("type")
        handler = getattr(self, f"_v_{kind}", None)
        if handler is None:
            self.problems.append(f"{path}: unsupported spec node {kind!r}")
            return
        handler(node, value, path)

    def _v_any(self, node: dict, value: Any, path: str) -> None:
        return None

    def _v_string(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.problems.append(f"{path}: {_kind(value)}, the type is string")
        elif "enum" in node and value not in node["enum"]:
            self.problems.append(f"{path}: {value!r} is not one of the type's values")

    def _v_boolean(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.problems.append(f"{path}: {_kind(value)}, the type is boolean")
        elif "enum" in node and value not in node["enum"]:
            self.problems.append(f"{path}: {value!r} is not one of the type's values")

    def _v_integer(self, node: dict, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{path}: {_kind(value)}, the type is integer")

    def _v_number(self, node: dict, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{path}: {_kind(value)}, the type is number")

    def _v_decimal(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
            self.problems.append(f"{path}: {value!r} is not a decimal string")

    def _v_map(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{path}: {_kind(value)}, the type is a map")
            return
        for key, item in value.items():
            self._value(node["values"], item, f"{path}[{key}]")

    def _v_array(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.problems.append(f"{path}: {_kind(value)}, the type is an array")
            return
        for i, item in enumerate(value):
            if item is None:
                self.problems.append(f"{path}[{i}]: null in an array")
            else:
                self._value(node["items"], item, f"{path}[{i}]")

    def _v_list(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, dict) or value.get("object") != "list":
            self.problems.append(f"{path}: expected a list envelope, got {_kind(value)}")
            return
        self._any_object(value, path)

    def _v_object(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{path}: {_kind(value)}, the type is an object")
            return
        self._fields(node, value, path)

    def _v_expandable(self, node: dict, value: Any, path: str) -> None:
        if isinstance(value, str):
            return
        if not isinstance(value, dict) or value.get("object") not in node["resources"]:
            self.problems.append(f"{path}: expected an id or one of {node['resources']}")
            return
        self._resource(value, str(value["object"]), path)

    def _v_resource(self, node: dict, value: Any, path: str) -> None:
        if not isinstance(value, dict) or value.get("object") != node["resource"]:
            self.problems.append(f"{path}: expected a {node['resource']} object")
            return
        self._resource(value, node["resource"], path)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def problems(obj: Any) -> list[str]:
    """Every way ``obj`` departs from its pinned type (empty when it conforms)."""
    return Checker().check(obj)
