"""What the ownership review shows, as small typed views, and its wording without personal data.

Stripe's owner and account dicts stop here: pages get these dataclasses, never the dicts.
Owner and customer names, emails, phones and addresses are personal data: the views carry them
only when built for a role with ``owners.view_pii``; other roles get scores and reasons written
without names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.rules.bank_account import StoredCopy
from services.rules.owners.results import FieldMatch, OwnershipMatch
from services.rules.paging import Page

VERDICTS: tuple[str, ...] = ("match", "partial", "mismatch", "no_data")
FIELDS: tuple[str, ...] = ("name", "email", "phone", "address")


@dataclass(frozen=True)
class FieldScore:
    """One field's comparison; values and the detailed wording are None without PII access."""

    field: str
    score: int | None  # 0-100, None when either side has no data
    detail: str
    customer_value: str | None
    owner_value: str | None


@dataclass(frozen=True)
class OwnerRow:
    """One owner as the bank reports it, with how well it matches the customer."""

    name: str | None
    email: str | None
    phone: str | None
    raw_address: str | None
    refreshed_at: int | None
    score: int | None


@dataclass(frozen=True)
class OwnershipReport:
    """Everything the ownership page shows for one account."""

    account_id: str
    customer_id: str | None
    institution_name: str
    last4: str | None
    account_status: str
    ownership_id: str | None
    verdict: str
    score: int
    reason: str
    fields: list[FieldScore]
    owners: list[OwnerRow]
    owner_count: int
    joint: bool
    pii_visible: bool
    refresh_status: str | None
    refreshed_at: int | None
    refresh_blocker: str | None  # why "Refresh ownership" is disabled, or None
    checked_at: datetime
    stored: StoredCopy | None = None  # Stripe could not be read: the stored check, no owners


@dataclass(frozen=True)
class ReviewRow:
    account_id: str
    customer_id: str | None
    institution_name: str | None
    last4: str | None
    verdict: str
    score: int
    reason: str
    checked_at: datetime
    checked_by: str | None
    customer_name: str | None = None  # only for roles that may see personal data
    customer_email: str | None = None


@dataclass(frozen=True)
class CheckCoverage:
    """How much of the store the stored checks cover: a 0 to review means little when few
    accounts were checked, so the review list and Home say how many were."""

    checked: int  # accounts with the ownership permission that have a stored check
    checkable: int  # mirrored accounts with the ownership permission (what "check all" reads)

    @property
    def none_checked(self) -> bool:
        return self.checked == 0

    @property
    def complete(self) -> bool:
        return self.checkable > 0 and self.checked >= self.checkable

    def line(self, to_review: int) -> str:
        """What the stored checks say, with how many accounts they cover."""
        if self.none_checked and not to_review:
            if not self.checkable:
                return (
                    "Not checked yet: no linked account with the ownership permission is in the "
                    "store; Check all accounts finds them and checks each one."
                )
            return (
                f"Not checked yet: 0 of {self.checkable:,} accounts checked — use Check all "
                "accounts to compare each one's owners with its customer."
            )
        if self.complete:
            return f"All {self.checkable:,} accounts checked · {to_review:,} to review."
        return (
            f"{self.checked:,} of {self.checkable:,} accounts checked · {to_review:,} to review "
            "so far — use Check all accounts to check the rest."
        )


@dataclass(frozen=True)
class ReviewPage(Page[ReviewRow]):
    counts: dict[str, int]  # every stored verdict → how many accounts have it
    coverage: CheckCoverage = CheckCoverage(0, 0)


@dataclass(frozen=True)
class CheckAllResult:
    checked: int
    verdicts: dict[str, int]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (account id, sentence)
    discovered: int = 0  # accounts found in Stripe because the mirror was empty
    seconds: float = 0.0


@dataclass(frozen=True)
class AccountPick:
    """Which account a pasted ID leads to: one, several to choose from, or none (and why)."""

    account_id: str | None
    choices: tuple[str, ...] = ()
    message: str | None = None
    labels: tuple[str, ...] = ()  # one per choice: bank and last 4 before the ID


# --------------------------------------------------------------------------- wording


def _score_words(score: int | None) -> str:
    if score is None:
        return "no data"
    return f"{score}/100"


def public_reason(verdict: str, fields: Mapping[str, FieldMatch | FieldScore]) -> str:
    """The verdict explained without any name, email, phone or address in it."""
    scores = "; ".join(f"{f} {_score_words(fields[f].score)}" for f in FIELDS if f in fields)
    if verdict == "match":
        head = "An owner matches the customer"
        tail = ""
    elif verdict == "partial":
        head = "An owner may be the customer"
        tail = " Check with the customer before relying on this account."
    elif verdict == "mismatch":
        head = "No owner matches the customer"
        tail = " Confirm who owns this bank account before debiting it."
    else:
        return "Nothing to compare: the bank and the customer record share no field with data."
    return f"{head} ({scores}).{tail}"


def public_detail(score: int | None) -> str:
    if score is None:
        return "no data on one side"
    if score >= 85:
        return "same"
    return "similar" if score >= 50 else "different"


def no_owner_reason(account: Mapping[str, Any]) -> str | None:
    """Why there are no owners to compare, when the account itself explains it."""
    if "ownership" not in (account.get("permissions") or ()):
        return (
            "The account was linked without the ownership permission, so the bank's owners are "
            "unknown. Verify ownership another way, or ask the customer to link it again."
        )
    refresh = account.get("ownership_refresh") or {}
    if refresh.get("status") == "pending":
        return "An ownership refresh is running; the owners will be compared when it finishes."
    if refresh.get("status") == "failed":
        return "The last ownership refresh failed at the bank; try again later."
    if not refresh:
        return "Ownership has never been fetched for this account; refresh ownership first."
    return None


# --------------------------------------------------------------------------- Stripe dicts → views


def ownership_id(account: Mapping[str, Any]) -> str | None:
    ownership = account.get("ownership")
    if isinstance(ownership, Mapping):
        return str(ownership.get("id") or "") or None
    return str(ownership) if ownership else None


def field_scores(match: OwnershipMatch, *, pii: bool) -> list[FieldScore]:
    return [
        FieldScore(
            field=name,
            score=f.score,
            detail=f.detail if pii else public_detail(f.score),
            customer_value=f.customer_value if pii else None,
            owner_value=f.owner_value if pii else None,
        )
        for name, f in ((n, match.fields.get(n)) for n in FIELDS)
        if f is not None
    ]


def owner_rows(
    owners: Sequence[Mapping[str, Any]], match: OwnershipMatch, *, pii: bool
) -> list[OwnerRow]:
    scores = {o.owner_name: o.score for o in match.owners}
    return [
        OwnerRow(
            name=o.get("name") if pii else None,
            email=o.get("email") if pii else None,
            phone=o.get("phone") if pii else None,
            raw_address=o.get("raw_address") if pii else None,
            refreshed_at=o.get("refreshed_at"),
            score=scores.get(str(o.get("name") or "").strip()),
        )
        for o in owners
    ]
