"""The in-memory Stripe account: every object, its indexes, ids, time, events, jobs and faults.

Route modules read and change objects through :class:`State` (``add``, ``get``, ``view``,
``emit``, ``schedule``); the request pipeline (``sandbox.core.pipeline``) holds ``state.lock``
around every handler. What a resource keeps private (facts Stripe never returns) lives in a
typed slot of its own: ``state.private("payment_methods", _Private)``.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sandbox.core import lists
from sandbox.core.clock import Clock, Jobs
from sandbox.core.copies import clone
from sandbox.core.errors import not_found
from sandbox.core.event_types import EVENT_TYPES
from sandbox.core.events import EVENT_LISTENERS, Snapshots, event
from sandbox.core.faults import Faults
from sandbox.core.idempotency import IdempotencyKeys
from sandbox.core.indexes import INDEXES, IdSet, Index, View, all_of, field_in, sort_key
from sandbox.core.recording import RequestLog
from sandbox.core.wire import Request

_ALNUM = string.ascii_letters + string.digits
T = TypeVar("T")


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
    # ACH debits: "test" settles every debit after `refresh_delay` with the outcome its account
    # decides (Stripe's test mode); "bank" waits banking days like live mode (returns in 1-2,
    # unauthorized ones up to 60 calendar days, settlement in 4) and adds the small share of
    # unauthorized and wrong-number returns real accounts have (sandbox.api.charges)
    ach_mode: str = "test"


class State:
    """All objects of one sandbox, its clock, events, jobs, idempotency keys and faults."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.clock = Clock(self.config.now)
        self.jobs = Jobs(self.clock, self.lock)
        self.faults = Faults(self.config)
        self.requests = RequestLog()  # /v1 requests while recording (/_sandbox/requests)
        self.idempotency = IdempotencyKeys()
        self.store: dict[str, dict[str, dict]] = {}
        self.by_id: dict[str, dict] = {}
        self.extras: dict[str, Any] = {}  # private slots of route modules (see ``private``)
        # called with every event this state stores (webhook delivery; the lock is held)
        self.event_hooks: list[Callable[[dict], None]] = []
        self._order: dict[str, int] = {}
        self._seq = itertools.count()
        self._all: dict[str, IdSet] = {}  # object type → every id of that type
        self._indexes: dict[str, dict[str, Index]] = {}  # type → name → index (lazy)
        self._snapshots = Snapshots()
        self._rng = random.Random(self.config.seed)
        self._req_rng = random.Random(f"req:{self.config.seed}")

    def private(self, name: str, factory: Callable[[], T]) -> T:
        """The slot ``name`` of what a route module keeps to itself, made by ``factory`` once."""
        found = self.extras.get(name)
        if found is None:
            found = self.extras[name] = factory()
        return found  # type: ignore[no-any-return]

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

    def _index(self, kind: str, name: str) -> Index:
        index = self._indexes.get(kind, {}).get(name)
        if index is None:
            path = INDEXES.get(kind, {}).get(name)
            if path is None:
                raise KeyError(f"no index {name!r} on {kind} (see register_index)")
            index = self._indexes.setdefault(kind, {})[name] = Index(path)
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
                checks.append(field_in(index, values))
        if not where:
            everything = self._all.get(object_name)
            sets = [everything] if everything is not None else []
        if not sets:
            sets = [IdSet()]
        combined = checks[0] if len(checks) == 1 else all_of(checks) if checks else None
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
        if type not in EVENT_TYPES:
            raise ValueError(
                f"{type!r} is not in sandbox.core.event_types.EVENT_TYPES; declare it there"
            )
        self.reindex(obj)
        evt = event(
            self,
            type=type,
            data_object=self._snapshots.take(obj),
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
        for hook in self.event_hooks:
            hook(evt)
        return evt

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
        """Stripe's list envelope with ``limit``/``starting_after``/``ending_before`` (§1.4)."""
        return lists.list_response(self, items, req, url, presorted=presorted)

    def search_response(
        self, items: Sequence[dict], req: Request, url: str, *, presorted: bool = False
    ) -> dict:
        """Stripe's ``search_result`` envelope; ``page`` is an opaque token from ``next_page``."""
        return lists.search_response(self, items, req, url, presorted=presorted)

    # ---- jobs and faults (the pipeline and the hooks use ``jobs``/``faults`` directly)

    def schedule(self, delay_seconds: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` (lock held) once ``delay_seconds`` of sandbox time have passed."""
        self.jobs.schedule(delay_seconds, fn)

    def run_due(self, *, everything: bool = False) -> int:
        """Run due jobs (all pending ones when ``everything``); returns how many ran."""
        return self.jobs.run_due(everything=everything)

    def pending_jobs(self) -> int:
        return len(self.jobs)

    def forced_faults_pending(self) -> int:
        """How many forced faults have not fired yet (tests wait for one to be taken)."""
        return self.faults.pending()

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def _request_count(self) -> int:
        """How many /v1 requests reached the fault check (``tests/services/test_debits.py``
        counts a batch's requests with it; new code reads ``state.faults.request_count``)."""
        return self.faults.request_count
