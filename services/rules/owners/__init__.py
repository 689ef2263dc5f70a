"""Compare a bank account's owners (Financial Connections) with the Stripe customer record.

Financial Connections returns the owners the bank has on file for a linked account
(``financial_connections.account_owner``: ``name`` always, ``email``/``phone``/
``raw_address`` when the institution shares them). Before debiting an account an operator
wants to know whether it belongs to the customer. Banks and customers write names very
differently ("SMITH, ROBERT J" vs "Bob Smith"), so exact string equality is useless and
this module compares the way a person would: order, nicknames, initials, suffixes,
double surnames, typos, joint owners and business legal forms.

Everything here is pure and total: odd input (None, missing keys, empty strings) gives
``no_data`` or low scores, never an exception, because the page shows the result next to
live Stripe data and must not crash on a bank's quirks.

See https://docs.stripe.com/financial-connections/ownership for the owner object.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from itertools import product
from typing import Any

from services.rules.nicknames import nickname_formal

# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class FieldMatch:
    """How one field of the customer compares with the same field of one owner."""

    field: str  # "name" | "email" | "phone" | "address"
    score: int | None  # 0-100, None when either side has no data for the field
    customer_value: str | None
    owner_value: str | None
    detail: str


@dataclass(frozen=True)
class OwnerMatch:
    """The comparison against one owner."""

    owner_name: str
    score: int
    fields: dict[str, FieldMatch]


@dataclass(frozen=True)
class OwnershipMatch:
    """The verdict for an account: the best owner's comparison plus every owner's."""

    score: int
    verdict: str  # "match" | "partial" | "mismatch" | "no_data"
    reason: str
    fields: dict[str, FieldMatch]
    best_owner: str | None
    owners: list[OwnerMatch]
    joint: bool


# --------------------------------------------------------------------------- thresholds

NAME_MATCH = 85  # name score at or above which the names are the same person
NAME_MISMATCH = 50  # name score below which the owner is someone else
OVERALL_MATCH = 85
FIELD_WEIGHTS: dict[str, float] = {"name": 0.6, "email": 0.15, "phone": 0.1, "address": 0.15}

# --------------------------------------------------------------------------- safe access


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` or None; Stripe objects support ``[]`` but not ``.get()``."""
    if obj is None:
        return None
    try:
        return obj[key]
    except Exception:  # odd input must never break the page
        return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


# --------------------------------------------------------------------------- text folding

_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")


def _fold(text: str) -> str:
    """Lowercase ASCII: accents dropped, apostrophes removed (O'Brien = OBrien)."""
    text = _APOSTROPHES.sub("", text.lower()).translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _display(token: str) -> str:
    return token.upper() if len(token) == 1 else token.capitalize()


# --------------------------------------------------------------------------- names: vocabulary


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TITLES = _wordset(
    "mr mrs ms miss mx dr doctor prof professor rev reverend sir dame hon sra srta mme mlle "
    "capt col lt sgt maj"
)
_GENERATIONS = {
    "jr": "Jr", "junior": "Jr", "sr": "Sr", "senior": "Sr",
    "ii": "II", "2nd": "II", "iii": "III", "3rd": "III", "iv": "IV", "4th": "IV",
}  # fmt: skip
_CREDENTIALS = _wordset("md phd dds dmd esq cpa rn dvm jd mba cfa")
_PARTICLES = _wordset("de del della la las los da das dos di du van von der den ter le")

# Legal forms: canonical value used to notice "LLC vs Inc".
_LEGAL_FORMS = {
    "inc": "Inc", "incorporated": "Inc", "corp": "Corp", "corporation": "Corp",
    "llc": "LLC", "lc": "LLC", "ltd": "Ltd", "limited": "Ltd", "co": "Co", "company": "Co",
    "plc": "PLC", "llp": "LLP", "lllp": "LLP", "lp": "LP", "pllc": "PLLC", "pc": "PC",
    "pa": "PA", "gmbh": "GmbH", "sa": "SA", "nv": "NV", "bv": "BV", "pty": "Pty", "ag": "AG",
}  # fmt: skip
# Forms that are unmistakable anywhere; the short ones count only as the last word.
_UNAMBIGUOUS_FORMS = _wordset(
    "inc incorporated corp corporation llc ltd limited company plc llp lllp pllc gmbh"
)
_BUSINESS_WORDS = _wordset("""services service solutions group holdings partners partnership associates enterprises
    industries international consulting consultants systems technologies technology labs
    laboratories studio studios store stores shop restaurant cafe bakery plumbing construction
    contractors ministries foundation association society club academy university college
    hospital clinic dental medical pharmacy bank insurance realty properties investments capital
    ventures management marketing media designs motors automotive farms ranch trust fund agency
    logistics trucking transport supply supplies products manufacturing mfg intl svcs bros
    brothers sons daughters center centre school""")
_BUSINESS_ABBREVIATIONS = {
    "intl": "international", "mfg": "manufacturing", "svc": "services", "svcs": "services",
    "service": "services", "assoc": "associates", "assocs": "associates", "bros": "brothers",
    "natl": "national", "mgmt": "management", "grp": "group", "ctr": "center", "centre": "center",
    "technologies": "technology", "tech": "technology", "dept": "department", "sys": "systems",
}  # fmt: skip
_BUSINESS_STOPWORDS = frozenset({"the", "and", "of"})

_ALIAS_SPLIT = re.compile(
    r"\s*,?\s*(?:\bd\s*/\s*b\s*/\s*a\b|\bd\s*\.\s*b\s*\.\s*a\b\.?|\bdba\b|\bt\s*/\s*a\b"
    r"|\ba\s*/\s*k\s*/\s*a\b|\baka\b|\bf\s*/\s*k\s*/\s*a\b|\bfka\b|\btrading as\b"
    r"|\bdoing business as\b)\s*,?\s*"
)
# A beneficiary named after ITF/POD/TOD/FBO is not an owner of the account.
_BENEFICIARY = re.compile(
    r"\s*,?\s*\b(?:itf|pod|tod|fbo|in trust for|payable on death(?: to)?|transfer on death(?: to)?)\b.*$"
)
_CUSTODIAN = re.compile(r"\b(?:custodian|cust)\b(?:\s+for\b)?")
_ANNOTATIONS = re.compile(
    r"\b(?:jtwros|jt\s+ten|jt|wros|ten\s+com|tic|et\s+al|etal|joint|ttee|trustees?|"
    r"(?:utma|ugma)(?:\s+[a-z]{2}\b)?|poa|executor|executrix|deceased|estate\s+of)\b"
)
_CONNECTORS = re.compile(r"\s*(?:&|\+|/|\band\s*/\s*or\b|\band\b|\bor\b)\s*")
_DOTTED_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")


