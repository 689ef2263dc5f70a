"""Per-flow Financial Connections configuration: validation, versioned storage, Stripe previews.

Each integration flow (SetupIntent, PaymentIntent, Checkout, Invoice, Subscription, Payment
Element) asks Stripe for a set of FC ``permissions``, optional ``prefetch`` and a
``verification_method``. Admins edit them here; the collection service reads them through
:func:`load_flow` and builds its create call with :mod:`services.adapters.flow_requests`, which also makes
the page's previews, so what admins see in the preview is exactly what the integration sends.

Storage is a :class:`~services.adapters.models.Setting` document per flow (key ``flow:<name>``) plus one
:class:`~services.adapters.models.SettingVersion` row per saved version. Saves use optimistic concurrency:
the caller says which version it edited, and the store accepts the save only if that is still the
current version (one ``UPDATE … WHERE version = expected``), so two admins, even on two app replicas
sharing PostgreSQL, can never overwrite each other silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services import audit
from services.adapters.models import Setting, SettingVersion, utcnow
from services.adapters.store import session_scope
from services.auth import Actor
from services.errors import Conflict, NotFound, ValidationError

if TYPE_CHECKING:
    from services.context import Services

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
KEY_PREFIX = "flow:"


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
    _check_flow(flow)
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
        return _config_from(self.flow, self.value, self.version, self.updated_by, self.updated_at)


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


def _check_flow(flow: str) -> None:
    if flow not in FLOWS:
        raise ValidationError(f"Unknown flow '{flow}'. Choose one of: {', '.join(FLOWS)}.")


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
            errors=(f"Unknown flow '{flow}'. Choose one of: {', '.join(FLOWS)}.",)
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


# -- storage --------------------------------------------------------------------------------------


def _engine(svc_or_engine: Engine | Services) -> Engine:
    engine = getattr(svc_or_engine, "engine", svc_or_engine)
    assert isinstance(engine, Engine)
    return engine


def setting_key(flow: str) -> str:
    return f"{KEY_PREFIX}{flow}"


def _config_from(
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


def _from_setting(flow: str, row: Setting | None) -> FlowConfig:
    if row is None:
        return default_config(flow)
    return _config_from(flow, row.value, row.version, row.updated_by, row.updated_at)


def load_flow(engine: Engine | Services, flow: str) -> FlowConfig:
    """The flow's current configuration (Stripe's defaults, version 0, when never saved)."""
    _check_flow(flow)
    with session_scope(_engine(engine)) as session:
        return _from_setting(flow, session.get(Setting, setting_key(flow)))


def load_all(engine: Engine | Services) -> dict[str, FlowConfig]:
    keys = [setting_key(f) for f in FLOWS]
    with session_scope(_engine(engine)) as session:
        rows = session.exec(select(Setting).where(col(Setting.key).in_(keys))).all()
    by_key = {row.key: row for row in rows}
    return {flow: _from_setting(flow, by_key.get(setting_key(flow))) for flow in FLOWS}


def history(engine: Engine | Services, flow: str) -> list[FlowVersion]:
    """Every saved version, newest first."""
    _check_flow(flow)
    with session_scope(_engine(engine)) as session:
        rows = session.exec(
            select(SettingVersion)
            .where(SettingVersion.key == setting_key(flow))
            .order_by(col(SettingVersion.version).desc())
        ).all()
    return [
        FlowVersion(
            flow=flow,
            version=row.version,
            value=dict(row.value),
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            note=row.note,
        )
        for row in rows
    ]


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


def _diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
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


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "an unknown time"


def _conflict(engine: Engine, flow: str, expected_version: int) -> Conflict:
    current = load_flow(engine, flow)
    if current.version == 0:
        return Conflict(
            f"Version {expected_version} of {current.title} does not exist; it was never saved. "
            "Reload to see the current configuration, then re-apply your changes."
        )
    who = current.updated_by or "Someone"
    return Conflict(
        f"{who} saved version {current.version} at {_when(current.updated_at)} while you were "
        "editing; your changes were not saved. Reload to see theirs, then re-apply yours."
    )


def _store(
    engine: Engine,
    flow: str,
    *,
    value: dict[str, Any],
    actor: Actor,
    expected_version: int,
    note: str | None,
) -> FlowConfig:
    """Compare-and-set: write version expected+1 only if the stored version is still expected."""
    key, new_version, now = setting_key(flow), expected_version + 1, utcnow()
    try:
        with session_scope(engine) as session:
            if expected_version == 0:
                session.add(
                    Setting(
                        key=key, version=1, value=value, updated_by=actor.username, updated_at=now
                    )
                )
                session.flush()
            else:
                result = session.exec(
                    update(Setting)
                    .where(col(Setting.key) == key, col(Setting.version) == expected_version)
                    .values(
                        version=new_version, value=value, updated_by=actor.username, updated_at=now
                    )
                )
                if result.rowcount != 1:
                    raise _Lost
            session.add(
                SettingVersion(
                    key=key,
                    version=new_version,
                    value=value,
                    updated_by=actor.username,
                    updated_at=now,
                    note=note or None,
                )
            )
    except (_Lost, IntegrityError):
        raise _conflict(engine, flow, expected_version) from None
    return _config_from(flow, value, new_version, actor.username, now)


class _Lost(Exception):
    """Internal: the compare-and-set found another version; rolled back, reported as Conflict."""


def _checked_value(
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


def save_flow(
    engine: Engine | Services,
    actor: Actor,
    flow: str,
    *,
    permissions: Iterable[str],
    prefetch: Iterable[str],
    verification_method: str,
    expected_version: int,
    note: str | None = None,
) -> FlowConfig:
    """Save a new version of ``flow`` edited from ``expected_version`` (admins, audited).

    Raises ValidationError (all problems in one message), Conflict (someone saved first; nothing
    written) or Forbidden. Saving an unchanged configuration writes no new version.
    """
    eng = _engine(engine)
    perms, pre = tuple(permissions), tuple(prefetch)
    params: dict[str, Any] = {
        "flow": flow,
        "expected_version": expected_version,
        "value": {
            "permissions": list(perms),
            "prefetch": list(pre),
            "verification_method": verification_method,
        },
        "note": note,
    }

    def run(ctx: audit.AuditContext) -> FlowConfig:
        value = _checked_value(
            flow, permissions=perms, prefetch=pre, verification_method=verification_method
        )
        return _save_checked(
            eng, actor, flow, value=value, expected_version=expected_version, note=note, ctx=ctx
        )

    return audit.guarded(
        eng,
        actor=actor,
        permission="flows.edit",
        action="flow.save",
        target=setting_key(flow),
        params=params,
        idempotency_key=None,
        run=run,
    )


def _save_checked(
    engine: Engine,
    actor: Actor,
    flow: str,
    *,
    value: dict[str, Any],
    expected_version: int,
    note: str | None,
    ctx: audit.AuditContext,
) -> FlowConfig:
    current = load_flow(engine, flow)
    ctx.params["diff"] = _diff_params(current.value(), value)
    if current.version and current.value() == value:
        # Nothing to lose: unchanged, or a repeated submit (double click, rerun) of what is stored.
        ctx.message = f"No changes; version {current.version} kept."
        return current
    if current.version != expected_version:
        raise _conflict(engine, flow, expected_version)
    try:
        saved = _store(
            engine, flow, value=value, actor=actor, expected_version=expected_version, note=note
        )
    except Conflict:
        latest = load_flow(engine, flow)
        if latest.value() != value:
            raise
        saved = latest  # a concurrent identical submit won the race
    ctx.message = f"Saved version {saved.version}."
    return saved


def revert(
    engine: Engine | Services,
    actor: Actor,
    flow: str,
    *,
    to_version: int,
    expected_version: int,
) -> FlowConfig:
    """Save a NEW version equal to ``to_version`` (history is never rewritten; audited)."""
    eng = _engine(engine)

    def run(ctx: audit.AuditContext) -> FlowConfig:
        old = next((v for v in history(eng, flow) if v.version == to_version), None)
        if old is None:
            raise NotFound(f"{FLOW_TITLES.get(flow, flow)} has no saved version {to_version}.")
        value = _checked_value(
            flow,
            permissions=old.value.get("permissions") or (),
            prefetch=old.value.get("prefetch") or (),
            verification_method=str(old.value.get("verification_method") or ""),
        )
        return _save_checked(
            eng,
            actor,
            flow,
            value=value,
            expected_version=expected_version,
            note=f"Reverted to version {to_version}",
            ctx=ctx,
        )

    return audit.guarded(
        eng,
        actor=actor,
        permission="flows.edit",
        action="flow.revert",
        target=setting_key(flow),
        params={"flow": flow, "to_version": to_version, "expected_version": expected_version},
        idempotency_key=None,
        run=run,
    )
