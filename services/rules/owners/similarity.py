"""Word against word: exact, nickname, initial, keyboard slip, hyphenated compounds; the best
one-to-one pairing of two names' words."""

from __future__ import annotations

from functools import cache, lru_cache

from services.rules.nicknames import nickname_formal
from services.rules.owners.names import PARTICLES

# --------------------------------------------------------------------------- names: tokens


def _single_edit(a: str, b: str) -> tuple[str, int] | None:
    """("swap"|"sub"|"indel", position) when a and b differ by exactly one edit."""
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return "sub", diffs[0]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            if a[i] == b[i + 1] and a[i + 1] == b[i]:
                return "swap", i
        return None
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    if len(longer) - len(shorter) != 1:
        return None
    i = next(
        (k for k, (x, y) in enumerate(zip(shorter, longer, strict=False)) if x != y), len(shorter)
    )
    return ("indel", i) if longer[i + 1 :] == shorter[i:] else None


def _is_typo(a: str, b: str) -> bool:
    """A slip of the keyboard, not a different name.

    Edits in the last two letters are refused because that is where names change
    gender or form (Robert/Roberta, Mario/Maria, Francis/Frances); swapped letters
    (Jonh, Micheal) are accepted anywhere.
    """
    edit = _single_edit(a, b)
    if edit is None:
        return False
    kind, pos = edit
    if kind == "swap":
        return min(len(a), len(b)) >= 4
    longest = max(len(a), len(b))
    return min(len(a), len(b)) >= 5 and 1 <= pos < longest - 2


@lru_cache(maxsize=16384)
def token_similarity(a: str, b: str) -> tuple[float, str]:
    if a == b:
        return 1.0, "exact"
    if len(a) == 1 or len(b) == 1:
        return (0.6, "initial") if a[0] == b[0] else (0.0, "")
    if "-" in a or "-" in b:
        return _compound_similarity(a, b)
    if nickname_formal(a, b):
        return 0.95, "nickname"
    if _is_typo(a, b):
        return 0.88, "typo"
    return 0.0, ""


def _compound_similarity(a: str, b: str) -> tuple[float, str]:
    """A hyphenated first name is one name: Ji-hoon is not Ji-woo, and "Jean" for "Jean-Pierre"
    is only part of it."""
    if a.replace("-", "") == b.replace("-", ""):
        return 1.0, "exact"
    if _is_typo(a.replace("-", ""), b.replace("-", "")):
        return 0.88, "typo"
    compound, other = (a, b) if "-" in a else (b, a)
    if "-" not in other and compound.split("-")[0] == other:
        return 0.8, "part"
    return 0.0, ""


def settle_compounds(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
    """x's hyphenated words: joined where y writes them whole (hyphenated, joined or, after
    merging, spaced); split into parts only where y has one part as a word of its own
    ("Garcia-Lopez" vs "Garcia"), so a double surname can meet its half. Otherwise a
    hyphenated word stays one name: Ji-hoon is never Ji plus a middle name Hoon. A first name
    is never split."""
    whole = {t.replace("-", "") for t in y}
    simple = {t for t in y if "-" not in t}
    out: list[str] = []
    for i, token in enumerate(x):
        joined = token.replace("-", "")
        parts = [part for part in token.split("-") if part]
        if "-" not in token:
            out.append(token)
        elif joined in whole:
            out.append(joined)
        elif i > 0 and simple.intersection(parts):
            out.extend(parts)
        else:
            out.append(token)
    return tuple(out)


def role_of(i: int, n: int) -> str:
    if n == 1:
        return "only"
    if i == 0:
        return "given"
    return "surname" if i == n - 1 else "middle"


def _role_bonus(ra: str, rb: str) -> float:
    if ra == rb:
        return 0.02
    return 0.01 if {ra, rb} <= {"middle", "surname", "only"} else 0.0


def align(x: tuple[str, ...], y: tuple[str, ...]) -> dict[int, tuple[int, str]]:
    """Best one-to-one pairing of tokens (x index -> (y index, kind))."""
    sims = [[token_similarity(a, b) for b in y] for a in x]

    @cache
    def best(i: int, used: int) -> tuple[float, tuple[tuple[int, int], ...]]:
        if i == len(x):
            return 0.0, ()
        result = best(i + 1, used)
        for j in range(len(y)):
            sim = sims[i][j][0]
            if used & (1 << j) or sim == 0:
                continue
            sub_total, sub_pairs = best(i + 1, used | (1 << j))
            total = sim + _role_bonus(role_of(i, len(x)), role_of(j, len(y))) + sub_total
            if total > result[0] + 1e-9:
                result = (total, ((i, j), *sub_pairs))
        return result

    return {i: (j, sims[i][j][1]) for i, j in best(0, 0)[1]}


def merge_concatenations(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
    """Join runs of y that x writes as one word: "Mary Ann" = "Maryann", "De La Cruz"."""
    targets = set(x)
    out = list(y)
    for n in (3, 2):
        i = 0
        while i + n <= len(out):
            run = out[i : i + n]
            joined = "".join(run)
            if joined in targets and all(len(t) >= 2 for t in run) and joined not in out:
                out[i : i + n] = [joined]
            i += 1
    return tuple(out)


def drop_particles(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """ "Juan de la Cruz" = "Juan Cruz". A particle only introduces a surname, so the last word
    is never one: Lê, Le, Da, Di and Du are surnames in their own right ("Tuan E Le")."""
    last = len(tokens) - 1
    rest = [t for i, t in enumerate(tokens) if i in (0, last) or t not in PARTICLES]
    return tuple(rest) if len(rest) >= 2 else tokens


GIVEN_FACTOR = {"exact": 1.0, "nickname": 0.95, "typo": 0.88, "initial": 0.7, "part": 0.8}
SURNAME_FACTOR = {"exact": 1.0, "nickname": 0.9, "typo": 0.88, "initial": 0.6, "part": 0.9}
MIDDLE_FACTOR = {"exact": 1.0, "nickname": 0.97, "typo": 0.95, "initial": 0.98, "part": 0.97}