# --------------------------------------------------------------------------- names: parsed forms


@dataclass(frozen=True)
class _Person:
    tokens: tuple[str, ...]  # given ... surname, titles/suffixes removed
    ordered: bool  # order known (written "Surname, Given") or reconstructed
    comma_form: bool = False
    suffix: str | None = None
    titles: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return " ".join(_display(t) for t in self.tokens)


@dataclass(frozen=True)
class _Business:
    tokens: tuple[str, ...]
    forms: frozenset[str]
    dropped: tuple[str, ...]  # words ignored: legal forms, "the"


@dataclass(frozen=True)
class _Alias:
    text: str  # the alias as written (for explanations)
    business: _Business | None
    interpretations: tuple[tuple[_Person, ...], ...]


@dataclass(frozen=True)
class _NameResult:
    score: int
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    subject: str = "person"  # "person" | "business" | "mixed" (a person against a business)

    def plus(self, tag: str, note: str, factor: float = 1.0) -> _NameResult:
        return replace(
            self,
            score=round(self.score * factor),
            tags=self.tags if tag in self.tags or not tag else (*self.tags, tag),
            notes=(*self.notes, note),
        )

    def about(self, subject: str) -> _NameResult:
        return replace(self, subject=subject)


_ZERO = _NameResult(0, (), ("nothing to compare",))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text)


def _looks_like_business(folded: str) -> bool:
    words = _words(_DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), folded))
    if not words:
        return False
    if any(w in _UNAMBIGUOUS_FORMS or w in _BUSINESS_WORDS for w in words):
        return True
    if len(words) >= 2 and words[-1] in _LEGAL_FORMS:
        return True
    return any(any(c.isdigit() for c in w) and w not in _GENERATIONS for w in words)


def _business_token(word: str) -> str:
    word = _BUSINESS_ABBREVIATIONS.get(word, word)
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]  # Widgets = Widget
    return word


def _parse_business(folded: str) -> _Business:
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), folded)
    words = _words(text.replace("&", " and ").replace("+", " and "))
    forms: list[str] = []
    dropped: list[str] = []
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        forms.append(_LEGAL_FORMS[words[-1]])
        dropped.append(_LEGAL_FORMS[words[-1]])
        words.pop()
    kept = []
    for w in words:
        if w in _BUSINESS_STOPWORDS:
            if w == "the":
                dropped.append("'The'")
            continue
        kept.append(_business_token(w))
    return _Business(tuple(kept), frozenset(forms), tuple(dropped))


_NAME_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _split_person_words(segment: str) -> tuple[list[str], str | None, list[str]]:
    """Words of one name with titles, generational suffixes and credentials taken out."""
    # Hyphenated words stay one word ("Ji-hoon", "El-Amin"): a hyphen joins one name, and the
    # scorer decides later whether the parts may be compared apart.
    words = _NAME_WORD.findall(segment.replace(".", " "))[:12]  # no real name is longer
    if words and all(w in _GENERATIONS or w in _CREDENTIALS for w in words):
        # a segment that is only a suffix, as in "Smith, John, Jr."
        return [], next((_GENERATIONS[w] for w in words if w in _GENERATIONS), None), []
    titles: list[str] = []
    while len(words) > 1 and words[0] in _TITLES:
        titles.append(words.pop(0))
    suffix = None
    kept: list[str] = []
    for i, w in enumerate(words):
        if i > 0 and w in _GENERATIONS:
            suffix = suffix or _GENERATIONS[w]
        elif (i > 0 and w in _CREDENTIALS) or w.isdigit():
            continue
        else:
            kept.append(w)
    return kept, suffix, titles


def _parse_comma_part(part: str) -> list[tuple[_Person, ...]]:
    """One connector-free part: "John Smith", "Smith, John Q", "John Smith, Jr."."""
    pieces: list[tuple[list[str], str | None, list[str]]] = []
    for segment in part.split(","):
        words, suffix, titles = _split_person_words(segment)
        if not words and pieces:
            prev = pieces[-1]
            pieces[-1] = (prev[0], prev[1] or suffix, prev[2] + titles)
        elif words:
            pieces.append((words, suffix, titles))
    if not pieces:
        return []
    if len(pieces) == 1:
        w, s, t = pieces[0]
        return [(_Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)),)]
    if len(pieces) == 2:
        (last, s1, t1), (first, s2, t2) = pieces
        ordered = _Person(
            tuple(first + last),
            ordered=True,
            comma_form=True,
            suffix=s1 or s2,
            titles=tuple(t1 + t2),
        )
        if len(last) >= 2 and len(first) >= 2:  # "John Smith, Jane Doe" reads as two people too
            apart = tuple(
                _Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)) for w, s, t in pieces
            )
            return [(ordered,), apart]
        return [(ordered,)]
    return [
        tuple(_Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)) for w, s, t in pieces)
    ]


def _borrow_surnames(people: tuple[_Person, ...]) -> list[tuple[_Person, ...]]:
    """ "John & Jane Smith": a lone given name takes the surname of the next person."""
    if len(people) < 2:
        return [people]
    options: list[list[_Person]] = []
    for i, person in enumerate(people):
        if len(person.tokens) != 1:
            options.append([person])
            continue
        donors = [p for p in people[i + 1 :] if len(p.tokens) >= 2] + [
            p for p in reversed(people[:i]) if len(p.tokens) >= 2
        ]
        if not donors:
            options.append([person])
            continue
        donor = donors[0]
        surnames = [donor.tokens[-1]] if donor.ordered else [donor.tokens[-1], donor.tokens[0]]
        options.append(
            [
                replace(person, tokens=(person.tokens[0], s), ordered=True)
                for s in dict.fromkeys(surnames)
            ]
        )
    return [tuple(combo) for combo in list(product(*options))[:6]]


