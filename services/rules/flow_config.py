"""Per-flow Financial Connections configuration as a pure rule: flows, values, validation, diff.

Each integration flow (SetupIntent, PaymentIntent, Checkout, Invoice, Subscription, Payment
Element) asks Stripe for a set of FC ``permissions``, optional ``prefetch`` and a
``verification_method`` (reference §3.2, §6.1). Storage and the admin's edits live in
:mod:`services.usecases.edit_flows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.errors import ValidationError

FLOWS: tuple[str, ...] = (
    "payment_intent",
    "setup_intent",
    "checkout_session",
    "invoice",
    "subscription",
    "payment_element",
)
FLOW_TITLES: dict[str, str] = {
    "payment_intent": "PaymentIntent",
    "setup_intent": "SetupIntent",
    "checkout_session": "Checkout Session",
    "invoice": "Invoice",
    "subscription": "Subscription",
    "payment_element": "Payment Element",
}
PERMISSIONS: tuple[str, ...] = ("balances", "ownership", "payment_method", "transactions")
PREFETCH: tuple[str, ...] = ("balances", "ownership", "transactions")
VERIFICATION_METHODS: tuple[str, ...] = ("automatic", "instant", "microdeposits")
DATA_PERMISSIONS: tuple[str, ...] = ("balances", "ownership", "transactions")

# Reference §3.2/§6.1: Checkout takes only automatic or instant; the other flows take all three.
SUPPORTED_METHODS: dict[str, tuple[str, ...]] = {
    flow: ("automatic", "instant") if flow == "checkout_session" else VERIFICATION_METHODS
    for flow in FLOWS
}
DEFAULT_PERMISSIONS: tuple[str, ...] = ("payment_method",)
DEFAULT_METHOD = "automatic"


# -- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowConfig:
    """One flow's FC configuration; ``version`` 0 means Stripe's defaults, never saved."""

    flow: str
    permissions: tuple[str, ...]
    prefetch: tuple[str, ...]
    verification_method: str
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def title(self) -> str:
        return FLOW_TITLES.get(self.flow, self.flow)

    def value(self) -> dict[str, Any]:
        """The stored document (what history, diff and revert compare)."""
        return {
            "permissions": list(self.permissions),
            "prefetch": list(self.prefetch),
            "verification_method": self.verification_method,
        }


def default_config(flow: str) -> FlowConfig:
    """Stripe's defaults: automatic verification, payment_method permission only."""
    check_flow(flow)
    return FlowConfig(
        flow=flow, permissions=DEFAULT_PERMISSIONS, prefetch=(), verification_method=DEFAULT_METHOD
    )


@dataclass(frozen=True)
class ValidationResult:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class FlowVersion:
    """One saved version of a flow, newest first in :func:`history`."""

    flow: str
    version: int
    value: dict[str, Any]
    updated_by: str | None
    updated_at: datetime | None
    note: str | None = None

    def config(self) -> FlowConfig:
        return config_from(self.flow, self.value, self.version, self.updated_by, self.updated_at)


@dataclass(frozen=True)
class DiffLine:
    """One changed field; list fields also say which items were added and removed."""

    field: str
    before: Any
    after: Any
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.added or self.removed:
            parts = [f"+{item}" for item in self.added] + [f"−{item}" for item in self.removed]
            return f"{self.field}: {' '.join(parts)}"
        return f"{self.field}: {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return "(none)" if value in (None, "") else str(value)


# -- validation -----------------------------------------------------------------------------------


def canonical(items: Iterable[str], order: tuple[str, ...]) -> tuple[str, ...]:
    """Known items in canonical order, unknown ones after them, no duplicates."""
    given = list(dict.fromkeys(str(i) for i in items))
    return tuple(i for i in order if i in given) + tuple(i for i in given if i not in order)


def check_flow(flow: str) -> None:
    if flow not in FLOWS:
        raise ValidationError(
            f"Unknown flow {str(flow)[:40]!r}. Choose one of: {', '.join(FLOWS)}."
        )


