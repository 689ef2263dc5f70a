"""Two written names of any kind compared: people, businesses, a person against a business,
DBA/AKA aliases and joint owners; :func:`compare_names` explains the result in words."""

from __future__ import annotations

from itertools import product

from services.rules.owners.names import (
    ZERO,
    Alias,
    Business,
    NameResult,
    Person,
    parse_business,
    parse_name,
)
from services.rules.owners.people import compare_people
from services.rules.owners.results import NAME_MATCH, NAME_MISMATCH
from services.rules.owners.similarity import align, token_similarity
from services.rules.owners.text import display_word, fold, name_text


def _compare_businesses(a: Business, b: Business) -> NameResult:
    return _compare_business_words(a, b).about("business")


def _compare_business_words(a: Business, b: Business) -> NameResult:
    if not a.tokens or not b.tokens:
        return ZERO
    dropped = list(dict.fromkeys((*a.dropped, *b.dropped)))
    if a.tokens == b.tokens:
        result = NameResult(100)
    elif sorted(a.tokens) == sorted(b.tokens):
        result = NameResult(96, ("order",), ("same words in another order",))
    elif "".join(a.tokens) == "".join(b.tokens):
        result = NameResult(96, ("spacing",), ("same words, spaced differently",))
    else:
        result = _business_overlap(a.tokens, b.tokens)
    if a.forms and b.forms and not (a.forms & b.forms):
        forms = f"{'/'.join(sorted(a.forms))} vs {'/'.join(sorted(b.forms))}"
        result = result.plus("legal forms differ", f"legal forms differ ({forms})", 0.9)
    elif dropped:
        result = result.plus("", f"{', '.join(dropped)} ignored")
    return result


def _business_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> NameResult:
    """Dice overlap of words, allowing typos: "Acme Widgets" vs "Acme Widget Supply"."""
    pairs = align(a[:8], b[:8])
    total = sum(token_similarity(a[i], b[j])[0] for i, (j, _) in pairs.items())
    dice = 2 * total / (len(a) + len(b))
    score = min(90, round(100 * dice))
    typos = [
        f"{display_word(a[i])} ~ {display_word(b[j])}" for i, (j, k) in pairs.items() if k == "typo"
    ]
    note = f"{len(pairs)} of {max(len(a), len(b))} words in common"
    result = NameResult(score, ("partly the same words",), (note,))
    return result.plus("spelling", f"spelling {', '.join(typos)}") if typos else result


def _person_vs_business(person: Person, business: Business) -> NameResult:
    words = set(business.tokens)
    t = person.tokens
    if len(t) >= 2 and t[0] in words and t[-1] in words:
        note = "the business is named after the person (sole proprietor or trust?)"
        return NameResult(60, ("person vs business",), (note,))
    if t and t[-1] in words:
        return NameResult(
            25, ("person vs business",), ("only the surname appears in the business name",)
        )
    return NameResult(5, ("person vs business",), ("one name is a business, the other a person",))


def _compare_mixed(a: Alias, b: Alias) -> NameResult:
    """A business against a name that reads like a person.

    The "person" may be the company written without its legal form ("Acme Widgets"),
    so it is also compared as a business; the better reading wins.
    """
    business, other = (a.business, b) if a.business else (b.business, a)
    assert business is not None
    as_person = max(
        (_person_vs_business(p, business) for group in other.interpretations for p in group),
        key=lambda r: r.score,
        default=ZERO,
    )
    as_business = _compare_businesses(business, parse_business(fold(other.text)))
    if as_business.score > as_person.score:
        return as_business
    return as_person.about("mixed")


def _compare_aliases(a: Alias, b: Alias) -> NameResult:
    if a.business and b.business:
        return _compare_businesses(a.business, b.business)
    if a.business or b.business:
        return _compare_mixed(a, b)
    best: NameResult | None = None
    for ga, gb in product(a.interpretations, b.interpretations):
        for (ia, pa), (ib, pb) in product(enumerate(ga), enumerate(gb)):
            result = compare_people(pa, pb)
            if best is not None and result.score <= best.score:
                continue
            if len(gb) > 1 and result.score >= NAME_MISMATCH:
                result = result.plus("joint", _joint_words(pb, ib, gb, b.text))
            if len(ga) > 1 and result.score >= NAME_MISMATCH:
                result = result.plus("joint", _joint_words(pa, ia, ga, a.text))
            best = result
    return best or ZERO


def _joint_words(person: Person, index: int, group: tuple[Person, ...], text: str) -> str:
    return f"'{person.display}' is person {index + 1} of {len(group)} in '{text}'"


def _verdict_words(score: int) -> str:
    if score >= NAME_MATCH:
        return "same"
    return "possibly the same" if score >= NAME_MISMATCH else "different"


def name_result(a: str, b: str) -> NameResult:
    """The best reading of two names over every alias and interpretation."""
    best: NameResult | None = None
    for (ia, xa), (ib, xb) in product(enumerate(parse_name(a)), enumerate(parse_name(b))):
        result = _compare_aliases(xa, xb)
        if ia or ib:
            alias = xb.text if ib else xa.text
            result = result.plus("DBA", f"matched the other name '{alias}'")
        if best is None or result.score > best.score:
            best = result
    if best is None:
        return ZERO
    if best.score and not best.notes and a.strip() != b.strip():
        best = best.plus(
            "", "same name written differently (case, accents, spacing or punctuation)"
        )
    return best


def name_detail(result: NameResult) -> str:
    """ "same person: nickname Bob = Robert, middle initial J ignored"."""
    notes = ", ".join(result.notes) if result.notes else "identical names"
    if result.subject == "mixed":
        head = "a person and a business" if result.score < NAME_MISMATCH else "possibly related"
        return f"{head}: {notes}"
    return f"{_verdict_words(result.score)} {result.subject}: {notes}"


def compare_names(a: str, b: str) -> tuple[int, str]:
    """Score (0-100) how likely two written names are the same person or business.

    Returns the score and an explanation such as
    "same person: nickname Bob = Robert, middle initial J ignored".
    """
    a, b = name_text(a), name_text(b)
    if not a or not b:
        return 0, "no name to compare"
    result = name_result(a, b)
    return result.score, name_detail(result)


def readable(name: str) -> bool:
    """Whether the name has Latin letters this module can compare."""
    return bool(parse_name(name))


def person_count(raw: str) -> int:
    aliases = parse_name(raw)
    if not aliases or aliases[0].business or not aliases[0].interpretations:
        return 1 if aliases else 0
    return len(aliases[0].interpretations[0])