def _parse_people(folded: str) -> tuple[tuple[_Person, ...], ...]:
    text = _CUSTODIAN.sub(" & ", folded)
    text = _ANNOTATIONS.sub(" ", text).replace("(", " ").replace(")", " ")
    parts = [p for p in _CONNECTORS.split(text) if _words(p)]
    per_part = [_parse_comma_part(p) for p in parts]
    per_part = [alts for alts in per_part if alts]
    if not per_part:
        return ()
    interpretations: list[tuple[_Person, ...]] = []
    for combo in list(product(*per_part))[:6]:
        people = tuple(p for group in combo for p in group)
        interpretations.extend(_borrow_surnames(people))
    return tuple(dict.fromkeys(interpretations))[:8]


def _single_words_only(interpretations: tuple[tuple[_Person, ...], ...]) -> bool:
    return all(len(g) > 1 and all(len(p.tokens) == 1 for p in g) for g in interpretations)


@lru_cache(maxsize=4096)
def _parse_name(raw: str) -> tuple[_Alias, ...]:
    """Every way to read a name string: DBA/AKA aliases, then people or a business."""
    raw = raw[:300]  # longer is not a name; keep pathological input cheap
    folded = _fold(raw).replace("(", " ").replace(")", " ")
    chunks = _ALIAS_SPLIT.split(folded)
    shown = re.compile(_ALIAS_SPLIT.pattern, re.IGNORECASE).split(raw)
    if len(shown) != len(chunks):
        shown = chunks
    aliases: list[_Alias] = []
    for chunk, display in zip(chunks, shown, strict=True):
        chunk = _BENEFICIARY.sub("", chunk).strip(" ,")
        if not _words(chunk):
            continue
        display = display.strip(" ,()")
        if _looks_like_business(chunk):
            business = _parse_business(chunk)
            if business.tokens:
                aliases.append(_Alias(display, business, ()))
            continue
        people = _parse_people(chunk)
        if people and _single_words_only(people):
            # "Smith & Wesson", "Procter and Gamble": a firm, not two people without surnames
            aliases.append(_Alias(display, _parse_business(chunk), ()))
        elif people:
            aliases.append(_Alias(display, None, people))
    return tuple(aliases)


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
def _token_similarity(a: str, b: str) -> tuple[float, str]:
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