def validate(
    flow: str,
    *,
    permissions: Iterable[str],
    prefetch: Iterable[str],
    verification_method: str,
) -> ValidationResult:
    """Every problem at once, each as a sentence saying what to change and why."""
    if flow not in FLOWS:
        return ValidationResult(
            errors=(f"Unknown flow {str(flow)[:40]!r}. Choose one of: {', '.join(FLOWS)}.",)
        )
    perms = canonical(permissions, PERMISSIONS)
    pre = canonical(prefetch, PREFETCH)
    errors: list[str] = []
    warnings: list[str] = []
    for item in perms:
        if item not in PERMISSIONS:
            errors.append(f"Unknown permission '{item}'. Choose from: {', '.join(PERMISSIONS)}.")
    if "payment_method" not in perms:
        errors.append(
            "The payment_method permission is always required for ACH Direct Debit: Stripe needs "
            "the account and routing numbers to debit the account. Add payment_method."
        )
    for item in pre:
        if item not in PREFETCH:
            errors.append(
                f"'{item}' cannot be prefetched; prefetch accepts only: {', '.join(PREFETCH)}."
            )
        elif item not in perms:
            errors.append(
                f"Prefetching {item} needs the {item} permission: Stripe can only prefetch data "
                f"it may read. Add {item} to permissions or remove it from prefetch."
            )
    supported = SUPPORTED_METHODS[flow]
    if verification_method not in VERIFICATION_METHODS:
        errors.append(
            f"Unknown verification method '{verification_method}'. "
            f"Choose one of: {', '.join(supported)}."
        )
    elif verification_method not in supported:
        errors.append(
            f"{FLOW_TITLES[flow]} does not support {verification_method} verification; Stripe "
            f"accepts only {' or '.join(supported)} there."
        )
    data = [p for p in perms if p in DATA_PERMISSIONS]
    if verification_method == "microdeposits" and verification_method in supported and data:
        warnings.append(
            "With microdeposits the customer types the account and routing numbers by hand, so no "
            f"Financial Connections account is created and {', '.join(data)} will never be "
            "available for these accounts. Use automatic or instant verification to get that data."
        )
    return ValidationResult(errors=tuple(errors), warnings=tuple(warnings))


def config_from(
    flow: str,
    value: Mapping[str, Any],
    version: int,
    updated_by: str | None,
    updated_at: datetime | None,
) -> FlowConfig:
    return FlowConfig(
        flow=flow,
        permissions=canonical(value.get("permissions") or DEFAULT_PERMISSIONS, PERMISSIONS),
        prefetch=canonical(value.get("prefetch") or (), PREFETCH),
        verification_method=str(value.get("verification_method") or DEFAULT_METHOD),
        version=version,
        updated_by=updated_by,
        updated_at=updated_at,
    )


def diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[DiffLine]:
    """What changed from document ``a`` to ``b`` (lists compared as sets of items)."""
    lines: list[DiffLine] = []
    for name in sorted(set(a) | set(b)):
        before, after = a.get(name), b.get(name)
        if isinstance(before, list | tuple) or isinstance(after, list | tuple):
            old, new = list(before or []), list(after or [])
            added = tuple(i for i in new if i not in old)
            removed = tuple(i for i in old if i not in new)
            if added or removed:
                lines.append(DiffLine(name, old, new, added=added, removed=removed))
        elif before != after:
            lines.append(DiffLine(name, before, after))
    return lines


def merge(
    base: Mapping[str, Any], theirs: Mapping[str, Any], mine: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """My edits (``base`` → ``mine``) applied on top of ``theirs``, saved by someone else from
    the same ``base``: what I added or removed in a list is added or removed in theirs, a value
    I changed is mine, one I left is theirs. Also the fields both changed to different values
    (mine kept there), for the page to name."""
    merged: dict[str, Any] = {}
    clashes: list[str] = []
    for name in sorted(set(base) | set(theirs) | set(mine)):
        before, other, own = base.get(name), theirs.get(name), mine.get(name)
        if any(isinstance(v, list | tuple) for v in (before, other, own)):
            was, now = list(before or []), list(own or [])
            kept = [i for i in (other or []) if i in now or i not in was]
            merged[name] = kept + [i for i in now if i not in was and i not in kept]
        elif own != before:
            merged[name] = own
            if other not in (before, own):
                clashes.append(name)
        else:
            merged[name] = other
    return merged, tuple(clashes)


def diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "field": line.field,
            "before": line.before,
            "after": line.after,
            "added": list(line.added),
            "removed": list(line.removed),
        }
        for line in diff(a, b)
    ]


def checked_value(
    flow: str, *, permissions: Iterable[str], prefetch: Iterable[str], verification_method: str
) -> dict[str, Any]:
    perms, pre = tuple(permissions), tuple(prefetch)
    result = validate(
        flow, permissions=perms, prefetch=pre, verification_method=verification_method
    )
    if result.errors:
        raise ValidationError(" ".join(result.errors))
    return {
        "permissions": list(canonical(perms, PERMISSIONS)),
        "prefetch": list(canonical(pre, PREFETCH)),
        "verification_method": verification_method,
    }
