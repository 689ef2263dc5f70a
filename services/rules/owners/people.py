"""Two people's names scored word by word: given name, surname, middle names, order, suffixes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

from services.rules.nicknames import nickname_formal
from services.rules.owners.names import ZERO, NameResult, Person
from services.rules.owners.similarity import (
    GIVEN_FACTOR,
    MIDDLE_FACTOR,
    SURNAME_FACTOR,
    align,
    drop_particles,
    merge_concatenations,
    role_of,
    settle_compounds,
)
from services.rules.owners.text import display_word


def _pair_note(kind: str, a: str, b: str, *, role: str) -> tuple[str, str]:
    """(tag, words) describing how two matched tokens relate."""
    da, db = display_word(a), display_word(b)
    if kind == "nickname":
        formal = nickname_formal(a, b) or ""
        if formal not in (a, b):
            return "nickname", f"nicknames {da} and {db} (both {display_word(formal)})"
        short, full = (da, db) if formal == b else (db, da)
        return "nickname", f"nickname {short} = {full}"
    if kind == "typo":
        return "spelling", f"spelling {da} ~ {db}"
    if kind == "part":
        part, full = (da, db) if "-" in b else (db, da)
        return "part of a name", f"only part of the hyphenated name ({part} of {full})"
    if kind == "initial":
        letter, full = (da, db) if len(a) == 1 else (db, da)
        if role == "given":
            return "initial", f"first name only as an initial ({letter} = {full})"
        if role == "surname":
            return "initial", f"surname only as an initial ({letter} = {full})"
        return "", f"middle initial {letter} = {full}"
    return "", ""


def _score_single(
    x: tuple[str, ...], y: tuple[str, ...], pairs: dict[int, tuple[int, str]]
) -> NameResult:
    if not pairs:
        return NameResult(0, ("names differ",), ("names differ",))
    i, (j, kind) = next(iter(pairs.items()))
    factor = GIVEN_FACTOR.get(kind, 0.7)
    base = 70 if len(x) == len(y) == 1 else 55
    result = NameResult(round(base * factor), ("one name only",), ("only one name to compare",))
    tag, note = _pair_note(kind, x[i], y[j], role="surname")
    return result.plus(tag, note) if note else result


@dataclass
class _Tally:
    """Evidence gathered while walking two aligned names (given, surname, then the rest)."""

    x: tuple[str, ...]
    y: tuple[str, ...]
    pairs: dict[int, tuple[int, str]]  # x index -> (y index, kind)
    factor: float = 1.0
    found: list[tuple[str, str]] = field(default_factory=list)
    used_x: set[int] = field(default_factory=set)
    used_y: set[int] = field(default_factory=set)
    # side ("x" or "y") -> the word a concession left unexplained ("goes by middle name" skips
    # the first name, "second surname ... ignored" the last one)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def rev(self) -> dict[int, tuple[int, str]]:
        return {j: (i, kind) for i, (j, kind) in self.pairs.items()}

    def take(
        self, xs: Iterable[int], ys: Iterable[int], factor: float, note: tuple[str, str]
    ) -> None:
        self.factor *= factor
        self.found.append(note)
        self.used_x.update(xs)
        self.used_y.update(ys)

    def result(self) -> NameResult:
        result = NameResult(round(100 * self.factor))
        for tag, note in self.found:
            if note:
                result = result.plus(tag, note)
        return result


def _match_given(t: _Tally) -> bool:
    """First names agree, or one side goes by the other's middle name ("J. Robert Smith")."""
    pairs, rev, nx, ny = t.pairs, t.rev, len(t.x), len(t.y)
    if 0 in pairs and pairs[0][0] == 0:
        kind = pairs[0][1]
        t.take({0}, {0}, GIVEN_FACTOR[kind], _pair_note(kind, t.x[0], t.y[0], role="given"))
    elif 0 in rev and role_of(rev[0][0], nx) == "middle":
        i, kind = rev[0]
        note = ("middle name", f"goes by middle name {display_word(t.x[i])}")
        t.take({0, i}, {0}, 0.85 * MIDDLE_FACTOR[kind], note)
        t.skipped["x"] = t.x[0]
    elif 0 in pairs and role_of(pairs[0][0], ny) == "middle":
        j, kind = pairs[0]
        note = ("middle name", f"goes by middle name {display_word(t.y[j])}")
        t.take({0}, {0, j}, 0.85 * MIDDLE_FACTOR[kind], note)
        t.skipped["y"] = t.y[0]
    else:
        return False
    return True


def _match_surname(t: _Tally) -> bool:
    """Surnames agree, or one side adds a second surname ("Garcia" vs "Garcia Lopez")."""
    pairs, rev = t.pairs, t.rev
    sx, sy = len(t.x) - 1, len(t.y) - 1
    if sx in pairs and pairs[sx][0] == sy:
        kind = pairs[sx][1]
        t.take({sx}, {sy}, SURNAME_FACTOR[kind], _pair_note(kind, t.x[sx], t.y[sy], role="surname"))
    elif sx in pairs and role_of(pairs[sx][0], len(t.y)) == "middle" and sy not in t.used_y:
        j, kind = pairs[sx]
        note = ("double surname", f"second surname {display_word(t.y[sy])} ignored")
        t.take({sx}, {j, sy}, 0.95 * SURNAME_FACTOR[kind], note)
        t.skipped["y"] = t.y[sy]
    elif sy in rev and role_of(rev[sy][0], len(t.x)) == "middle" and sx not in t.used_x:
        i, kind = rev[sy]
        note = ("double surname", f"second surname {display_word(t.x[sx])} ignored")
        t.take({i, sx}, {sy}, 0.95 * SURNAME_FACTOR[kind], note)
        t.skipped["x"] = t.x[sx]
    else:
        return False
    return True


