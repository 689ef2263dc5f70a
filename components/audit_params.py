"""An audit row's parameters in words: the row keeps what the action was given (money in minor
units, ages in seconds), which is exact but reads "buffer_amount: 77" for $0.77. The detail
view puts these words above the raw JSON; the CSV export keeps the raw values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.money import format_money
from services.rules import wording


def _name(key: str) -> str:
    return key.replace("_", " ").capitalize()


def readable(params: Mapping[str, Any]) -> list[str]:
    """'Buffer amount: $0.77', 'Max age: 24 hours' for the money and time fields ``params``
    has (money only beside its ``currency``); nothing for fields that read as they are."""
    currency = params.get("currency")
    words: list[str] = []
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if (key == "amount" or key.endswith("_amount")) and isinstance(currency, str) and currency:
            words.append(f"{_name(key)}: {format_money(int(value), currency)}")
        elif key.endswith("_seconds"):
            words.append(f"{_name(key[: -len('_seconds')])}: {wording.duration(value, long=True)}")
        elif key.endswith("_percent"):
            words.append(f"{_name(key)}: {wording.percent(value / 100, 4)}")
    return words
