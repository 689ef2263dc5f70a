"""Sub-seeds, weighted choices and date helpers every part of the generator uses.

Everything is derived from the seed through sub-seeds (never the global RNG or ``hash()``,
which is salted per process), so one seed and one ``now`` always give the same world."""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

MINUTE = 60


HOUR = 3_600


DAY = 86_400


HISTORY_DAYS = 365  # transactions cover a year back from `now`


INTENT_WINDOW_DAYS = 90  # intents are created within this many days before `now`


T = TypeVar("T")


def sub_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (``hash()`` is salted per process, so never that)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def unit(*parts: object) -> float:
    """A stable number in [0, 1) for one decision (e.g. "is this payday missed?")."""
    return sub_seed(*parts) / float(1 << 63)


def weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    total = sum(weight for _, weight in options)
    pick = rng.random() * total
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


_NOT_DECOMPOSABLE = str.maketrans(
    {"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae"}
)


def ascii_fold(text: str) -> str:
    """Banks and email addresses drop accents: "José Núñez" → "Jose Nunez"."""
    folded = unicodedata.normalize("NFKD", text.translate(_NOT_DECOMPOSABLE))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def date_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def last_day_of_month(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)