def _match_middles(t: _Tally) -> None:
    """Middle names: matching ones cost little, extra ones less, conflicting ones more."""
    for i, (j, kind) in t.pairs.items():
        if i not in t.used_x and j not in t.used_y:
            t.take({i}, {j}, MIDDLE_FACTOR[kind], _pair_note(kind, t.x[i], t.y[j], role="middle"))
    extra_x = " ".join(display_word(w) for i, w in enumerate(t.x) if i not in t.used_x)
    extra_y = " ".join(display_word(w) for j, w in enumerate(t.y) if j not in t.used_y)
    if extra_x and extra_y:
        note = f"middle names differ ({extra_x} vs {extra_y})"
        t.take((), (), 0.75, ("middle names differ", note))
    elif extra_x or extra_y:
        extra = extra_x or extra_y
        what = "middle initial" if all(len(w) == 1 for w in extra.split()) else "middle name"
        t.take((), (), 0.97, ("", f"{what} {extra} ignored"))


def _score_tokens(x: tuple[str, ...], y: tuple[str, ...]) -> NameResult:
    """Score two names whose tokens are in given ... surname order."""
    y = merge_concatenations(tuple(t.replace("-", "") for t in x), y)
    x = merge_concatenations(tuple(t.replace("-", "") for t in y), x)
    x, y = settle_compounds(x, y), settle_compounds(y, x)
    y, x = drop_particles(y)[:8], drop_particles(x)[:8]
    if not x or not y:
        return ZERO
    pairs = align(x, y)
    if len(x) == 1 or len(y) == 1:
        return _score_single(x, y, pairs)
    tally = _Tally(x, y, pairs)
    given_ok = _match_given(tally)
    surname_ok = _match_surname(tally)
    if not given_ok or not surname_ok:
        return _conflict(x, y, pairs, given_ok=given_ok, surname_ok=surname_ok)
    if len(tally.skipped) == 2:
        # Each side keeps a word the other lacks where a first name goes ("Noor El-Amin" vs
        # "Karim El-Amin" read as "El Amin Noor"): only the family name is shared, so these are
        # relatives, not one person.
        mine, theirs = display_word(tally.skipped["x"]), display_word(tally.skipped["y"])
        note = f"first names differ ({mine} vs {theirs})"
        return NameResult(30, ("first names differ",), (note,))
    _match_middles(tally)
    return tally.result()


def _conflict(
    x: tuple[str, ...],
    y: tuple[str, ...],
    pairs: dict[int, tuple[int, str]],
    *,
    given_ok: bool,
    surname_ok: bool,
) -> NameResult:
    if not pairs:
        return NameResult(0, ("names differ",), ("no name in common",))
    if not given_ok and not surname_ok:
        return NameResult(10, ("names differ",), ("first names and surnames differ",))
    if not given_ok:
        note = f"first names differ ({display_word(x[0])} vs {display_word(y[0])})"
        return NameResult(30, ("first names differ",), (note,))
    note = f"surnames differ ({display_word(x[-1])} vs {display_word(y[-1])})"
    return NameResult(35, ("surnames differ",), (note,))


def _orientations(p: Person) -> list[tuple[tuple[str, ...], bool]]:
    """Token orders worth trying: banks often print "SMITH JOHN Q" without a comma."""
    t = p.tokens
    if p.ordered or len(t) < 2:
        return [(t, False)]
    rotations = [t[k:] + t[:k] for k in range(1, min(len(t), 3))]
    # An initial is never a surname, so "J ROBERT SMITH" is not rotated into "... J".
    return [(t, False)] + [(r, True) for r in rotations if len(r[-1]) > 1]


def compare_people(p: Person, q: Person) -> NameResult:
    best: NameResult | None = None
    for (tp, rotated_p), (tq, rotated_q) in product(_orientations(p), _orientations(q)):
        if rotated_p and rotated_q:
            continue
        result = _score_tokens(tp, tq)
        if rotated_p or rotated_q:
            result = result.plus("order", "written surname first", 0.98)
        if best is None or result.score > best.score:
            best = result
    if best is None or best.score == 0:
        return best or ZERO
    if (p.comma_form or q.comma_form) and "order" not in best.tags:
        best = best.plus("order", "written as 'Surname, Given'")
    if p.suffix and q.suffix and p.suffix != q.suffix:
        best = best.plus("suffixes differ", f"suffixes differ ({p.suffix} vs {q.suffix})", 0.6)
    elif p.suffix != q.suffix:
        best = best.plus("", f"suffix {p.suffix or q.suffix} ignored", 0.98)
    titles = [*p.titles, *q.titles]
    if titles:
        best = best.plus(
            "", f"title {', '.join(dict.fromkeys(display_word(t) for t in titles))} ignored"
        )
    return best
