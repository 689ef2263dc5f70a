"""Two admins edited the same versioned settings document: what each changed, and mine on
top of theirs.

One per-field rule for every page that edits such a document (Flow configuration, Debit
policy): a document is a flat mapping of field → value; a list is compared as a set of items,
any other value as a whole. Pages name the fields and format the values for people.

Also the one wording of the conflict panel both pages open when someone saved while the admin
was editing: who saved which versions since (:func:`saved_meanwhile`, always up to the newest),
a net change of nothing said as such (:func:`net_nothing`), and the panel's buttons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from services.rules import wording

__all__ = [
    "KEEP_MINE", "LOAD_THEIRS", "NEVER_SAVED", "SAVE_OFF", "STILL_HERE", "DiffLine", "Saved", "diff", "labelled",
    "merge", "net_nothing", "saved_meanwhile", "saved_since", "savers",
]  # fmt: skip

NEVER_SAVED = wording.FLOW_DEFAULTS  # version 0, as both pages name it: "fcops' built-in defaults"
KEEP_MINE = "Keep my edits on top of version {version}"
LOAD_THEIRS = "Load theirs (discard my edits)"
SAVE_OFF = "Save is off until you choose above: keep your edits or load theirs."
STILL_HERE = "Your edits are still here, unsaved."  # after the red line, when nothing was refused


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


def labelled(lines: Iterable[DiffLine], labels: Mapping[str, str]) -> list[DiffLine]:
    """``lines`` with each field named as the page's form names it (``labels``: field → label;
    a field without one keeps its name), for people to read."""
    return [replace(line, field=labels.get(line.field, line.field)) for line in lines]


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


# -- the conflict panel's words ------------------------------------------------------------------


class Saved(Protocol):
    """One saved version as the panel names it (a flow's or the policy's)."""

    @property
    def version(self) -> int: ...

    @property
    def updated_by(self) -> str | None: ...

    @property
    def updated_at(self) -> datetime | None: ...


def saved_since(history: Iterable[Saved], base: int, latest: Saved) -> list[Saved]:
    """The versions saved after ``base``, oldest first, up to ``latest`` (the one in force):
    ``latest`` alone when the history does not hold it."""
    found = sorted((v for v in history if base < v.version <= latest.version),
                   key=lambda v: v.version)
    if not found or found[-1].version != latest.version:
        found.append(latest)
    return found


def _name(saved: Saved) -> str:
    return saved.updated_by or "someone"


def savers(newer: Sequence[Saved]) -> str:
    """Who saved ``newer``: 'ann', 'ann and bob' (each once, first saver first)."""
    return wording.listed(list(dict.fromkeys(_name(v) for v in newer)))


def saved_meanwhile(newer: Sequence[Saved], base_name: str) -> str:
    """The red line's start, naming every version saved since (``newer``, from
    :func:`saved_since`) and the newest's time: 'ann saved version 2 at … while you were editing
    version 1', 'ann saved versions 2 and 3 (the latest at …) while …', 'ann and bob saved
    versions 2 and 3 (the latest, version 3, by bob at …) while …'. The page adds the rest."""
    latest = newer[-1]
    at = wording.moment(latest.updated_at, missing="an unknown time")
    if len(newer) == 1:
        said = f"{savers(newer)} saved version {latest.version} at {at}"
    else:
        several = len({_name(v) for v in newer}) > 1
        which = f", version {latest.version}, by {_name(latest)}" if several else ""
        said = (
            f"{savers(newer)} saved versions {wording.listed([v.version for v in newer])} "
            f"(the latest{which} at {at})"
        )
    said = f"{said} while you were editing {base_name}"
    return "S" + said[1:] if said.startswith("someone") else said  # usernames stay as they are


def net_nothing(newer: Sequence[Saved], base_name: str) -> str:
    """What the panel says of their changes when, taken together, they changed nothing (a bare
    "Nothing." read as if nobody had saved, beside a red line saying someone had)."""
    latest = newer[-1].version
    if len(newer) == 1:
        return f"Nothing: version {latest} is the same as {base_name}."
    numbers = wording.listed([v.version for v in newer])
    return (
        f"Nothing, taken together: versions {numbers} changed nothing between them, so version "
        f"{latest} is the same as {base_name}."
    )
