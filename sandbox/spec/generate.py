"""Generate ``sandbox/spec/stripe_spec.json`` from the pinned ``stripe`` SDK's own types.

``python -m sandbox.spec.generate`` (``--check`` only compares) reads, at generation time:

- the service classes (``stripe/_setup_intent_service.py`` …): each method's HTTP method, path
  and params TypedDict, for every ``/v1`` route the sandbox serves;
- the params TypedDicts (``stripe/params/…``): names, nested keys, required keys, types,
  ``Literal`` enums, arrays, maps, ``Literal['']`` (the "unset" value);
- the resource classes (``stripe/_setup_intent.py`` …): annotated fields, ``Optional``,
  ``Literal`` enums, ``ExpandableField``, nested ``StripeObject`` classes, ``ListObject``;
- Stripe's example objects (``sandbox/stripe_templates.json``, a copy of
  ``../shared/stripe/fixtures-fc.json``) for which fields Stripe always sends.

The presence rule (the SDK marks a field ``Optional`` both when it may be null and when it may
be absent, so the types alone cannot say which): a field is *required* (always sent) when its
annotation is not ``Optional``, or when Stripe's example object carries it at that path;
otherwise it may be absent (null allowed when present). A field named after one of its
sibling ``type`` values (``payment_method.us_bank_account``, ``next_action.verify_with_…``) is a
*variant*: only sent when ``type`` equals its name, and then required if Stripe's example
carries its own variant there.
"""

from __future__ import annotations

import argparse
import ast
import decimal
import importlib
import inspect
import json
import pkgutil
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import stripe
import stripe._request_options as _request_options
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_context import StripeContext
from stripe._stripe_object import StripeObject, UntypedStripeObject
from stripe._stripe_service import StripeService

SPEC_PATH = Path(__file__).with_name("stripe_spec.json")
TEMPLATES_PATH = Path(__file__).resolve().parents[1] / "stripe_templates.json"

# Every object type the sandbox returns (list envelopes are checked by rule, see shapes.py).
RESOURCES: tuple[str, ...] = (
    "charge",
    "checkout.session",
    "customer",
    "dispute",
    "event",
    "financial_connections.account",
    "financial_connections.account_owner",
    "financial_connections.account_ownership",
    "financial_connections.session",
    "financial_connections.transaction",
    "mandate",
    "payment_intent",
    "payment_method",
    "setup_attempt",
    "setup_intent",
    "webhook_endpoint",
)
# Endpoints the product previews but the sandbox does not serve (the Flow configuration page shows
# Invoice and Subscription create calls); their params are checked against the spec in tests.
PREVIEW_ONLY: tuple[tuple[str, str], ...] = (("POST", "/v1/invoices"), ("POST", "/v1/subscriptions"))
_OPTION_KEYS = frozenset(_request_options.RequestOptions.__annotations__)
_NONE = type(None)
_REQUEST_RE = re.compile(r'self\._request\(\s*"(\w+)",\s*"(/v1/[^"]+)"')
_PARAMS_RE = re.compile(r'params:\s*(?:Optional\[)?"(\w+)"')


# --------------------------------------------------------------------------- type resolution


