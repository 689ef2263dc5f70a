"""US postal addresses: a loose parser for the bank's one-line ``raw_address`` and a scorer
against the Stripe customer's structured address."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.rules.owners.similarity import token_similarity
from services.rules.owners.text import as_text, fold, missing_side, safe_get, word_list, wordset

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
_UNIT_WORDS = wordset("apt apartment unit ste suite fl floor rm room bldg building # lot spc")
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
    text = fold(as_text(raw)).replace("#", " # ")
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
    first_segment = len(word_list(text.split(",")[0]))
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
    words = word_list(fold(line2))
    return words[-1] if words else None


def _customer_address(address: Any) -> ParsedAddress:
    line1, line2 = as_text(safe_get(address, "line1")), as_text(safe_get(address, "line2"))
    city = as_text(safe_get(address, "city"))
    state = fold(as_text(safe_get(address, "state")))
    postal = re.sub(r"[^0-9a-z]", "", fold(as_text(safe_get(address, "postal_code"))))
    street = parse_raw_address(line1) if line1 else ParsedAddress()
    unit = street.unit or _line2_unit(line2)
    city_words = tuple(_address_word(w) for w in word_list(fold(city)))
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
        max((token_similarity(w, h)[0] for h in pool if len(w) > 1 or w == h), default=0) >= 0.88
        for w in needle
    )
    return hits / len(needle)


def compare_addresses(customer: Any, owner_raw: str) -> tuple[int | None, str]:
    """Score a Stripe address dict against an owner's one-line ``raw_address``."""
    c = _customer_address(customer)
    o = parse_raw_address(as_text(owner_raw))
    if not (c.number or c.street or c.postal or c.city) or not (o.words or o.postal):
        return None, missing_side("address", "x" if c.words or c.postal else "", owner_raw)
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