def _settle_compounds(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
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


def _role(i: int, n: int) -> str:
    if n == 1:
        return "only"
    if i == 0:
        return "given"
    return "surname" if i == n - 1 else "middle"


def _role_bonus(ra: str, rb: str) -> float:
    if ra == rb:
        return 0.02
    return 0.01 if {ra, rb} <= {"middle", "surname", "only"} else 0.0


def _align(x: tuple[str, ...], y: tuple[str, ...]) -> dict[int, tuple[int, str]]:
    """Best one-to-one pairing of tokens (x index -> (y index, kind))."""
    sims = [[_token_similarity(a, b) for b in y] for a in x]

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
            total = sim + _role_bonus(_role(i, len(x)), _role(j, len(y))) + sub_total
            if total > result[0] + 1e-9:
                result = (total, ((i, j), *sub_pairs))
        return result

    return {i: (j, sims[i][j][1]) for i, j in best(0, 0)[1]}


def _merge_concatenations(x: tuple[str, ...], y: tuple[str, ...]) -> tuple[str, ...]:
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


def _drop_particles(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """ "Juan de la Cruz" = "Juan Cruz". A particle only introduces a surname, so the last word
    is never one: Lê, Le, Da, Di and Du are surnames in their own right ("Tuan E Le")."""
    last = len(tokens) - 1
    rest = [t for i, t in enumerate(tokens) if i in (0, last) or t not in _PARTICLES]
    return tuple(rest) if len(rest) >= 2 else tokens


_GIVEN_FACTOR = {"exact": 1.0, "nickname": 0.95, "typo": 0.88, "initial": 0.7, "part": 0.8}
_SURNAME_FACTOR = {"exact": 1.0, "nickname": 0.9, "typo": 0.88, "initial": 0.6, "part": 0.9}
_MIDDLE_FACTOR = {"exact": 1.0, "nickname": 0.97, "typo": 0.95, "initial": 0.98, "part": 0.97}


def _pair_note(kind: str, a: str, b: str, *, role: str) -> tuple[str, str]:
    """(tag, words) describing how two matched tokens relate."""
    da, db = _display(a), _display(b)
    if kind == "nickname":
        formal = nickname_formal(a, b) or ""
        if formal not in (a, b):
            return "nickname", f"nicknames {da} and {db} (both {_display(formal)})"
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
) -> _NameResult:
    if not pairs:
        return _NameResult(0, ("names differ",), ("names differ",))
    i, (j, kind) = next(iter(pairs.items()))
    factor = _GIVEN_FACTOR.get(kind, 0.7)
    base = 70 if len(x) == len(y) == 1 else 55
    result = _NameResult(round(base * factor), ("one name only",), ("only one name to compare",))
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

    def result(self) -> _NameResult:
        result = _NameResult(round(100 * self.factor))
        for tag, note in self.found:
            if note:
                result = result.plus(tag, note)
        return result


def _match_given(t: _Tally) -> bool:
    """First names agree, or one side goes by the other's middle name ("J. Robert Smith")."""
    pairs, rev, nx, ny = t.pairs, t.rev, len(t.x), len(t.y)
    if 0 in pairs and pairs[0][0] == 0:
        kind = pairs[0][1]
        t.take({0}, {0}, _GIVEN_FACTOR[kind], _pair_note(kind, t.x[0], t.y[0], role="given"))
    elif 0 in rev and _role(rev[0][0], nx) == "middle":
        i, kind = rev[0]
        note = ("middle name", f"goes by middle name {_display(t.x[i])}")
        t.take({0, i}, {0}, 0.85 * _MIDDLE_FACTOR[kind], note)
        t.skipped["x"] = t.x[0]
    elif 0 in pairs and _role(pairs[0][0], ny) == "middle":
        j, kind = pairs[0]
        note = ("middle name", f"goes by middle name {_display(t.y[j])}")
        t.take({0}, {0, j}, 0.85 * _MIDDLE_FACTOR[kind], note)
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
        t.take(
            {sx}, {sy}, _SURNAME_FACTOR[kind], _pair_note(kind, t.x[sx], t.y[sy], role="surname")
        )
    elif sx in pairs and _role(pairs[sx][0], len(t.y)) == "middle" and sy not in t.used_y:
        j, kind = pairs[sx]
        note = ("double surname", f"second surname {_display(t.y[sy])} ignored")
        t.take({sx}, {j, sy}, 0.95 * _SURNAME_FACTOR[kind], note)
        t.skipped["y"] = t.y[sy]
    elif sy in rev and _role(rev[sy][0], len(t.x)) == "middle" and sx not in t.used_x:
        i, kind = rev[sy]
        note = ("double surname", f"second surname {_display(t.x[sx])} ignored")
        t.take({i, sx}, {sy}, 0.95 * _SURNAME_FACTOR[kind], note)
        t.skipped["x"] = t.x[sx]
    else:
        return False
    return True


def _match_middles(t: _Tally) -> None:
    """Middle names: matching ones cost little, extra ones less, conflicting ones more."""
    for i, (j, kind) in t.pairs.items():
        if i not in t.used_x and j not in t.used_y:
            t.take({i}, {j}, _MIDDLE_FACTOR[kind], _pair_note(kind, t.x[i], t.y[j], role="middle"))
    extra_x = " ".join(_display(w) for i, w in enumerate(t.x) if i not in t.used_x)
    extra_y = " ".join(_display(w) for j, w in enumerate(t.y) if j not in t.used_y)
    if extra_x and extra_y:
        note = f"middle names differ ({extra_x} vs {extra_y})"
        t.take((), (), 0.75, ("middle names differ", note))
    elif extra_x or extra_y:
        extra = extra_x or extra_y
        what = "middle initial" if all(len(w) == 1 for w in extra.split()) else "middle name"
        t.take((), (), 0.97, ("", f"{what} {extra} ignored"))


def _score_tokens(x: tuple[str, ...], y: tuple[str, ...]) -> _NameResult:
    """Score two names whose tokens are in given ... surname order."""
    y = _merge_concatenations(tuple(t.replace("-", "") for t in x), y)
    x = _merge_concatenations(tuple(t.replace("-", "") for t in y), x)
    x, y = _settle_compounds(x, y), _settle_compounds(y, x)
    y, x = _drop_particles(y)[:8], _drop_particles(x)[:8]
    if not x or not y:
        return _ZERO
    pairs = _align(x, y)
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
        mine, theirs = _display(tally.skipped["x"]), _display(tally.skipped["y"])
        note = f"first names differ ({mine} vs {theirs})"
        return _NameResult(30, ("first names differ",), (note,))
    _match_middles(tally)
    return tally.result()


def _conflict(
    x: tuple[str, ...],
    y: tuple[str, ...],
    pairs: dict[int, tuple[int, str]],
    *,
    given_ok: bool,
    surname_ok: bool,
) -> _NameResult:
    if not pairs:
        return _NameResult(0, ("names differ",), ("no name in common",))
    if not given_ok and not surname_ok:
        return _NameResult(10, ("names differ",), ("first names and surnames differ",))
    if not given_ok:
        note = f"first names differ ({_display(x[0])} vs {_display(y[0])})"
        return _NameResult(30, ("first names differ",), (note,))
    note = f"surnames differ ({_display(x[-1])} vs {_display(y[-1])})"
    return _NameResult(35, ("surnames differ",), (note,))


def _orientations(p: _Person) -> list[tuple[tuple[str, ...], bool]]:
    """Token orders worth trying: banks often print "SMITH JOHN Q" without a comma."""
    t = p.tokens
    if p.ordered or len(t) < 2:
        return [(t, False)]
    rotations = [t[k:] + t[:k] for k in range(1, min(len(t), 3))]
    # An initial is never a surname, so "J ROBERT SMITH" is not rotated into "... J".
    return [(t, False)] + [(r, True) for r in rotations if len(r[-1]) > 1]


def _compare_people(p: _Person, q: _Person) -> _NameResult:
    best: _NameResult | None = None
    for (tp, rotated_p), (tq, rotated_q) in product(_orientations(p), _orientations(q)):
        if rotated_p and rotated_q:
            continue
        result = _score_tokens(tp, tq)
        if rotated_p or rotated_q:
            result = result.plus("order", "written surname first", 0.98)
        if best is None or result.score > best.score:
            best = result
    if best is None or best.score == 0:
        return best or _ZERO
    if (p.comma_form or q.comma_form) and "order" not in best.tags:
        best = best.plus("order", "written as 'Surname, Given'")
    if p.suffix and q.suffix and p.suffix != q.suffix:
        best = best.plus("suffixes differ", f"suffixes differ ({p.suffix} vs {q.suffix})", 0.6)
    elif p.suffix != q.suffix:
        best = best.plus("", f"suffix {p.suffix or q.suffix} ignored", 0.98)
    titles = [*p.titles, *q.titles]
    if titles:
        best = best.plus(
            "", f"title {', '.join(dict.fromkeys(_display(t) for t in titles))} ignored"
        )
    return best


def _compare_businesses(a: _Business, b: _Business) -> _NameResult:
    return _compare_business_words(a, b).about("business")


def _compare_business_words(a: _Business, b: _Business) -> _NameResult:
    if not a.tokens or not b.tokens:
        return _ZERO
    dropped = list(dict.fromkeys((*a.dropped, *b.dropped)))
    if a.tokens == b.tokens:
        result = _NameResult(100)
    elif sorted(a.tokens) == sorted(b.tokens):
        result = _NameResult(96, ("order",), ("same words in another order",))
    elif "".join(a.tokens) == "".join(b.tokens):
        result = _NameResult(96, ("spacing",), ("same words, spaced differently",))
    else:
        result = _business_overlap(a.tokens, b.tokens)
    if a.forms and b.forms and not (a.forms & b.forms):
        forms = f"{'/'.join(sorted(a.forms))} vs {'/'.join(sorted(b.forms))}"
        result = result.plus("legal forms differ", f"legal forms differ ({forms})", 0.9)
    elif dropped:
        result = result.plus("", f"{', '.join(dropped)} ignored")
    return result


def _business_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> _NameResult:
    """Dice overlap of words, allowing typos: "Acme Widgets" vs "Acme Widget Supply"."""
    pairs = _align(a[:8], b[:8])
    total = sum(_token_similarity(a[i], b[j])[0] for i, (j, _) in pairs.items())
    dice = 2 * total / (len(a) + len(b))
    score = min(90, round(100 * dice))
    typos = [f"{_display(a[i])} ~ {_display(b[j])}" for i, (j, k) in pairs.items() if k == "typo"]
    note = f"{len(pairs)} of {max(len(a), len(b))} words in common"
    result = _NameResult(score, ("partly the same words",), (note,))
    return result.plus("spelling", f"spelling {', '.join(typos)}") if typos else result


def _person_vs_business(person: _Person, business: _Business) -> _NameResult:
    words = set(business.tokens)
    t = person.tokens
    if len(t) >= 2 and t[0] in words and t[-1] in words:
        note = "the business is named after the person (sole proprietor or trust?)"
        return _NameResult(60, ("person vs business",), (note,))
    if t and t[-1] in words:
        return _NameResult(
            25, ("person vs business",), ("only the surname appears in the business name",)
        )
    return _NameResult(5, ("person vs business",), ("one name is a business, the other a person",))


def _compare_mixed(a: _Alias, b: _Alias) -> _NameResult:
    """A business against a name that reads like a person.

    The "person" may be the company written without its legal form ("Acme Widgets"),
    so it is also compared as a business; the better reading wins.
    """
    business, other = (a.business, b) if a.business else (b.business, a)
    assert business is not None
    as_person = max(
        (_person_vs_business(p, business) for group in other.interpretations for p in group),
        key=lambda r: r.score,
        default=_ZERO,
    )
    as_business = _compare_businesses(business, _parse_business(_fold(other.text)))
    if as_business.score > as_person.score:
        return as_business
    return as_person.about("mixed")


def _compare_aliases(a: _Alias, b: _Alias) -> _NameResult:
    if a.business and b.business:
        return _compare_businesses(a.business, b.business)
    if a.business or b.business:
        return _compare_mixed(a, b)
    best: _NameResult | None = None
    for ga, gb in product(a.interpretations, b.interpretations):
        for (ia, pa), (ib, pb) in product(enumerate(ga), enumerate(gb)):
            result = _compare_people(pa, pb)
            if best is not None and result.score <= best.score:
                continue
            if len(gb) > 1 and result.score >= NAME_MISMATCH:
                result = result.plus("joint", _joint_words(pb, ib, gb, b.text))
            if len(ga) > 1 and result.score >= NAME_MISMATCH:
                result = result.plus("joint", _joint_words(pa, ia, ga, a.text))
            best = result
    return best or _ZERO


def _joint_words(person: _Person, index: int, group: tuple[_Person, ...], text: str) -> str:
    return f"'{person.display}' is person {index + 1} of {len(group)} in '{text}'"


def _verdict_words(score: int) -> str:
    if score >= NAME_MATCH:
        return "same"
    return "possibly the same" if score >= NAME_MISMATCH else "different"


def _name_result(a: str, b: str) -> _NameResult:
    """The best reading of two names over every alias and interpretation."""
    best: _NameResult | None = None
    for (ia, xa), (ib, xb) in product(enumerate(_parse_name(a)), enumerate(_parse_name(b))):
        result = _compare_aliases(xa, xb)
        if ia or ib:
            alias = xb.text if ib else xa.text
            result = result.plus("DBA", f"matched the other name '{alias}'")
        if best is None or result.score > best.score:
            best = result
    if best is None:
        return _ZERO
    if best.score and not best.notes and a.strip() != b.strip():
        best = best.plus(
            "", "same name written differently (case, accents, spacing or punctuation)"
        )
    return best


def _name_detail(result: _NameResult) -> str:
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
    a, b = _name_text(a), _name_text(b)
    if not a or not b:
        return 0, "no name to compare"
    result = _name_result(a, b)
    return result.score, _name_detail(result)


def _readable(name: str) -> bool:
    """Whether the name has Latin letters this module can compare."""
    return bool(_parse_name(name))


def _name_text(value: Any) -> str:
    """A name is text; a number or a list in a name field is no name at all."""
    return value.strip() if isinstance(value, str) else ""


def _person_count(raw: str) -> int:
    aliases = _parse_name(raw)
    if not aliases or aliases[0].business or not aliases[0].interpretations:
        return 1 if aliases else 0
    return len(aliases[0].interpretations[0])


# --------------------------------------------------------------------------- email

_FREE_MAIL = _wordset("""gmail.com googlemail.com yahoo.com ymail.com hotmail.com outlook.com live.com msn.com
    icloud.com me.com mac.com aol.com protonmail.com proton.me gmx.com mail.com yandex.com
    comcast.net verizon.net att.net sbcglobal.net""")
_ROLE_MAILBOXES = _wordset("""info admin billing accounts accounting contact office hello support sales finance ap ar
    payments team mail noreply no-reply webmaster owner""")


def _split_email(raw: str) -> tuple[str, str] | None:
    raw = raw.strip().lower()
    if raw.count("@") != 1:
        return None
    local, domain = raw.split("@")
    return (local, domain) if local and domain else None


def _canonical_mailbox(local: str, domain: str) -> tuple[str, str]:
    """Gmail ignores dots and everything after '+'; most providers ignore '+tags'."""
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        return local.replace(".", ""), "gmail.com"
    return local, domain


def compare_emails(customer: str, owner: str) -> tuple[int | None, str]:
    """Score two email addresses; None when either side has none."""
    a, b = _split_email(_text(customer)), _split_email(_text(owner))
    if a is None or b is None:
        return None, _missing("email", customer if a else "", owner if b else "")
    if a == b:
        return 100, "same email address"
    ca, cb = _canonical_mailbox(*a), _canonical_mailbox(*b)
    if ca == cb:
        return 95, "same mailbox (plus-addressing or dots ignored)"
    if ca[0] == cb[0] and ca[0] not in _ROLE_MAILBOXES and len(ca[0]) >= 3:
        return 80, f"same user name at a different domain ({a[1]} vs {b[1]})"
    if a[1] == b[1] and a[1] not in _FREE_MAIL:
        return 40, f"same domain {a[1]}, different mailbox"
    return 0, "different email addresses"


def _missing(what: str, customer: Any, owner: Any) -> str:
    """Which side lacks data, in words (``what`` is e.g. "email" or "usable phone number")."""
    article = "an" if what[0] in "aeiou" else "a"
    if not _text(customer) and not _text(owner):
        return f"neither side has {article} {what}"
    return f"customer has no {what}" if not _text(customer) else f"bank returned no {what}"


# --------------------------------------------------------------------------- phone

_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$")


def _phone_digits(raw: str) -> str | None:
    digits = re.sub(r"\D", "", _EXTENSION.sub("", raw))
    if digits.startswith("001"):
        digits = digits[3:]
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]  # US country code
    return digits if len(digits) >= 7 else None