def _hints(cls: type, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The evaluated annotations of ``cls`` (TypedDict or StripeObject), own and inherited."""
    module = sys.modules[cls.__module__]
    # StripeObject too: `UntypedStripeObject[str]` (metadata) is evaluated in a module that
    # imports only UntypedStripeObject (webhook_endpoint)
    ns: dict[str, Any] = {
        **vars(_request_options),
        **vars(module),
        "StripeContext": StripeContext,
        "StripeObject": StripeObject,
    }
    ns.update(_type_checking_names(module))
    ns.update(extra or {})
    for klass in cls.__mro__:  # nested classes refer to their siblings by bare name
        ns.update({k: v for k, v in vars(klass).items() if isinstance(v, type)})
    return typing.get_type_hints(cls, globalns=ns, include_extras=True)


_TC_CACHE: dict[str, dict[str, Any]] = {}


def _type_checking_names(module: types.ModuleType) -> dict[str, Any]:
    """Names a module imports only under ``TYPE_CHECKING`` (resources refer to each other so)."""
    if module.__name__ in _TC_CACHE:
        return _TC_CACHE[module.__name__]
    names: dict[str, Any] = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stripe"):
            target = None
            for alias in node.names:
                try:
                    target = target or importlib.import_module(node.module)
                    names[alias.asname or alias.name] = getattr(target, alias.name)
                except (ImportError, AttributeError):
                    continue
    _TC_CACHE[module.__name__] = names
    return names


def _unwrap_required(tp: Any) -> tuple[Any, bool]:
    """(inner type, required) for a TypedDict value: ``NotRequired[X]`` → (X, False)."""
    origin = typing.get_origin(tp)
    if origin is typing.NotRequired:
        return typing.get_args(tp)[0], False
    if origin is typing.Required:
        return typing.get_args(tp)[0], True
    return tp, True


def _union_args(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return list(typing.get_args(tp))
    return [tp]


def _literals(args: list[Any]) -> list[Any]:
    values: list[Any] = []
    for arg in args:
        if typing.get_origin(arg) is typing.Literal:
            values += list(typing.get_args(arg))
    return values


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


_SCALARS: dict[Any, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    decimal.Decimal: "decimal",  # sent and answered as a decimal string ("12.5")
    Any: "any",
    object: "any",
}


def _scalar(tp: Any) -> dict | None:
    kind = _SCALARS.get(tp) if isinstance(tp, type) or tp is Any else None
    return None if kind is None else {"type": kind}


def _object_name(cls: Any) -> str | None:
    name = getattr(cls, "OBJECT_NAME", None)
    return name if isinstance(name, str) else None


# --------------------------------------------------------------------------- params


class ParamWalker:
    """Param TypedDicts → JSON nodes; object nodes shared by structure live in ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, dict] = {}
        self._by_shape: dict[str, str] = {}
        self._seen: dict[type, dict] = {}

    def root(self, cls: type) -> dict:
        return self._object(cls, top=True)

    def _object(self, cls: type, *, top: bool = False) -> dict:
        if cls in self._seen:
            return self._seen[cls]
        hints = _hints(cls)
        props: dict[str, dict] = {}
        required: list[str] = []
        for name in sorted(hints):
            if top and name in _OPTION_KEYS:
                continue
            inner, needed = _unwrap_required(hints[name])
            props[name] = self.node(inner)
            if needed and name in getattr(cls, "__required_keys__", ()):
                required.append(name)
        node: dict = {"type": "object", "properties": props}
        if required:
            node["required"] = required
        if not top and len(json.dumps(node)) > 400:
            node = self._share(cls.__name__, node)
        self._seen[cls] = node
        return node

    def _share(self, name: str, node: dict) -> dict:
        shape = json.dumps(node, sort_keys=True)
        ref = self._by_shape.get(shape)
        if ref is None:
            ref = self._by_shape[shape] = name
            self.defs[name] = node
        return {"$ref": ref}

    def node(self, tp: Any) -> dict:
        args = _union_args(tp)
        literals = _literals(args)
        rest = [a for a in args if typing.get_origin(a) is not typing.Literal and a is not _NONE]
        emptyable = "" in literals
        enum = [v for v in literals if v != ""]
        options: list[dict] = []
        if enum and all(isinstance(v, str) for v in enum):
            options.append({"type": "string", "enum": sorted(enum)})
            rest = [a for a in rest if a is not str]
        for arg in rest:
            options.append(self._single(arg))
        if not options:  # Literal[''] alone
            options.append({"type": "string", "enum": []})
        node = options[0] if len(options) == 1 else {"anyOf": _dedupe(options)}
        if emptyable:
            node = {**node, "emptyable": True}
        return node

    def _single(self, tp: Any) -> dict:
        origin = typing.get_origin(tp)
        scalar = _scalar(tp)
        if scalar is not None:
            return scalar
        if origin in (list, typing.List):  # noqa: UP006 - matching the SDK's spelling
            return {"type": "array", "items": self.node(typing.get_args(tp)[0])}
        if origin in (dict, typing.Dict) or (  # noqa: UP006
            isinstance(origin, type) and issubclass(origin, UntypedStripeObject)
        ):
            value = typing.get_args(tp)[-1] if typing.get_args(tp) else Any
            return {"type": "map", "values": self.node(value)}
        if _is_typeddict(tp):
            return self._object(tp)
        raise TypeError(f"unsupported param type {tp!r}")


