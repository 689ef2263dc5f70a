"""Deactivation ahead of time: Stripe says an account will stop working unless it is relinked.

Since dahlia (and in the pinned endive) an FC account carries ``status_details.active`` with
``action: relink_required``, a ``cause`` (``access_expired``, ``institution_requirement``,
``unspecified``) and an ``expected_deactivation_date``, announced by the events
``financial_connections.account.upcoming_deactivation`` and
``…expected_deactivation_date_updated`` (reference §2.1, §5.1; SDK
``stripe/financial_connections/_account.py``, ``StatusDetails.Active``).

Pure functions over Stripe's account dict; pages, the mirror and the debit checks share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.rules import wording

__all__ = ["Relink", "relink_needed"]

CAUSES = {
    "access_expired": "the customer's access at the bank expires",
    "institution_requirement": "the bank requires the customer to link it again",
    "unspecified": "Stripe gave no reason",
}


@dataclass(frozen=True)
class Relink:
    """Stripe expects the account to become inactive on ``by`` unless the customer relinks it."""

    by: int
    cause: str

    @property
    def date(self) -> str:
        return wording.day(self.by)

    @property
    def why(self) -> str:
        return CAUSES.get(self.cause, f"cause: {self.cause}")

    def sentence(self, *, now: int | None = None) -> str:
        """'Relink needed by <date>' and what it means, for a page or a debit check."""
        when = f"by {self.date}"
        if now is not None and self.by <= now:
            when = f"by {self.date} (that date has passed)"
        return (
            f"Relink needed {when}: Stripe expects this account to become inactive then "
            f"({self.why}). Ask the customer to link it again; until then it keeps working."
        )


def relink_needed(account: Mapping[str, Any] | None) -> Relink | None:
    """The announced deactivation of an active account, or None.

    Only ``action: relink_required`` with a date counts; an account already inactive or
    disconnected has its own status, and ``action: none`` needs nothing.
    """
    if not isinstance(account, Mapping) or account.get("status") != "active":
        return None
    details = account.get("status_details")
    active = details.get("active") if isinstance(details, Mapping) else None
    if not isinstance(active, Mapping) or active.get("action") != "relink_required":
        return None
    by = active.get("expected_deactivation_date")
    if not isinstance(by, int) or isinstance(by, bool):
        return None
    return Relink(by=by, cause=str(active.get("cause") or "unspecified"))