def compare_phones(customer: str, owner: str) -> tuple[int | None, str]:
    """Score two phone numbers by their digits (a +1 country code is ignored)."""
    a, b = _phone_digits(_text(customer)), _phone_digits(_text(owner))
    if a is None or b is None:
        return None, _missing("phone number", customer if a else "", owner if b else "")
    if a == b:
        return 100, "same phone number"
    if len(a) >= 10 and len(b) >= 10 and a[-10:] == b[-10:]:
        return 95, "same number with a different country or trunk prefix"
    if a[-7:] == b[-7:]:
        return 60, "same last 7 digits, different area code"
    return 0, "different phone numbers"


# --------------------------------------------------------------------------- address

_STREET_TYPES = {
    "street": "st", "st": "st", "str": "st", "avenue": "ave", "ave": "ave", "av": "ave",
    "road": "rd", "rd": "rd", "boulevard": "blvd", "blvd": "blvd", "drive": "dr", "dr": "dr",
    "lane": "ln", "ln": "ln", "court": "ct", "ct": "ct", "place": "pl", "pl": "pl",
    "terrace": "ter", "ter": "ter", "parkway": "pkwy", "pkwy": "pkwy", "highway": "hwy",
    "hwy": "hwy", "circle": "cir", "cir": "cir", "way": "way", "square": "sq", "sq": "sq",
    "trail": "trl", "trl": "trl", "plaza": "plz", "plz": "plz", "route": "rte", "rte": "rte",
    "expressway": "expy", "freeway": "fwy", "alley": "aly", "loop": "loop", "pike": "pike",
}  # fmt: skip
_DIRECTIONS = {
    "north": "n", "n": "n", "south": "s", "s": "s", "east": "e", "e": "e", "west": "w", "w": "w",
    "northeast": "ne", "ne": "ne", "northwest": "nw", "nw": "nw", "southeast": "se", "se": "se",
    "southwest": "sw", "sw": "sw",
}  # fmt: skip
_ORDINALS = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
    "saint": "st", "mount": "mt", "fort": "ft",
}  # fmt: skip
_UNIT_WORDS = _wordset("apt apartment unit ste suite fl floor rm room bldg building # lot spc")
_COUNTRY_WORDS = (("united", "states", "of", "america"), ("united", "states"), ("usa",), ("us",))
_STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "district of columbia": "dc",
    "florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id", "illinois": "il",
    "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
    "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi", "minnesota": "mn",
    "mississippi": "ms", "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv",
    "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm", "new york": "ny",
    "north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or",
    "pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
    "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va",
    "washington": "wa", "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy",
    "puerto rico": "pr", "guam": "gu", "virgin islands": "vi",
}  # fmt: skip
_STATE_CODES = frozenset(_STATES.values())


