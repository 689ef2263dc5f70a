"""What owner matching returns, and the score thresholds that decide its verdicts."""

from __future__ import annotations

from dataclasses import dataclass

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
