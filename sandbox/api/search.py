"""Stripe's search: the query language and an index that lags behind writes.

Query language (docs.stripe.com/search#search-query-language): a clause is
``field:value`` (exact; strings compare case-insensitively), ``field~'sub'`` (substring, at
least 3 characters, string fields that allow it), or ``field>N`` / ``<`` / ``>=`` / ``<=`` /
``=`` on numeric fields; ``metadata['key']:'value'`` reads a metadata key; string values are
quoted with ``'`` or ``"`` (a backslash escapes a quote). Clauses are joined by spaces (AND),
or by ``AND`` / ``OR`` written in any case, but AND and OR cannot be mixed; a leading ``-``
negates a clause; at most 10 clauses.

Index lag (docs.stripe.com/search#data-freshness: "data is searchable in under 1 minute"):
an object changed through the API becomes searchable in its new state only
``SandboxConfig.search_lag`` seconds (sandbox time) after the change; until then search
matches the state it was indexed in (or, for a new object, does not find it; for a deleted
one, still finds it but no longer returns it). Seeded history is indexed already.
So a product that reads back its own writes through search fails here as it would on Stripe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.core import EVENT_LISTENERS, Request, State, invalid, missing

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]
MAX_CLAUSES = 10
INDEXED = {"customer", "payment_intent"}


@dataclass(frozen=True)
class Fields:
    """The searchable fields of one object type (docs.stripe.com/search#query-fields)."""

    strings: frozenset[str]
    numbers: frozenset[str]
    substring: frozenset[str]  # string fields that also take `~`


CUSTOMER_FIELDS = Fields(
    strings=frozenset({"email", "name", "phone"}),
    numbers=frozenset({"created"}),
    substring=frozenset({"email", "name", "phone"}),
)
PAYMENT_INTENT_FIELDS = Fields(
    strings=frozenset({"currency", "customer", "status"}),
    numbers=frozenset({"amount", "created"}),
    substring=frozenset(),
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<join>(?i:AND|OR))(?=\s|$)
      | (?P<neg>-)?
        (?P<field>metadata\[(?P<q>['"])(?P<mkey>(?:\\.|(?!(?P=q)).)+)(?P=q)\]|[a-z_]+)
        \s*(?P<op>:|~|>=|<=|>|<|=)\s*
        (?:(?P<vq>['"])(?P<sval>(?:\\.|(?!(?P=vq)).)*)(?P=vq)|(?P<num>-?\d+)|(?P<bare>\S+))
    )""",
    re.VERBOSE,
)


def _refuse(message: str) -> Exception:
    return invalid(message, param="query")


def compile_query(query: str, fields: Fields) -> Predicate:
    """A predicate for ``query``, or 400 ``parameter_invalid`` naming what is wrong."""
    clauses: list[Predicate] = []
    joins: set[str] = set()
    pos, expect_clause = 0, True
    text = query.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _refuse(
                f"We were unable to parse your search query near: {text[pos : pos + 20]!r}"
            )
        pos = m.end()
        if m.group("join"):
            if expect_clause:
                raise _refuse(f"Search query has {m.group('join')} where a clause is expected.")
            joins.add(m.group("join").upper())
            expect_clause = True
            continue
        if not expect_clause:
            joins.add("AND")  # clauses separated by a space are ANDed
        clauses.append(_clause(m, fields))
        expect_clause = False
    if not clauses or expect_clause:
        raise _refuse("Search query is empty or ends with AND/OR.")
    if len(joins) > 1:
        raise _refuse("Search queries cannot combine AND and OR.")
    if len(clauses) > MAX_CLAUSES:
        raise _refuse(f"Search queries can have at most {MAX_CLAUSES} clauses.")
    if joins == {"OR"}:
        return lambda obj: any(c(obj) for c in clauses)
    return lambda obj: all(c(obj) for c in clauses)


def _clause(m: re.Match[str], fields: Fields) -> Predicate:
    op, mkey = m.group("op"), m.group("mkey")
    name = "metadata" if mkey is not None else m.group("field")
    if m.group("bare") is not None:
        raise _refuse(f"The value for {name} must be quoted: {name}{op}'{m.group('bare')}'.")
    raw = m.group("sval") if m.group("sval") is not None else m.group("num")
    value = re.sub(r"\\(.)", r"\1", raw or "")
    if name in fields.numbers:
        test = _numeric(name, op, value)
    elif name in fields.strings or mkey is not None:
        test = _string(name, op, value, mkey, fields)
    else:
        raise _refuse(f"Field '{name}' is an unsupported search field.")
    return (lambda obj: not test(obj)) if m.group("neg") else test


def _numeric(name: str, op: str, value: str) -> Predicate:
    if op == "~" or not re.fullmatch(r"-?\d+", value):
        raise _refuse(f"Field '{name}' is numeric: use :, =, >, <, >= or <= with a number.")
    bound = int(value)
    compare: dict[str, Callable[[int], bool]] = {
        ":": lambda v: v == bound,
        "=": lambda v: v == bound,
        ">": lambda v: v > bound,
        "<": lambda v: v < bound,
        ">=": lambda v: v >= bound,
        "<=": lambda v: v <= bound,
    }
    return lambda obj: isinstance(obj.get(name), int) and compare[op](obj[name])


def _string(name: str, op: str, value: str, mkey: str | None, fields: Fields) -> Predicate:
    if op not in (":", "~"):
        raise _refuse(f"Operator {op} only works on numeric fields; {name} is a string.")
    if op == "~" and (mkey is not None or name not in fields.substring):
        raise _refuse(f"Field '{name}' does not support substring matching (~).")
    if op == "~" and len(value) < 3:
        raise _refuse("Substring matching (~) needs at least 3 characters.")
    needle = value.lower()

    def read(obj: Obj) -> str | None:
        found = (obj.get("metadata") or {}).get(mkey) if mkey is not None else obj.get(name)
        return None if found is None else str(found).lower()

    if op == "~":
        return lambda obj: needle in (read(obj) or "")
    return lambda obj: read(obj) == needle


# --------------------------------------------------------------------------- the lagging index


@dataclass
class _Entry:
    visible_at: float
    snapshot: Obj | None  # None: deleted


def _index(state: State) -> dict[str, list[_Entry]]:
    return state.private("search_index", dict)


def record(state: State, event: Obj) -> None:
    """Index the object an event carries, visible ``search_lag`` seconds after the event."""
    obj = event["data"]["object"]
    if obj.get("object") not in INDEXED:
        return
    lag = 0.0 if event["created"] < state.now() - 1 else state.config.search_lag  # seeded: past
    deleted = event["type"].endswith(".deleted")
    entries = _index(state).setdefault(obj["id"], [])
    entries.append(_Entry(event["created"] + lag, None if deleted else obj))


def _indexed(state: State, obj: Obj, now: float) -> Obj | None:
    """The version of ``obj`` search sees now (None: not searchable yet, or deleted)."""
    entries = _index(state).get(obj["id"])
    if not entries:
        return obj  # never written through the API since it was loaded: indexed as it is
    visible = [e for e in entries if e.visible_at <= now]
    if len(visible) > 1:  # only the latest visible version (and later pending ones) matter
        del entries[: entries.index(visible[-1])]
    return visible[-1].snapshot if visible else None


def search(state: State, req: Request, object_name: str, fields: Fields, url: str) -> Obj:
    """``GET /v1/<objects>/search``: matching objects in the index, newest first."""
    query = req.str("query")
    if not query:
        raise missing("query")
    matches = compile_query(query, fields)
    now = state.clock.now_float()
    hits: list[Obj] = []
    for obj in state.view(object_name).all():
        seen = _indexed(state, obj, now)
        if seen is not None and matches(seen):
            hits.append(obj)  # matched as indexed, returned as it is now
    return state.search_response(hits, req, url, presorted=True)


EVENT_LISTENERS.append(record)