@dataclass(frozen=True)
class ParsedAddress:
    """The pieces of a loosely parsed address, canonicalised (Street = St, North = N)."""

    number: str | None = None
    unit: str | None = None
    postal: str | None = None
    state: str | None = None
    street: tuple[str, ...] = ()  # street name words, without number, type or direction
    street_type: str | None = None
    city: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()  # every remaining word, canonical


def _address_word(word: str) -> str:
    return _STREET_TYPES.get(word) or _DIRECTIONS.get(word) or _ORDINALS.get(word) or word


def _strip_tail(words: list[str], tail: Sequence[str]) -> bool:
    n = len(tail)
    if n and len(words) > n and tuple(words[-n:]) == tuple(tail):
        del words[-n:]
        return True
    return False


def _take_state(words: list[str]) -> str | None:
    for name, code in sorted(_STATES.items(), key=lambda kv: -len(kv[0])):
        if _strip_tail(words, name.split()):
            return code
    if len(words) > 1 and words[-1] in _STATE_CODES:
        return words.pop()
    return None


def _take_unit(words: list[str]) -> str | None:
    for i, w in enumerate(words[:-1]):
        if w in _UNIT_WORDS:
            unit = words[i + 1]
            del words[i : i + 2]
            return unit
    return None


def _parse_street(words: list[str]) -> tuple[str | None, tuple[str, ...], str | None, int]:
    """(number, street words, street type, index after the street) from the front."""
    number = None
    start = 0
    if words[:2] == ["po", "box"] or words[:3] == ["p", "o", "box"] or words[:1] == ["box"]:
        k = words.index("box") + 1
        return (words[k] if k < len(words) else None), ("pobox",), "box", k + 1
    if words and re.fullmatch(r"\d+[a-z]?", words[0]):
        number, start = words[0], 1
    for k in range(start + 1, len(words)):
        if words[k] in _STREET_TYPES:
            end = k + 1
            if end < len(words) and words[end] in _DIRECTIONS:
                end += 1
            core = tuple(_address_word(w) for w in words[start:k] if w not in _DIRECTIONS)
            return number, core, _STREET_TYPES[words[k]], end
    return number, (), None, start


def parse_raw_address(raw: str) -> ParsedAddress:
    """Loosely parse one unparsed address line such as "510 Townsend San Francisco, CA 94103"."""
    text = _fold(_text(raw)).replace("#", " # ")
    words = re.findall(r"[a-z0-9]+|#", text)
    if not words:
        return ParsedAddress()
    postal = None
    for i in range(len(words) - 1, -1, -1):
        if re.fullmatch(r"\d{5}", words[i]) and (i > 0 or len(words) == 1):
            postal = words[i]
            tail = 2 if i + 1 < len(words) and re.fullmatch(r"\d{4}", words[i + 1]) else 1
            del words[i : i + tail]
            break
    for country in _COUNTRY_WORDS:
        if _strip_tail(words, country):
            break
    state = _take_state(words)
    unit = _take_unit(words)
    number, street, street_type, end = _parse_street(words)
    first_segment = len(_words(text.split(",")[0]))
    city: tuple[str, ...] = ()
    if street_type and end < len(words):
        city = tuple(_address_word(w) for w in words[end:])
    elif not street_type and "," in text and first_segment < len(words):
        # "123 Main, Springfield": the first comma ends the street.
        street = tuple(
            _address_word(w) for w in words[1 if number else 0 : first_segment] if w != "#"
        )
        city = tuple(_address_word(w) for w in words[first_segment:])
    remaining = frozenset(_address_word(w) for w in words if w not in {"#", number})
    return ParsedAddress(number, unit, postal, state, street, street_type, city, remaining)


