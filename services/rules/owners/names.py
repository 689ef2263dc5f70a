"""Names as banks and customers write them, parsed: people, businesses, DBA/AKA aliases.

"SMITH, ROBERT J", "John & Jane Smith", "Acme Widgets LLC dba Acme" each become the ways they
can be read; scoring is in :mod:`.people` and :mod:`.compare`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product

from services.rules.owners.text import display_word, fold, word_list, wordset

# --------------------------------------------------------------------------- names: vocabulary


_TITLES = wordset(
    "mr mrs ms miss mx dr doctor prof professor rev reverend sir dame hon sra srta mme mlle "
    "capt col lt sgt maj"
)
_GENERATIONS = {
    "jr": "Jr", "junior": "Jr", "sr": "Sr", "senior": "Sr",
    "ii": "II", "2nd": "II", "iii": "III", "3rd": "III", "iv": "IV", "4th": "IV",
}  # fmt: skip
_CREDENTIALS = wordset("md phd dds dmd esq cpa rn dvm jd mba cfa")
PARTICLES = wordset("de del della la las los da das dos di du van von der den ter le")

# Legal forms: canonical value used to notice "LLC vs Inc".
_LEGAL_FORMS = {
    "inc": "Inc", "incorporated": "Inc", "corp": "Corp", "corporation": "Corp",
    "llc": "LLC", "lc": "LLC", "ltd": "Ltd", "limited": "Ltd", "co": "Co", "company": "Co",
    "plc": "PLC", "llp": "LLP", "lllp": "LLP", "lp": "LP", "pllc": "PLLC", "pc": "PC",
    "pa": "PA", "gmbh": "GmbH", "sa": "SA", "nv": "NV", "bv": "BV", "pty": "Pty", "ag": "AG",
}  # fmt: skip
# Forms that are unmistakable anywhere; the short ones count only as the last word.
_UNAMBIGUOUS_FORMS = wordset(
    "inc incorporated corp corporation llc ltd limited company plc llp lllp pllc gmbh"
)
_BUSINESS_WORDS = wordset("""services service solutions group holdings partners partnership associates enterprises
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
class Person:
    tokens: tuple[str, ...]  # given ... surname, titles/suffixes removed
    ordered: bool  # order known (written "Surname, Given") or reconstructed
    comma_form: bool = False
    suffix: str | None = None
    titles: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return " ".join(display_word(t) for t in self.tokens)


@dataclass(frozen=True)
class Business:
    tokens: tuple[str, ...]
    forms: frozenset[str]
    dropped: tuple[str, ...]  # words ignored: legal forms, "the"


@dataclass(frozen=True)
class Alias:
    text: str  # the alias as written (for explanations)
    business: Business | None
    interpretations: tuple[tuple[Person, ...], ...]


@dataclass(frozen=True)
class NameResult:
    score: int
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    subject: str = "person"  # "person" | "business" | "mixed" (a person against a business)

    def plus(self, tag: str, note: str, factor: float = 1.0) -> NameResult:
        return replace(
            self,
            score=round(self.score * factor),
            tags=self.tags if tag in self.tags or not tag else (*self.tags, tag),
            notes=(*self.notes, note),
        )

    def about(self, subject: str) -> NameResult:
        return replace(self, subject=subject)


ZERO = NameResult(0, (), ("nothing to compare",))


def _looks_like_business(folded: str) -> bool:
    words = word_list(_DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), folded))
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


def parse_business(folded: str) -> Business:
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), folded)
    words = word_list(text.replace("&", " and ").replace("+", " and "))
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
    return Business(tuple(kept), frozenset(forms), tuple(dropped))


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


def _parse_comma_part(part: str) -> list[tuple[Person, ...]]:
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
        return [(Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)),)]
    if len(pieces) == 2:
        (last, s1, t1), (first, s2, t2) = pieces
        ordered = Person(
            tuple(first + last),
            ordered=True,
            comma_form=True,
            suffix=s1 or s2,
            titles=tuple(t1 + t2),
        )
        if len(last) >= 2 and len(first) >= 2:  # "John Smith, Jane Doe" reads as two people too
            apart = tuple(
                Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)) for w, s, t in pieces
            )
            return [(ordered,), apart]
        return [(ordered,)]
    return [tuple(Person(tuple(w), ordered=False, suffix=s, titles=tuple(t)) for w, s, t in pieces)]


def _borrow_surnames(people: tuple[Person, ...]) -> list[tuple[Person, ...]]:
    """ "John & Jane Smith": a lone given name takes the surname of the next person."""
    if len(people) < 2:
        return [people]
    options: list[list[Person]] = []
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


def _parse_people(folded: str) -> tuple[tuple[Person, ...], ...]:
    text = _CUSTODIAN.sub(" & ", folded)
    text = _ANNOTATIONS.sub(" ", text).replace("(", " ").replace(")", " ")
    parts = [p for p in _CONNECTORS.split(text) if word_list(p)]
    per_part = [_parse_comma_part(p) for p in parts]
    per_part = [alts for alts in per_part if alts]
    if not per_part:
        return ()
    interpretations: list[tuple[Person, ...]] = []
    for combo in list(product(*per_part))[:6]:
        people = tuple(p for group in combo for p in group)
        interpretations.extend(_borrow_surnames(people))
    return tuple(dict.fromkeys(interpretations))[:8]


def _single_words_only(interpretations: tuple[tuple[Person, ...], ...]) -> bool:
    return all(len(g) > 1 and all(len(p.tokens) == 1 for p in g) for g in interpretations)


@lru_cache(maxsize=4096)
def parse_name(raw: str) -> tuple[Alias, ...]:
    """Every way to read a name string: DBA/AKA aliases, then people or a business."""
    raw = raw[:300]  # longer is not a name; keep pathological input cheap
    folded = fold(raw).replace("(", " ").replace(")", " ")
    chunks = _ALIAS_SPLIT.split(folded)
    shown = re.compile(_ALIAS_SPLIT.pattern, re.IGNORECASE).split(raw)
    if len(shown) != len(chunks):
        shown = chunks
    aliases: list[Alias] = []
    for chunk, display in zip(chunks, shown, strict=True):
        chunk = _BENEFICIARY.sub("", chunk).strip(" ,")
        if not word_list(chunk):
            continue
        display = display.strip(" ,()")
        if _looks_like_business(chunk):
            business = parse_business(chunk)
            if business.tokens:
                aliases.append(Alias(display, business, ()))
            continue
        people = _parse_people(chunk)
        if people and _single_words_only(people):
            # "Smith & Wesson", "Procter and Gamble": a firm, not two people without surnames
            aliases.append(Alias(display, parse_business(chunk), ()))
        elif people:
            aliases.append(Alias(display, None, people))
    return tuple(aliases)
