"""Indexes and views: lists read pages out of sorted id arrays instead of scanning the store.

Lists are ordered by (created, insertion order); both fit one int so sorting and bisecting
compare plain ints. Insertion order is a counter far below 2**40.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.core.state import State

_ORDER_SPAN = 1 << 40
_FAR_PAST, _FAR_FUTURE = -(1 << 100), 1 << 100  # open bounds, beyond any sort key
_UNINDEXABLE = object()  # an index value that is not hashable (never matches a query)

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
class Index:
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


def field_in(index: Index, values: frozenset[Any]) -> Callable[[dict], bool]:
    return lambda obj: index.read(obj) in values


def all_of(checks: list[Callable[[dict], bool]]) -> Callable[[dict], bool]:
    return lambda obj: all(check(obj) for check in checks)
