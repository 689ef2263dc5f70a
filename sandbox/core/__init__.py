"""The sandbox's engine: requests, errors, the route registry and the in-memory Stripe state.

Everything here is transport-agnostic: ``sandbox.server`` turns HTTP into a :class:`Request`
and calls :func:`handle`; route modules (``sandbox.fc``, ``sandbox.payments``) register
handlers with :func:`route`. Keeping the HTTP layer thin lets the whole request pipeline
(auth, faults, idempotency, expansion) be the same for every route, like Stripe's.

Stripe facts used here: ``../shared/docs/stripe-fc-reference.md`` §1 (wire conventions).
"""

from __future__ import annotations

import base64
import copy
import heapq
import itertools
import json
import random
import re
import string
import threading
import time
import traceback
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from sandbox import spec as api_spec
from sandbox.core.event_types import EVENT_TYPES
from sandbox.spec import shapes
from sandbox.spec.params import check_request
from services.stripe_api import API_VERSION  # the one pinned version (also the gateway's)

IDEMPOTENCY_TTL = 24 * 60 * 60
MAX_EXPAND_DEPTH = 4
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before"})
_ALNUM = string.ascii_letters + string.digits

# Handler-raised errors with these codes are parameter validation: Stripe does not save them
# under an idempotency key (§1.6), so a corrected retry with the same key can still run.
_VALIDATION_CODES = frozenset(
    {
        "parameter_missing",
        "parameter_unknown",
        "parameter_invalid_empty",
        "parameter_invalid_integer",
        "parameter_invalid_boolean",
        "parameter_invalid_string_empty",
        "parameter_invalid",
        "parameters_exclusive",
    }
)


# --------------------------------------------------------------------------- errors


