"""Two admins edited the same versioned settings document: what each changed, and mine on
top of theirs.

One per-field rule for every page that edits such a document (Flow configuration, Debit
policy): a document is a flat mapping of field → value; a list is compared as a set of items,
any other value as a whole. Pages name the fields and format the values for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DiffLine", "diff", "merge"]


@dataclass(frozen=True)
class DiffLine:
    """One changed field; list fields also say which items were added and removed."""

    field: str
    before: Any
    after: Any
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.added or self.removed:
            parts = [f"+{item}" for item in self.added] + [f"−{item}" for item in self.removed]
            return f"{self.field}: {' '.join(parts)}"
        return f"{self.field}: {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return "(none)" if value in (None, "") else str(value)


def _is_list(*values: Any) -> bool:
    return any(isinstance(v, list | tuple) for v in values)


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[DiffLine]:
    """What changed from document ``a`` to ``b`` (lists compared as sets of items)."""
    lines: list[DiffLine] = []
    for name in sorted(set(a) | set(b)):
        before, after = a.get(name), b.get(name)
        if _is_list(before, after):
            old, new = list(before or []), list(after or [])
            added = tuple(i for i in new if i not in old)
            removed = tuple(i for i in old if i not in new)
            if added or removed:
                lines.append(DiffLine(name, old, new, added=added, removed=removed))
        elif before != after:
            lines.append(DiffLine(name, before, after))
    return lines


def merge(
    base: Mapping[str, Any], theirs: Mapping[str, Any], mine: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """My edits (``base`` → ``mine``) applied on top of ``theirs``, saved by someone else from
    the same ``base``: what I added or removed in a list is added or removed in theirs, a value
    I changed is mine, one I left is theirs. Also the fields both changed to different values
    (mine kept there), for the page to name."""
    merged: dict[str, Any] = {}
    clashes: list[str] = []
    for name in sorted(set(base) | set(theirs) | set(mine)):
        before, other, own = base.get(name), theirs.get(name), mine.get(name)
        if _is_list(before, other, own):
            was, now = list(before or []), list(own or [])
            kept = [i for i in (other or []) if i in now or i not in was]
            merged[name] = kept + [i for i in now if i not in was and i not in kept]
        elif own != before:
            merged[name] = own
            if other not in (before, own):
                clashes.append(name)
        else:
            merged[name] = other
    return merged, tuple(clashes)