def _dedupe(nodes: list[dict]) -> list[dict]:
    out: list[dict] = []
    for n in nodes:
        if n not in out:
            out.append(n)
    return out


# --------------------------------------------------------------------------- endpoints


def _service_classes() -> list[type]:
    found: list[type] = []
    for info in pkgutil.walk_packages(stripe.__path__, "stripe."):
        if not info.name.endswith("_service") or ".v2" in info.name:
            continue
        module = importlib.import_module(info.name)
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, StripeService) and c.__module__ == info.name
        ]
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def _normalise(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def sdk_endpoints() -> dict[tuple[str, str], tuple[str, type | None]]:
    """(METHOD, normalised path) → (``Service.method``, params TypedDict or None)."""
    endpoints: dict[tuple[str, str], tuple[str, type | None]] = {}
    for service in _service_classes():
        module = sys.modules[service.__module__]
        names = _type_checking_names(module)
        for attr, fn in sorted(vars(service).items()):
            if attr.endswith("_async") or not inspect.isfunction(fn):
                continue
            source = inspect.getsource(fn)
            found = _REQUEST_RE.search(source)
            if not found:
                continue
            params = _PARAMS_RE.search(source)
            cls = names.get(params.group(1)) if params else None
            key = (found.group(1).upper(), _normalise(found.group(2)))
            endpoints.setdefault(key, (f"{service.__name__}.{attr}", cls))
    return endpoints


def sandbox_routes() -> list[tuple[str, str]]:
    """Every ``/v1`` route the sandbox registers (hooks under ``/_sandbox`` are not Stripe's)."""
    import sandbox.api  # noqa: F401  (route modules register on import)
    from sandbox import core

    return sorted({(r.method, r.pattern) for r in core.ROUTES if r.pattern.startswith("/v1/")})


def endpoint_specs(
    walker: ParamWalker, routes: list[tuple[str, str]] | tuple[tuple[str, str], ...]
) -> dict[str, dict]:
    sdk = sdk_endpoints()
    out: dict[str, dict] = {}
    for method, pattern in routes:
        found = sdk.get((method, _normalise(pattern)))
        if found is None:
            raise SystemExit(f"{method} {pattern}: the pinned SDK has no such endpoint")
        sdk_name, cls = found
        params = walker.root(cls) if cls is not None else {"type": "object", "properties": {}}
        out[f"{method} {pattern}"] = {
            "sdk": sdk_name,
            "params_type": cls.__name__ if cls is not None else None,
            "params": params,
        }
    return out


# --------------------------------------------------------------------------- resources


def resource_class(object_name: str) -> type:
    module, name = OBJECT_CLASSES[object_name]
    cls: type = getattr(importlib.import_module(module), name)
    return cls


class ResourceWalker:
    """Resource classes → field trees with nullability, presence, enums and expandable marks."""

    def __init__(self, examples: dict[str, dict]) -> None:
        self.examples = examples

    def resource(self, object_name: str) -> dict:
        cls = resource_class(object_name)
        node = self._fields(cls, self.examples.get(object_name), top=True)
        hints = _hints(cls)
        if "deleted" in hints and _literals(_union_args(hints["deleted"])) == [True]:
            node["deletable"] = True
        return node

    def _fields(self, cls: type, example: Any, *, top: bool = False) -> dict:
        hints = {
            k: v
            for k, v in _hints(cls).items()
            if not k.startswith("_") and not k.isupper() and typing.get_origin(v) is not typing.ClassVar
        }
        example = example if isinstance(example, dict) else None
        own_variant = example.get("type") if example else None
        # variant names: the `type` enum, or (a free-form `type`) the example's own type value
        type_enum = self._type_enum(hints.get("type")) | {own_variant} & set(hints)
        fields: dict[str, dict] = {}
        for name in sorted(hints):
            args = _union_args(hints[name])
            nullable = _NONE in args
            inner = [a for a in args if a is not _NONE]
            tp = inner[0] if len(inner) == 1 else typing.Union[tuple(inner)]  # noqa: UP007
            child_example = example.get(name) if example else None
            field = self.node(tp, child_example)
            field["nullable"] = nullable
            if name in type_enum and name != "type":
                field["variant"] = True
                field["required"] = bool(example and own_variant in example and own_variant != "type")
            else:
                field["required"] = not nullable or bool(example is not None and name in example)
            fields[name] = field
        return {"type": "object", "fields": fields}

    @staticmethod
    def _type_enum(tp: Any) -> set[str]:
        if tp is None:
            return set()
        return {v for v in _literals(_union_args(tp)) if isinstance(v, str)}

    def node(self, tp: Any, example: Any = None) -> dict:
        args = [a for a in _union_args(tp) if a is not _NONE]
        literals = _literals(args)
        rest = [a for a in args if typing.get_origin(a) is not typing.Literal]
        if literals:
            kind = "boolean" if all(isinstance(v, bool) for v in literals) else "string"
            node: dict = {"type": kind, "enum": sorted(literals, key=str)}
            return node
        targets = [_object_name(a) for a in rest if a is not str]
        if str in rest and len(rest) > 1 and all(targets):
            # ExpandableField[X] is Union[str, X]: an id, or the object when expanded (§1.3)
            return {"type": "expandable", "resources": sorted(str(t) for t in targets)}
        if len(rest) > 1:
            return {"anyOf": _dedupe([self.node(a, example) for a in rest])}
        return self._single(rest[0], example)

    def _single(self, tp: Any, example: Any) -> dict:
        origin = typing.get_origin(tp)
        scalar = _scalar(tp)
        if scalar is not None:
            return scalar
        if origin in (list, typing.List):  # noqa: UP006
            item = example[0] if isinstance(example, list) and example else None
            return {"type": "array", "items": self.node(typing.get_args(tp)[0], item)}
        if isinstance(origin, type) and issubclass(origin, ListObject):
            data = example.get("data") if isinstance(example, dict) else None
            item = data[0] if isinstance(data, list) and data else None
            return {"type": "list", "items": self.node(typing.get_args(tp)[0], item)}
        if origin in (dict, typing.Dict) or (  # noqa: UP006
            isinstance(origin, type) and issubclass(origin, UntypedStripeObject)
        ):
            value = typing.get_args(tp)[-1] if typing.get_args(tp) else Any
            return {"type": "map", "values": self.node(value)}
        if isinstance(tp, type) and issubclass(tp, StripeObject):
            name = _object_name(tp)
            if name:  # another API resource embedded in full (never an id)
                return {"type": "resource", "resource": name}
            return self._fields(tp, example)
        raise TypeError(f"unsupported resource type {tp!r}")


# --------------------------------------------------------------------------- the spec


def build() -> dict:
    examples: dict[str, dict] = json.loads(TEMPLATES_PATH.read_text())["resources"]
    walker = ParamWalker()
    endpoints = endpoint_specs(walker, sandbox_routes())
    preview_only = endpoint_specs(walker, PREVIEW_ONLY)
    resources = {name: ResourceWalker(examples).resource(name) for name in RESOURCES}
    return {
        "_about": (
            "Generated by `python -m sandbox.spec.generate` from the pinned stripe SDK's types "
            "and Stripe's example objects; do not edit by hand (tests/contract/test_spec.py "
            "regenerates and compares)."
        ),
        "sdk_version": stripe.VERSION,
        "api_version": stripe.api_version,
        "endpoints": endpoints,
        "preview_only_endpoints": preview_only,
        "param_defs": dict(sorted(walker.defs.items())),
        "resources": resources,
    }


def render(spec: dict) -> str:
    return json.dumps(spec, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.spec.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        same = SPEC_PATH.exists() and SPEC_PATH.read_text() == text
        print("spec is current" if same else f"{SPEC_PATH} is out of date; regenerate it")
        return 0 if same else 1
    SPEC_PATH.write_text(text)
    print(f"wrote {SPEC_PATH} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