class StripeError(Exception):
    """An error answered with Stripe's envelope (§1.5); raise it from any handler."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict:
        """The JSON body: ``{"error": {...}}`` with ``doc_url`` when a code is set."""
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://docs.stripe.com/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


def not_found(object_name: str, id: str, *, param: str = "id") -> StripeError:
    """404 ``resource_missing`` worded like Stripe: ``No such setup_intent: 'seti_x'``."""
    return StripeError(404, f"No such {object_name}: '{id}'", code="resource_missing", param=param)


def invalid(
    message: str, *, param: str | None = None, code: str = "parameter_invalid"
) -> StripeError:
    """400 for a parameter that is present but wrong."""
    return StripeError(400, message, code=code, param=param)


def missing(param: str) -> StripeError:
    """400 ``parameter_missing`` for a required parameter."""
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def unknown_param(param: str) -> StripeError:
    """400 ``parameter_unknown``: Stripe rejects parameters an endpoint does not take."""
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def unexpected_state(object_name: str, message: str) -> StripeError:
    """400 ``<object>_unexpected_state`` (e.g. confirming a canceled SetupIntent)."""
    return StripeError(400, message, code=f"{object_name}_unexpected_state")


def api_error(message: str = "An unknown error occurred") -> StripeError:
    """500 ``api_error``: Stripe-side failure. Stripe sends ``Stripe-Should-Retry: false`` on
    most 500s (its idempotency layer saved the answer, so a same-key retry would replay it)."""
    return StripeError(500, message, type="api_error", headers={"Stripe-Should-Retry": "false"})


# --------------------------------------------------------------------------- params


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


# --------------------------------------------------------------------------- requests


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


def range_filter(value: Any, param: str) -> Callable[[int], bool]:
    """A predicate for ``created``-style filters: a bare int (equality) or ``{gt,gte,lt,lte}``."""
    if isinstance(value, dict):
        bounds = {op: to_int(v, f"{param}[{op}]") for op, v in value.items()}
        unknown = set(bounds) - {"gt", "gte", "lt", "lte"}
        if unknown:
            raise unknown_param(f"{param}[{sorted(unknown)[0]}]")
        return lambda ts: (
            ("gt" not in bounds or ts > bounds["gt"])
            and ("gte" not in bounds or ts >= bounds["gte"])
            and ("lt" not in bounds or ts < bounds["lt"])
            and ("lte" not in bounds or ts <= bounds["lte"])
        )
    exact = to_int(value, param)
    return lambda ts: ts == exact


def range_bounds(value: Any, param: str) -> tuple[int | None, int | None]:
    """A ``created``-style filter as ``[low, high)`` bounds (either may be None = open).

    The same parameters and errors as :func:`range_filter`; bounds let an indexed list jump
    straight to the matching slice instead of testing every object.
    """
    if isinstance(value, dict):
        bounds = {op: to_int(v, f"{param}[{op}]") for op, v in value.items()}
        unknown = set(bounds) - {"gt", "gte", "lt", "lte"}
        if unknown:
            raise unknown_param(f"{param}[{sorted(unknown)[0]}]")
        lows = [bounds["gte"]] if "gte" in bounds else []
        lows += [bounds["gt"] + 1] if "gt" in bounds else []
        highs = [bounds["lt"]] if "lt" in bounds else []
        highs += [bounds["lte"] + 1] if "lte" in bounds else []
        return (max(lows) if lows else None), (min(highs) if highs else None)
    exact = to_int(value, param)
    return exact, exact + 1


# --------------------------------------------------------------------------- copies

_ATOMIC = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), about 5x faster than deepcopy.

    Event snapshots, builder templates and expansions are copied hundreds of thousands of
    times while a big world is seeded; ``copy.deepcopy``'s memo bookkeeping dominated start-up.
    Sub-objects that appear twice are copied twice (nothing here relies on aliasing); anything
    that is not a dict, list or scalar falls back to ``copy.deepcopy``.
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMIC else clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMIC else clone(v) for v in value]
    if kind in _ATOMIC:
        return value
    return copy.deepcopy(value)


# --------------------------------------------------------------------------- events

# Called with (state, event) after every event is stored (sandbox.search indexes from here).
EVENT_LISTENERS: list[Callable[[State, dict], None]] = []


# --------------------------------------------------------------------------- routes

Handler = Callable[[Request, "State"], dict]


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


# --------------------------------------------------------------------------- indexes

# Lists are ordered by (created, insertion order); both fit one int so sorting and bisecting
# compare plain ints. Insertion order is a counter far below 2**40.
_ORDER_SPAN = 1 << 40
_FAR_PAST, _FAR_FUTURE = -(1 << 100), 1 << 100  # open bounds, beyond any sort key
_UNINDEXABLE = object()  # an index value that is not hashable (never matches a query)
_MISSING = object()

# object type → index name → dotted path of the field; registered by route modules at import.
INDEXES: dict[str, dict[str, tuple[str, ...]]] = {}


def register_index(object_name: str, name: str, path: str | None = None) -> None:
    """Index ``object_name`` by the field at dotted ``path`` (default: ``name``).

    ``State.view(object_name, where={name: value})`` then reads only the matching ids. Indexes
    are built on first use and kept current by ``State.add``/``remove``/``emit``/``reindex``
    (and for the object a handler returns), so code that changes an indexed field in place and
    neither emits an event nor returns the object must call ``state.reindex(obj)``.
    """
    INDEXES.setdefault(object_name, {})[name] = tuple((path or name).split("."))


def sort_key(created: Any, order: int) -> int:
    """The newest-first sort key of :meth:`State.sort_newest_first` as one int."""
    return int(created or 0) * _ORDER_SPAN + order


class IdSet:
    """Ids kept sorted by sort key (ascending); additions are merged on the next read.

    Buffering additions keeps bulk loading O(n log n) (one sort) while a live sandbox, whose
    new objects are the newest, appends at the end.
    """

    __slots__ = ("keys", "ids", "pending")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.ids: list[str] = []
        self.pending: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.keys) + len(self.pending)

    def add(self, id: str, key: int) -> None:
        self.pending[id] = key

    def discard(self, id: str, key: int) -> None:
        if self.pending.pop(id, None) is not None:
            return
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.ids[i] == id:
            del self.keys[i]
            del self.ids[i]

    def settle(self) -> None:
        """Merge buffered additions into the sorted arrays."""
        if not self.pending:
            return
        fresh = sorted((k, i) for i, k in self.pending.items())
        if not self.keys or fresh[0][0] > self.keys[-1]:  # the usual case: newer than all
            self.keys.extend(k for k, _ in fresh)
            self.ids.extend(i for _, i in fresh)
        elif len(fresh) > 64:  # bulk: one merge (Timsort finds the two sorted runs)
            pairs = sorted([*zip(self.keys, self.ids, strict=True), *fresh])
            self.keys = [k for k, _ in pairs]
            self.ids = [i for _, i in pairs]
        else:
            for key, id in fresh:
                i = bisect_left(self.keys, key)
                self.keys.insert(i, key)
                self.ids.insert(i, id)
        self.pending.clear()

    def has(self, id: str, key: int) -> bool:
        self.settle()
        i = bisect_left(self.keys, key)
        return i < len(self.keys) and self.ids[i] == id

    def descending(self, low: int, below: int) -> Iterator[tuple[int, str]]:
        """(key, id) with ``low <= key < below``, newest first."""
        self.settle()
        lo, hi = bisect_left(self.keys, low), bisect_left(self.keys, below)
        keys, ids = self.keys, self.ids
        return ((keys[i], ids[i]) for i in range(hi - 1, lo - 1, -1))

    def ascending(self, above: int, high: int) -> Iterator[tuple[int, str]]:
        """(key, id) with ``above < key < high``, oldest first."""
        self.settle()
        lo, hi = bisect_left(self.keys, above + 1), bisect_left(self.keys, high)
        keys, ids = self.keys, self.ids
        return ((keys[i], ids[i]) for i in range(lo, hi))


@dataclass
class _Index:
    path: tuple[str, ...]
    buckets: dict[Any, IdSet] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # id → the value it is filed under

    def read(self, obj: dict) -> Any:
        value: Any = obj
        for part in self.path:
            value = value.get(part) if isinstance(value, dict) else None
        try:
            hash(value)
        except TypeError:
            return _UNINDEXABLE
        return value

    def file(self, id: str, value: Any, key: int) -> None:
        self.values[id] = value
        bucket = self.buckets.get(value)
        if bucket is None:
            bucket = self.buckets[value] = IdSet()
        bucket.add(id, key)

    def unfile(self, id: str, key: int) -> None:
        value = self.values.pop(id, _UNINDEXABLE)
        bucket = self.buckets.get(value)
        if bucket is not None:
            bucket.discard(id, key)


class View:
    """Stored objects of one type, newest first, read a page at a time (see ``State.view``).

    A view never copies or sorts the whole selection: pages are sliced out of sorted id
    arrays, so listing costs O(log n + limit) however many objects the sandbox holds.
    ``keep`` (optional) filters further, lazily.
    """

    def __init__(
        self,
        state: State,
        sets: Sequence[IdSet],
        *,
        low: int | None = None,
        high: int | None = None,
        keep: Callable[[dict], bool] | None = None,
    ) -> None:
        self.state = state
        self.sets = list(sets)
        self.low = _FAR_PAST if low is None else low * _ORDER_SPAN
        self.high = _FAR_FUTURE if high is None else high * _ORDER_SPAN
        self.keep = keep

    def contains(self, id: str) -> bool:
        key = self.state.sort_key_of(id)
        if key is None or not self.low <= key < self.high:
            return False
        if not any(s.has(id, key) for s in self.sets):
            return False
        return self.keep is None or self.keep(self.state.by_id[id])

    def _objects(self, pairs: Iterator[tuple[int, str]], n: int) -> list[dict]:
        out: list[dict] = []
        by_id, keep = self.state.by_id, self.keep
        for _, id in pairs:
            obj = by_id[id]
            if keep is None or keep(obj):
                out.append(obj)
                if len(out) >= n:
                    break
        return out

    def older(self, n: int, *, than: str | None = None) -> list[dict]:
        """Up to ``n`` objects, newest first, older than ``than`` (an id in the view)."""
        below = self.high
        key = None if than is None else self.state.sort_key_of(than)
        if key is not None:
            below = min(below, key)
        runs = [s.descending(self.low, below) for s in self.sets]
        merged = runs[0] if len(runs) == 1 else heapq.merge(*runs, reverse=True)
        return self._objects(iter(merged), n)

    def newer(self, n: int, *, than: str) -> list[dict]:
        """Up to ``n`` objects newer than ``than``, the nearest first (oldest first)."""
        key = self.state.sort_key_of(than)
        above = self.low - 1 if key is None else max(key, self.low - 1)
        runs = [s.ascending(above, self.high) for s in self.sets]
        merged = runs[0] if len(runs) == 1 else heapq.merge(*runs)
        return self._objects(iter(merged), n)

    def all(self) -> list[dict]:
        """Every object of the view, newest first."""
        return self.older(len(self.state.by_id) + 1)

    def __len__(self) -> int:
        if self.keep is None and self.low == _FAR_PAST and self.high == _FAR_FUTURE:
            return sum(len(s) for s in self.sets)
        return len(self.all())


# --------------------------------------------------------------------------- state


@dataclass
class SandboxConfig:
    seed: int = 42
    customers: int = 200
    refresh_delay: float = 2.0
    refresh_cooldown: int = 120
    fault_rate: float = 0.0
    rate_limit: float = 0.0
    slow_seconds: float = 3.0
    timeout_seconds: float = 30.0
    host: str = "127.0.0.1"
    port: int = 0
    now: int | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    search_lag: float = 2.0  # seconds before a write is searchable (Stripe: under a minute)
    check_responses: bool = False  # tests: every /v1 reply is checked against the pinned types


class Clock:
    """Sandbox time: real time plus an offset that hooks can advance (never rewind)."""

    def __init__(self, now: int | None = None) -> None:
        self._offset = 0.0 if now is None else now - time.time()

    def now_float(self) -> float:
        return time.time() + self._offset

    def now(self) -> int:
        return int(self.now_float())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise invalid("The clock can only move forward.", param="seconds")
        self._offset += seconds


@dataclass
class _IdemEntry:
    fingerprint: str
    created: int
    in_flight: bool = True
    status: int = 0
    body: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    fn: Callable[[], object] = field(compare=False)


class State:
    """All objects of one sandbox, its clock, events, jobs, idempotency keys and faults."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.clock = Clock(self.config.now)
        self.store: dict[str, dict[str, dict]] = {}
        self.by_id: dict[str, dict] = {}
        self.extras: dict[str, Any] = {}  # free slots for route modules (institutions, …)
        self._order: dict[str, int] = {}
        self._seq = itertools.count()
        self._all: dict[str, IdSet] = {}  # object type → every id of that type
        self._indexes: dict[str, dict[str, _Index]] = {}  # type → name → index (lazy)
        self._snapshots: dict[str, dict] = {}  # id → its latest event snapshot (see emit)
        self._rng = random.Random(self.config.seed)
        self._req_rng = random.Random(f"req:{self.config.seed}")
        self._jobs: list[_Job] = []
        self._idem: dict[tuple[str, str], _IdemEntry] = {}
        self._idem_lock = threading.Lock()
        self._faults_forced: list[tuple[str, float | None]] = []
        self._request_count = 0
        self._bucket = (float(self.config.rate_limit), time.monotonic())
        self._fault_lock = threading.Lock()

    # ---- time and ids

    def now(self) -> int:
        return self.clock.now()

    def new_id(self, prefix: str) -> str:
        """``prefix`` + 24 random alphanumerics from the seeded RNG (deterministic per seed)."""
        while True:
            candidate = prefix + "".join(self._rng.choices(_ALNUM, k=24))
            if candidate not in self.by_id:
                return candidate

    def secret(self, id: str) -> str:
        return f"{id}_secret_" + "".join(self._rng.choices(_ALNUM, k=24))

    def new_request_id(self) -> str:
        return "req_" + "".join(self._req_rng.choices(_ALNUM, k=14))

    def rng(self, *salt: Any) -> random.Random:
        """A deterministic RNG for one purpose (e.g. ``state.rng("drift", fca_id, n)``)."""
        return random.Random(":".join(str(s) for s in (self.config.seed, *salt)))

    # ---- store

    def add(self, obj: dict) -> dict:
        """Store ``obj`` under its ``object`` type and ``id``; returns it (the live dict).

        Adding an object with a known id replaces the stored one (and re-files it in the
        indexes). ``created`` must be final when an object is added: the sorted indexes file
        it by ``created`` (changing it in place later would misplace it in lists).
        """
        kind, id = obj["object"], obj["id"]
        bucket = self.store.setdefault(kind, {})
        prior = bucket.get(id)
        bucket[id] = obj
        if id not in self._order:
            self._order[id] = next(self._seq)
        self.by_id[id] = obj
        order = self._order[id]
        key = sort_key(obj.get("created"), order)
        old_key = None if prior is None else sort_key(prior.get("created"), order)
        everything = self._all.get(kind)
        if everything is None:
            everything = self._all[kind] = IdSet()
        if old_key is None:
            everything.add(id, key)
        elif old_key != key:
            everything.discard(id, old_key)
            everything.add(id, key)
        self._refile(obj, key, old_key)
        return obj

    def remove(self, obj: dict) -> None:
        kind, id = obj["object"], obj["id"]
        stored = self.store.get(kind, {}).pop(id, None)
        if stored is None:
            return
        self.by_id.pop(id, None)
        key = sort_key(stored.get("created"), self._order[id])
        self._all[kind].discard(id, key)
        for index in self._indexes.get(kind, {}).values():
            index.unfile(id, key)

    def reindex(self, obj: dict) -> None:
        """Re-file a stored object whose indexed fields were changed in place."""
        if self.by_id.get(obj.get("id", "")) is obj:
            self._refile(obj, sort_key(obj.get("created"), self._order[obj["id"]]), None)

    def _refile(self, obj: dict, key: int, old_key: int | None) -> None:
        id = obj["id"]
        for index in self._indexes.get(obj["object"], {}).values():
            value = index.read(obj)
            if id in index.values:
                if index.values[id] == value and old_key in (None, key):
                    continue
                index.unfile(id, key if old_key is None else old_key)
            index.file(id, value, key)

    def _index(self, kind: str, name: str) -> _Index:
        index = self._indexes.get(kind, {}).get(name)
        if index is None:
            path = INDEXES.get(kind, {}).get(name)
            if path is None:
                raise KeyError(f"no index {name!r} on {kind} (see register_index)")
            index = self._indexes.setdefault(kind, {})[name] = _Index(path)
            for id, obj in self.store.get(kind, {}).items():
                index.file(id, index.read(obj), sort_key(obj.get("created"), self._order[id]))
        return index

    def prepare_indexes(self) -> None:
        """Build every registered index and sort every id set now (after bulk loading).

        Otherwise the first list request of each kind pays for it (~0.3 s for the events of
        a 20,000-customer world).
        """
        for kind, names in INDEXES.items():
            for name in names:
                self._index(kind, name)
        for everything in self._all.values():
            everything.settle()
        for indexes in self._indexes.values():
            for index in indexes.values():
                for bucket in index.buckets.values():
                    bucket.settle()

    def sort_key_of(self, id: str) -> int | None:
        """The list sort key of a stored object (None when there is no such object)."""
        obj = self.by_id.get(id)
        return None if obj is None else sort_key(obj.get("created"), self._order[id])

    def insertion_order(self, objs: Iterable[dict]) -> list[dict]:
        """``objs`` in the order they were first stored (the order ``find`` yields them)."""
        return sorted(objs, key=lambda o: self._order.get(o["id"], 0))

    def count(self, object_name: str) -> int:
        return len(self.store.get(object_name, {}))

    def index_values(self, object_name: str, name: str) -> list[Any]:
        """The values an index currently files objects under (e.g. every event type seen)."""
        index = self._index(object_name, name)
        return [v for v, bucket in index.buckets.items() if len(bucket)]

    def view(
        self,
        object_name: str,
        *,
        where: Mapping[str, Any] | None = None,
        created: tuple[int | None, int | None] = (None, None),
        keep: Callable[[dict], bool] | None = None,
    ) -> View:
        """Objects of one type, newest first, without scanning the store.

        ``where`` maps index names (see :func:`register_index`) to a value, or to a
        ``frozenset`` of values (any of them); ``created`` is ``[low, high)`` from
        :func:`range_bounds`; ``keep`` filters further (lazily, so keep it selective).
        """
        sets: list[IdSet] = []
        checks: list[Callable[[dict], bool]] = [keep] if keep else []
        for i, (name, wanted) in enumerate((where or {}).items()):
            index = self._index(object_name, name)
            values = wanted if isinstance(wanted, frozenset) else frozenset([wanted])
            if i == 0:
                sets = [index.buckets[v] for v in values if v in index.buckets]
            else:
                checks.append(_field_in(index, values))
        if not where:
            everything = self._all.get(object_name)
            sets = [everything] if everything is not None else []
        if not sets:
            sets = [IdSet()]
        combined = checks[0] if len(checks) == 1 else _all_of(checks) if checks else None
        return View(self, sets, low=created[0], high=created[1], keep=combined)

    def get(self, object_name: str, id: str, *, param: str = "id") -> dict:
        obj = self.store.get(object_name, {}).get(id)
        if obj is None:
            raise not_found(object_name, id, param=param)
        return obj

    def lookup(self, id: str) -> dict | None:
        """Any stored object by id, whatever its type."""
        return self.by_id.get(id)

    def find(self, object_name: str) -> list[dict]:
        """Every object of a type (a full copy of the list: prefer :meth:`view` in requests)."""
        return list(self.store.get(object_name, {}).values())

    # ---- events

    def emit(
        self,
        type: str,
        obj: dict,
        *,
        previous_attributes: dict | None = None,
        request: Request | None = None,
        created: int | None = None,
    ) -> dict:
        """Store an ``event`` whose ``data.object`` is a deep-copied snapshot of ``obj``.

        An event follows a change, so ``obj`` is also re-filed in the indexes here. ``type``
        must be one of :data:`EVENT_TYPES` (the contract test makes every one of them happen).
        """
        from sandbox import objects  # objects imports only ``clone`` from here

        if type not in EVENT_TYPES:
            raise ValueError(f"{type!r} is not in sandbox.events.EVENT_TYPES; declare it there")
        self.reindex(obj)
        evt = objects.event(
            self,
            type=type,
            data_object=self._snapshot(obj),
            previous_attributes=clone(previous_attributes),
            request={
                "id": request.request_id if request else None,
                "idempotency_key": request.idempotency_key if request else None,
            },
            **({"created": created} if created is not None else {}),
        )
        self.add(evt)
        for listener in EVENT_LISTENERS:
            listener(self, evt)
        hook = self.extras.get("on_event")
        if callable(hook):
            hook(evt)
        return evt

    def _snapshot(self, obj: dict) -> dict:
        """A detached copy of ``obj`` that shares unchanged parts with its previous snapshot.

        A seeded world emits ~12 events per customer, most of them about objects that changed
        one or two top-level fields since their last event; reusing the earlier snapshot's
        (never mutated) copy of every unchanged nested value saves most of the copying time
        and memory. Values shared are only ever other snapshots' copies, never the live dict.
        Nested values compare with ``==`` (so a nested ``1`` that became ``True`` would keep
        the ``1``; nothing in the sandbox does that).
        """
        id = obj.get("id")
        previous = self._snapshots.get(id) if isinstance(id, str) else None
        snap: dict = {}
        for key, value in obj.items():
            if type(value) in _ATOMIC:
                snap[key] = value
                continue
            if previous is not None:
                before = previous.get(key, _MISSING)
                if type(before) is type(value) and before == value:
                    snap[key] = before
                    continue
            snap[key] = clone(value)
        if isinstance(id, str):
            self._snapshots[id] = snap
        return snap

    # ---- lists

    def sort_newest_first(self, items: Iterable[dict]) -> list[dict]:
        return sorted(
            items,
            key=lambda o: (o.get("created") or 0, self._order.get(o.get("id", ""), 0)),
            reverse=True,
        )

    def list_response(
        self, items: Sequence[dict] | View, req: Request, url: str, *, presorted: bool = False
    ) -> dict:
        """Stripe's list envelope with ``limit``/``starting_after``/``ending_before`` (§1.4).

        ``items`` is a list (sorted here unless ``presorted``) or a :class:`View`, which is
        paged without materialising the selection.
        """
        limit = req.int("limit", 10)
        assert limit is not None
        if not 1 <= limit <= 100:
            raise invalid(
                "Invalid limit: must be between 1 and 100",
                param="limit",
                code="parameter_invalid_integer",
            )
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
        ordered = list(items) if presorted else self.sort_newest_first(items)
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
        self, items: Sequence[dict], req: Request, url: str, *, presorted: bool = False
    ) -> dict:
        """Stripe's ``search_result`` envelope; ``page`` is an opaque token from ``next_page``."""
        limit = req.int("limit", 10)
        assert limit is not None
        if not 1 <= limit <= 100:
            raise invalid(
                "Invalid limit: must be between 1 and 100",
                param="limit",
                code="parameter_invalid_integer",
            )
        ordered = list(items) if presorted else self.sort_newest_first(items)
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
            base64.urlsafe_b64encode(f"off:{offset + limit}".encode()).decode()
            if has_more
            else None
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

    # ---- expansion

    def expand(self, body: dict, paths: Sequence[str]) -> dict:
        """Return a copy of ``body`` with each dotted path's id replaced by its object (§1.3)."""
        result = clone(body)
        for path in paths:
            parts = [p for p in str(path).split(".") if p]
            depth = (
                len([p for p in parts if p != "data"])
                if result.get("object") == "list"
                else len(parts)
            )
            if not parts or depth > MAX_EXPAND_DEPTH:
                raise invalid(
                    f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                    f"Property: {path}",
                    param="expand",
                )
            self._expand_path(result, parts, str(path))
        return result

    def _expand_path(
        self, node: Any, parts: list[str], path: str, shape: dict | None = None
    ) -> None:
        """Expand ``parts`` under ``node``; ``shape`` is the node's type in the API spec (None:
        read it from the node's ``object``). Only fields the pinned types mark expandable
        (``ExpandableField``) can be expanded; anything else is a 400 as on Stripe."""
        if isinstance(node, list):
            for item in node:
                self._expand_path(item, parts, path, shape)
            return
        if not isinstance(node, dict):
            return
        key, rest = parts[0], parts[1:]
        kind = node.get("object")
        if shape is None and kind in ("list", "search_result"):
            if key != "data" or not rest:
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")
            self._expand_path(node["data"], rest, path)
            return
        if shape is None:
            shape = api_spec.resource(str(kind)) if kind else None
        field_shape = (shape or {}).get("fields", {}).get(key)
        expandable = (field_shape or {}).get("type") == "expandable"
        if key not in node or field_shape is None or (not rest and not expandable):
            raise invalid(f"This property cannot be expanded ({path}).", param="expand")
        value = node[key]
        if isinstance(value, str) and expandable:
            target = self.by_id.get(value)
            if target is None:
                raise invalid(f"This property cannot be expanded ({path}).", param="expand")
            node[key] = value = clone(target)
        if rest and value is not None:
            self._expand_path(value, rest, path, None if expandable else _inner(field_shape))

    # ---- jobs

    def schedule(self, delay_seconds: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` (lock held) once ``delay_seconds`` of sandbox time have passed.

        A delay of 0 runs before the next request is answered, so tests see the pending
        state in the reply that started a job and the finished state in the next one.
        """
        with self.lock:
            due = self.clock.now_float() + max(0.0, delay_seconds)
            heapq.heappush(self._jobs, _Job(due, next(self._seq), fn))

    def run_due(self, *, everything: bool = False) -> int:
        """Run due jobs (all pending ones when ``everything``); returns how many ran."""
        ran = 0
        with self.lock:
            while self._jobs and (everything or self._jobs[0].due <= self.clock.now_float()):
                job = heapq.heappop(self._jobs)
                try:
                    job.fn()
                except Exception:  # a broken job must not wedge the sandbox
                    traceback.print_exc()
                ran += 1
                if ran > 100_000:
                    break
        return ran

    def pending_jobs(self) -> int:
        with self.lock:
            return len(self._jobs)

    # ---- idempotency (§1.6)

    def idempotency_begin(self, req: Request) -> _IdemEntry | StripeError | None:
        """Claim ``req``'s key. Returns a finished entry to replay, an error, or None (run it)."""
        if not req.idempotency_key or req.method != "POST":
            return None
        key = (req.api_key or "", req.idempotency_key)
        fingerprint = f"{req.method} {req.path} {canonical_params(req.params)}"
        now = self.now()
        with self._idem_lock:
            entry = self._idem.get(key)
            if entry is not None and now - entry.created >= IDEMPOTENCY_TTL:
                entry = None
            if entry is None:
                self._idem[key] = _IdemEntry(fingerprint=fingerprint, created=now)
                return None
            if entry.fingerprint != fingerprint:
                return StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{req.idempotency_key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            if entry.in_flight:
                return StripeError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through). Please retry this request later.",
                    code="idempotency_key_in_use",
                )
            return entry

    def idempotency_finish(
        self, req: Request, status: int, body: dict, headers: dict[str, str], *, save: bool
    ) -> None:
        if not req.idempotency_key or req.method != "POST":
            return
        key = (req.api_key or "", req.idempotency_key)
        with self._idem_lock:
            entry = self._idem.get(key)
            if entry is None or not entry.in_flight:
                return
            if not save:
                del self._idem[key]
                return
            entry.in_flight, entry.status, entry.body, entry.headers = False, status, body, headers

    # ---- faults and rate limits

    def force_faults(self, mode: str, count: int, seconds: float | None = None) -> None:
        if mode not in FAULT_MODES:
            raise invalid(f"mode must be one of {', '.join(FAULT_MODES)}", param="mode")
        with self._fault_lock:
            self._faults_forced.extend([(mode, seconds)] * count)

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults_forced.clear()

    def forced_faults_pending(self) -> int:
        """How many forced faults have not fired yet (tests wait for one to be taken)."""
        with self._fault_lock:
            return len(self._faults_forced)

    def next_fault(self) -> tuple[str, float | None] | None:
        """The fault for the next /v1 request: forced ones first, then the seeded fault rate."""
        with self._fault_lock:
            self._request_count += 1
            if self._faults_forced:
                return self._faults_forced.pop(0)
            rate = self.config.fault_rate
            if rate <= 0:
                return None
            rng = random.Random(f"fault:{self.config.seed}:{self._request_count}")
            if rng.random() >= rate:
                return None
            return rng.choice(["429", "500", "slow"]), None

    def take_token(self) -> bool:
        """Token bucket for ``--rate-limit N`` (N req/s, burst N); False means 429."""
        limit = self.config.rate_limit
        if limit <= 0:
            return True
        with self._fault_lock:
            tokens, last = self._bucket
            now = time.monotonic()
            tokens = min(float(limit), tokens + (now - last) * limit)
            if tokens < 1:
                self._bucket = (tokens, now)
                return False
            self._bucket = (tokens - 1, now)
            return True


def _inner(shape: dict) -> dict | None:
    """The object type inside a field's spec (an object, or the items of an array/list)."""
    while shape.get("type") in ("array", "list"):
        shape = shape["items"]
    return shape if shape.get("type") == "object" else None


def _field_in(index: _Index, values: frozenset[Any]) -> Callable[[dict], bool]:
    return lambda obj: index.read(obj) in values


def _all_of(checks: list[Callable[[dict], bool]]) -> Callable[[dict], bool]:
    return lambda obj: all(check(obj) for check in checks)


def _view_page(
    view: View, limit: int, *, after: str | None, before: str | None
) -> tuple[list[dict], bool]:
    """One page of a view, with the same answers as slicing the fully sorted list."""
    anchor, param = (after, "starting_after") if after else (before, "ending_before")
    if anchor and not view.contains(anchor):
        raise StripeError(400, f"No such object: '{anchor}'", code="resource_missing", param=param)
    if before:
        nearest = view.newer(limit + 1, than=before)
        return nearest[:limit][::-1], len(nearest) > limit
    found = view.older(limit + 1, than=after or None)
    return found[:limit], len(found) > limit


def _index_of(items: Sequence[dict], id: str, param: str) -> int:
    for i, item in enumerate(items):
        if item.get("id") == id:
            return i
    raise StripeError(400, f"No such object: '{id}'", code="resource_missing", param=param)


# --------------------------------------------------------------------------- pipeline


@dataclass
class Response:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


# Forced faults (/_sandbox/faults mode=…): see README "Request pipeline".
FAULT_MODES = ("429", "lock_timeout", "500", "slow", "timeout")


def rate_limited(message: str = "Too many requests hit the API too quickly.") -> StripeError:
    """A real rate limit: no ``Stripe-Should-Retry: true``, so the SDK does not retry it (§10);
    clients back off themselves."""
    return StripeError(
        429,
        message + " We recommend an exponential backoff of your requests.",
        code="rate_limit",
        headers={"Stripe-Rate-Limited-Reason": "global-rate"},
    )


def lock_timeout() -> StripeError:
    """A 429 from a lock held by a concurrent request on the same object: the one 429 Stripe
    asks to retry (``Stripe-Should-Retry: true``)."""
    return StripeError(
        429,
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it. If you see this error intermittently, retry the "
        "request.",
        code="lock_timeout",
        headers={"Stripe-Should-Retry": "true"},
    )


def check_auth(headers: dict[str, str]) -> tuple[str | None, StripeError | None]:
    """The API key from Bearer or Basic auth; test keys only (§1.7)."""
    auth = headers.get("authorization", "")
    key = None
    if auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    elif auth.lower().startswith("basic "):
        try:
            key = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        return None, StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if not (key.startswith("sk_test_") or key.startswith("rk_test_")):
        prefix = key.rsplit("_", 1)[0] + "_" if "_" in key else ""
        return None, StripeError(401, f"Invalid API Key provided: {prefix}****{key[-4:]}")
    return key, None


def check_version(headers: dict[str, str]) -> StripeError | None:
    """Objects are rendered in the pinned version only; no header means the account default,
    which is the pinned version here. Another version would need shapes this sandbox lacks."""
    asked = headers.get("stripe-version")
    if not asked or asked == API_VERSION:
        return None
    return StripeError(
        400,
        f"This sandbox answers in Stripe API version {API_VERSION} only (the pinned SDK's); "
        f"it cannot render objects for version {asked}.",
    )


def handle(
    state: State,
    method: str,
    path: str,
    *,
    query: str = "",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer one request: route, auth, faults, validation, idempotency, handler, expansion."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    method = method.upper()
    req = Request(
        method=method,
        path=path,
        headers=headers,
        request_id=state.new_request_id(),
        idempotency_key=headers.get("idempotency-key") or None,
    )
    resp = _handle(state, req, query, body)
    resp.headers.setdefault("Request-Id", req.request_id)
    return resp


def _error(err: StripeError) -> Response:
    return Response(err.status, err.body(), dict(err.headers))


def _handle(state: State, req: Request, query: str, body: str) -> Response:
    hook = req.path.startswith("/_sandbox/")
    if not hook:
        key, auth_err = check_auth(req.headers)
        if auth_err:
            return _error(auth_err)
        req.api_key = key
        version_err = check_version(req.headers)
        if version_err:
            return _error(version_err)
    try:
        params = parse_params(query)
        if body:
            params.update(parse_params(body))
        req.params = params
    except StripeError as err:
        return _error(err)
    found = match_route(req.method, req.path)
    if found is None:
        return _error(
            StripeError(
                404,
                f"Unrecognized request URL ({req.method}: {req.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                code=None,
            )
        )
    rt, req.path_args = found
    if hook:
        return _run(state, rt, req)
    if not state.take_token():
        return _error(rate_limited())
    fault = state.next_fault()
    if fault is not None:
        mode, seconds = fault
        if mode == "429":
            return _error(rate_limited("Sandbox fault injection: rate limited."))
        if mode == "lock_timeout":
            return _error(lock_timeout())
    refusal = check_request(rt.method, rt.pattern, req.params)
    if refusal is not None:  # rejected before execution: never saved under an idempotency key
        return _error(StripeError(400, refusal.message, code=refusal.code, param=refusal.param))
    if req.idempotency_key and len(req.idempotency_key) > 255:
        return _error(invalid("Idempotency-Key must be at most 255 characters.", param=None))
    claimed = state.idempotency_begin(req)
    if isinstance(claimed, StripeError):
        return _error(claimed)
    if claimed is not None:
        return Response(
            claimed.status, claimed.body, {**claimed.headers, "Idempotent-Replayed": "true"}
        )
    if fault is not None and fault[0] == "500":
        # A 500 after execution started: saved under the key and replayed to a same-key retry
        # (§1.6), so only a new request (a new key) can succeed. Nothing was changed.
        resp = _error(api_error("Sandbox fault injection: internal error."))
        state.idempotency_finish(req, resp.status, resp.body, resp.headers, save=True)
        return resp
    if fault is not None:  # slow answers: the request is in flight meanwhile (409 for clashes)
        mode, seconds = fault
        default = state.config.slow_seconds if mode == "slow" else state.config.timeout_seconds
        time.sleep(default if seconds is None else seconds)
    resp, save = _execute(state, rt, req)
    state.idempotency_finish(req, resp.status, resp.body, resp.headers, save=save)
    return resp


def _check_shape(body: dict, req: Request) -> None:
    """Tests' tripwire (``check_responses``): a reply off the pinned types is a sandbox bug."""
    problems = shapes.problems(body)
    if problems:
        raise AssertionError(
            f"{req.method} {req.path} answered off the pinned types: {'; '.join(problems[:5])}"
        )


def _run(state: State, rt: Route, req: Request) -> Response:
    resp, _ = _execute(state, rt, req)
    return resp


def _execute(state: State, rt: Route, req: Request) -> tuple[Response, bool]:
    """Run the handler under the state lock; returns the reply and whether to save it."""
    with state.lock:
        state.run_due()
        try:
            result = rt.handler(req, state)
            if isinstance(result, dict):  # handlers return what they changed: keep indexes true
                state.reindex(result)
            expand = [p for p in req.list("expand") if p != "total_count"]
            if expand:
                result = state.expand(result, [str(p) for p in expand])
            body = json.loads(json.dumps(result))  # a snapshot, detached from the store
            if state.config.check_responses and not rt.is_hook:
                _check_shape(body, req)
            return Response(200, body), True
        except StripeError as err:
            return _error(err), err.code not in _VALIDATION_CODES
        except Exception as exc:  # Stripe answers 500 and saves it (§1.6)
            traceback.print_exc()
            return _error(api_error(f"Sandbox internal error: {type(exc).__name__}: {exc}")), True