def _line2_unit(line2: str) -> str | None:
    """ "Apt 4B", "Suite 200", "#4" or a bare "4B": the last word is the unit."""
    words = _words(_fold(line2))
    return words[-1] if words else None


def _customer_address(address: Any) -> ParsedAddress:
    line1, line2 = _text(_get(address, "line1")), _text(_get(address, "line2"))
    city = _text(_get(address, "city"))
    state = _fold(_text(_get(address, "state")))
    postal = re.sub(r"[^0-9a-z]", "", _fold(_text(_get(address, "postal_code"))))
    street = parse_raw_address(line1) if line1 else ParsedAddress()
    unit = street.unit or _line2_unit(line2)
    city_words = tuple(_address_word(w) for w in _words(_fold(city)))
    if re.fullmatch(r"\d{5}(\d{4})?", postal):
        postal = postal[:5]
    return ParsedAddress(
        number=street.number,
        unit=unit,
        postal=postal or None,
        state=_STATES.get(state, state if state in _STATE_CODES else None) if state else None,
        street=street.street or tuple(w for w in street.words if w not in _STREET_TYPES.values()),
        street_type=street.street_type,
        city=city_words,
        words=street.words | frozenset(city_words),
    )


def _contained(needle: Iterable[str], haystack: Iterable[str]) -> float:
    needle, pool = list(needle), list(haystack)
    if not needle:
        return 0.0
    hits = sum(
        max((_token_similarity(w, h)[0] for h in pool if len(w) > 1 or w == h), default=0) >= 0.88
        for w in needle
    )
    return hits / len(needle)


def compare_addresses(customer: Any, owner_raw: str) -> tuple[int | None, str]:
    """Score a Stripe address dict against an owner's one-line ``raw_address``."""
    c = _customer_address(customer)
    o = parse_raw_address(_text(owner_raw))
    if not (c.number or c.street or c.postal or c.city) or not (o.words or o.postal):
        return None, _missing("address", "x" if c.words or c.postal else "", owner_raw)
    parts: list[tuple[str, float, float]] = []  # (what, weight, 0..1)
    if c.number and o.number:
        parts.append(("street number", 0.3, float(c.number == o.number)))
    if c.street and (o.street or o.words):
        hit = _contained(c.street, o.street or o.words)
        if c.street_type and o.street_type and c.street_type != o.street_type:
            hit *= 0.8
        parts.append(("street", 0.25, hit))
    if c.postal and o.postal:
        parts.append(("ZIP", 0.25, float(c.postal == o.postal)))
    if c.city and (o.city or o.words):
        parts.append(("city", 0.12, _contained(c.city, o.city or o.words)))
    if c.state and o.state:
        parts.append(("state", 0.08, float(c.state == o.state)))
    if not parts:
        return None, "addresses have nothing in common to compare"
    score = round(100 * sum(w * v for _, w, v in parts) / sum(w for _, w, _ in parts))
    if any(what in {"street number", "street"} and v < 0.5 for what, _, v in parts):
        score = min(score, 40)  # another house or another street is another address
    if c.postal and o.postal and c.postal != o.postal and _contained(c.city, o.words) < 1:
        score = min(score, 25)
    same = [what for what, _, v in parts if v >= 0.85]
    differ = [what for what, _, v in parts if v < 0.5]
    words = []
    if same:
        words.append("same " + ", ".join(same))
    if differ:
        words.append("different " + ", ".join(differ))
    return score, "; ".join(words)


# --------------------------------------------------------------------------- owners vs customer

# metadata keys integrations use for the company or the person behind a customer
_METADATA_NAME_KEYS = (
    "company", "company_name", "business_name", "legal_name", "dba", "organization",
    "organisation", "contact_name", "owner_name", "full_name", "account_holder_name",
)  # fmt: skip


@dataclass(frozen=True)
class _Customer:
    name: str
    names: tuple[tuple[str, str], ...]  # (where it came from, name)
    description: str
    email: str
    phone: str
    address: Any


@dataclass(frozen=True)
class _OwnerEval:
    match: OwnerMatch
    name_tags: tuple[str, ...]
    customer_name: str  # which customer name the owner was compared with
    people: int


def _read_customer(customer: Any) -> _Customer:
    name = _name_text(_get(customer, "name"))
    metadata = _get(customer, "metadata")
    names: list[tuple[str, str]] = [("name", name)] if name else []
    for key in _METADATA_NAME_KEYS:
        value = _name_text(_get(metadata, key))
        if value and value not in {n for _, n in names}:
            names.append((f"metadata.{key}", value))
    first, last = _name_text(_get(metadata, "first_name")), _name_text(_get(metadata, "last_name"))
    if first and last:
        names.append(("metadata.first_name/last_name", f"{first} {last}"))
    return _Customer(
        name=name,
        names=tuple(names),
        description=_name_text(_get(customer, "description")),
        email=_text(_get(customer, "email")),
        phone=_text(_get(customer, "phone")),
        address=_get(customer, "address"),
    )


def _name_field(customer: _Customer, owner_name: str) -> tuple[FieldMatch, tuple[str, ...], str]:
    """Best comparison of the owner's name with any name the customer record carries.

    The description is tried only against a business owner: integrations often keep the
    company there while ``name`` holds the contact person.
    """
    if not owner_name or not customer.names:
        detail = _missing("name", customer.name, owner_name)
        return FieldMatch("name", None, customer.name or None, owner_name or None, detail), (), ""
    if not _readable(owner_name) or not any(_readable(n) for _, n in customer.names):
        # Names in non-Latin scripts are not transliterated: say so rather than "mismatch".
        same = owner_name.casefold() == customer.names[0][1].casefold()
        detail = "identical names" if same else "name is not in Latin letters; compare it by eye"
        value = customer.names[0][1]
        return FieldMatch("name", 100 if same else None, value, owner_name, detail), (), value
    candidates = list(customer.names)
    owner_is_business = any(a.business for a in _parse_name(owner_name))
    if owner_is_business and customer.description and len(customer.description) <= 80:
        candidates.append(("description", customer.description))
    best: tuple[_NameResult, str] | None = None
    for source, value in candidates:
        result = _name_result(value, owner_name)
        if source != "name":
            result = result.plus("", f"matched the customer's {source}", 0.95)
        if best is None or result.score > best[0].score:
            best = (result, value)
    assert best is not None
    result, value = best
    detail = _name_detail(result)
    return FieldMatch("name", result.score, value, owner_name, detail), result.tags, value


