"""Per-flow Financial Connections configuration as a pure rule: flows, values, validation, diff.

Each integration flow (SetupIntent, PaymentIntent, Checkout, Invoice, Subscription, Payment
Element) asks Stripe for a set of FC ``permissions``, optional ``prefetch`` and a
``verification_method`` (reference §3.2, §6.1). Storage and the admin's edits live in
:mod:`services.usecases.edit_flows`. ``diff`` and ``merge`` are the shared rule for versioned
settings (:mod:`services.rules.three_way`, which Debit policy uses too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.errors import ValidationError
from services.rules.three_way import DiffLine as DiffLine
from services.rules.three_way import diff as diff
from services.rules.three_way import labelled
from services.rules.three_way import merge as merge

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
    """One flow's FC configuration; ``version`` 0 means fcops' built-in defaults, never saved."""

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
    """fcops' built-in defaults (sent to Stripe explicitly): automatic verification,
    payment_method permission only, no prefetch."""
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


# The editor's labels for a configuration's fields (Flow configuration draws its boxes with
# them), which is how the page names a field everywhere it shows a diff.
FIELD_LABELS: dict[str, str] = {
    "permissions": "Permissions",
    "prefetch": "Prefetch",
    "verification_method": "Verification method",
}


def shown_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[DiffLine]:
    """:func:`diff` with the fields named as the editor names them (see FIELD_LABELS)."""
    return labelled(diff(a, b), FIELD_LABELS)


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


def session_choice(
    config: FlowConfig,
    permissions: Iterable[str] | None,
    prefetch: Iterable[str] | None,
    *,
    flow: str = "setup_intent",
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An FC session's permissions and prefetch: those chosen, else ``config``'s; checked as
    ``flow``'s rules check them (a ValidationError in a sentence)."""
    perms = canonical(permissions if permissions is not None else config.permissions, PERMISSIONS)
    pre = canonical(prefetch if prefetch is not None else config.prefetch, PREFETCH)
    if not perms:
        raise ValidationError(
            "Choose at least one permission for the Financial Connections session."
        )
    result = validate(flow, permissions=perms, prefetch=pre, verification_method="automatic")
    if result.errors:
        raise ValidationError(" ".join(result.errors))
    return perms, pre