def _weighted_score(fields: Mapping[str, FieldMatch]) -> int:
    scored = {k: f.score for k, f in fields.items() if f.score is not None}
    if not scored:
        return 0
    weight = sum(FIELD_WEIGHTS[k] for k in scored)
    return round(sum(FIELD_WEIGHTS[k] * s for k, s in scored.items()) / weight)


def _evaluate_owner(customer: _Customer, owner: Any) -> _OwnerEval:
    owner_name = _name_text(_get(owner, "name"))
    name, tags, customer_name = _name_field(customer, owner_name)
    email = _text(_get(owner, "email"))
    phone = _text(_get(owner, "phone"))
    raw_address = _text(_get(owner, "raw_address"))
    e_score, e_detail = compare_emails(customer.email, email)
    p_score, p_detail = compare_phones(customer.phone, phone)
    a_score, a_detail = compare_addresses(customer.address, raw_address)
    fields = {
        "name": name,
        "email": FieldMatch("email", e_score, customer.email or None, email or None, e_detail),
        "phone": FieldMatch("phone", p_score, customer.phone or None, phone or None, p_detail),
        "address": FieldMatch(
            "address", a_score, _address_line(customer.address), raw_address or None, a_detail
        ),
    }
    match = OwnerMatch(owner_name, _weighted_score(fields), fields)
    return _OwnerEval(match, tags, customer_name, _person_count(owner_name) if owner_name else 1)


def _address_line(address: Any) -> str | None:
    keys = ("line1", "line2", "city", "state", "postal_code", "country")
    parts = [_text(_get(address, k)) for k in keys]
    line = ", ".join(p for p in parts if p)
    return line or None


def _owner_list(owners: Any) -> list[Any]:
    """Owners as a list; also accepts a Stripe list envelope ``{"data": [...]}``."""
    if owners is None or isinstance(owners, str | bytes):
        return []
    if not isinstance(owners, Sequence):
        data = _get(owners, "data")
        owners = data if isinstance(data, Sequence) and not isinstance(data, str | bytes) else []
    return [o for o in owners if o is not None and not isinstance(o, str | bytes)]


def _rank(e: _OwnerEval) -> tuple[bool, int, int]:
    name = e.match.fields["name"].score
    return (name is None or name >= NAME_MISMATCH, e.match.score, -1 if name is None else name)


def _verdict(best: OwnerMatch) -> str:
    if all(f.score is None for f in best.fields.values()):
        return "no_data"
    name = best.fields["name"].score
    if name is None:
        return "partial" if best.score >= NAME_MISMATCH else "mismatch"
    if name < NAME_MISMATCH:
        return "mismatch"
    if name >= NAME_MATCH and best.score >= OVERALL_MATCH:
        return "match"
    # People keep several emails and phones: a clear name match is still a match when only one
    # contact detail differs and nothing else contradicts it.
    others = [f.score for k, f in best.fields.items() if k != "name" and f.score is not None]
    if (
        name >= NAME_MATCH
        and sum(score < NAME_MISMATCH for score in others) <= 1
        and (len(others) < 3 or sum(score >= NAME_MATCH for score in others) >= 1)
    ):
        return "match"
    return "partial"


def _field_summary(fields: Mapping[str, FieldMatch]) -> str:
    words = []
    for key in ("email", "phone", "address"):
        score = fields[key].score
        if score is None:
            continue
        state = "matches" if score >= 85 else "is similar" if score >= 50 else "differs"
        words.append(f"{key} {state}")
    return ", ".join(words)


def _reason(verdict: str, best: _OwnerEval | None, customer: _Customer, joint_owners: int) -> str:
    if best is None:
        return "The bank returned no owners for this account; refresh ownership or verify the account another way."
    if verdict == "no_data":
        return (
            "Nothing to compare: the customer record has no name, and no email, phone or address "
            "that the bank also returned; add the customer's name to the record."
        )
    m = best.match
    owner, cust = m.owner_name or "(no name)", best.customer_name or customer.name
    why = f" ({', '.join(t for t in best.name_tags if t)})" if any(best.name_tags) else ""
    others = _field_summary(m.fields)
    joint = f" (one of {joint_owners} owners)" if joint_owners > 1 else ""
    if m.fields["name"].score is None:
        what = others or "no other field"
        return (
            f"No name to compare with owner '{owner}'{joint}: {what}. "
            "Add the customer's name to confirm who owns the account."
        )
    tail = f"; {others}" if others else ""
    if verdict == "match":
        return f"Owner '{owner}'{joint} is the customer '{cust}'{why}{tail}."
    if verdict == "partial":
        return (
            f"Owner '{owner}'{joint} may be the customer '{cust}'{why}{tail}. "
            "Check with the customer before relying on this account."
        )
    relative = (
        "Same surname, different first name: likely a relative, not the customer. "
        if "first names differ" in best.name_tags
        else ""
    )
    return (
        f"No owner matches the customer '{cust}'; the closest is '{owner}'{why}{tail}. "
        f"{relative}Confirm who owns this bank account before debiting it."
    )


def match_owners(
    customer: Mapping[str, Any], owners: Sequence[Mapping[str, Any]]
) -> OwnershipMatch:
    """Compare a Stripe customer with the owners the bank reports for a linked account.

    ``customer`` is a Stripe ``customer`` (dict or StripeObject); ``owners`` are
    ``financial_connections.account_owner`` objects. The best owner decides the verdict:
    a joint account matches when the customer is any one of its owners.
    """
    try:
        return _match_owners(customer, owners)
    except Exception:  # never let a bank's odd data break the page
        reason = "The owner data could not be read; verify the account another way."
        return OwnershipMatch(0, "no_data", reason, {}, None, [], False)


def _match_owners(customer: Any, owners: Any) -> OwnershipMatch:
    who = _read_customer(customer)
    evals = sorted((_evaluate_owner(who, o) for o in _owner_list(owners)), key=_rank, reverse=True)
    people = sum(max(e.people, 1) for e in evals)
    if not evals:
        return OwnershipMatch(0, "no_data", _reason("no_data", None, who, 0), {}, None, [], False)
    best = evals[0]
    verdict = _verdict(best.match)
    return OwnershipMatch(
        score=best.match.score,
        verdict=verdict,
        reason=_reason(verdict, best, who, people),
        fields=best.match.fields,
        best_owner=best.match.owner_name or None,
        owners=[e.match for e in evals],
        joint=people > 1,
    )
