"""Per-flow Financial Connections configuration: validation, versioned storage, Stripe previews.

Each integration flow (SetupIntent, PaymentIntent, Checkout, Invoice, Subscription, Payment
Element) asks Stripe for a set of FC ``permissions``, optional ``prefetch`` and a
``verification_method``. Admins edit them here; the collection service reads them through
:func:`load_flow` and :meth:`FlowConfig.stripe_params`, so what admins see in the preview is exactly
what the integration sends.

Storage is a :class:`~services.models.Setting` document per flow (key ``flow:<name>``) plus one
:class:`~services.models.SettingVersion` row per saved version. Saves use optimistic concurrency:
the caller says which version it edited, and the store accepts the save only if that is still the
current version (one ``UPDATE … WHERE version = expected``), so two admins, even on two app replicas
sharing PostgreSQL, can never overwrite each other silently.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services import audit
from services.auth import Actor
from services.errors import Conflict, NotFound, ValidationError
from services.models import Setting, SettingVersion, utcnow
from services.store import session_scope

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
API_BASE = "https://api.stripe.com"
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

    def us_bank_account_options(self) -> dict[str, Any]:
        """``payment_method_options[us_bank_account]`` — the same shape in every flow."""
        fc: dict[str, Any] = {"permissions": list(self.permissions)}
        if self.prefetch:
            fc["prefetch"] = list(self.prefetch)
        return {"verification_method": self.verification_method, "financial_connections": fc}

    def stripe_params(self) -> dict[str, Any]:
        """The params fragment this flow's create call needs (merge it into your own params)."""
        options = {"us_bank_account": self.us_bank_account_options()}
        if self.flow in ("invoice", "subscription"):
            # Billing objects carry payment options under payment_settings.
            return {
                "payment_settings": {
                    "payment_method_types": ["us_bank_account"],
                    "payment_method_options": options,
                }
            }
        if self.flow == "payment_element":
            # The Payment Element shows the methods enabled in the Dashboard (dynamic payment
            # methods); the us_bank_account options apply when the customer picks a bank account.
            return {
                "automatic_payment_methods": {"enabled": True},
                "payment_method_options": options,
            }
        # Reference §9: the pinned version (endive) refuses `payment_method_types` on PI/SI/Checkout
        # create; `allowed_payment_method_types` filters the dynamically eligible methods instead
        # (mutually exclusive with `automatic_payment_methods`, which the Payment Element uses).
        return {
            "allowed_payment_method_types": ["us_bank_account"],
            "payment_method_options": options,
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


# -- previews -------------------------------------------------------------------------------------

PREVIEW_AMOUNT = 1099  # minor units, usd; only an example for the create calls that need one


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _base_request(flow: str, customer: str) -> tuple[str, dict[str, Any]]:
    if flow in ("payment_intent", "payment_element"):
        return "/v1/payment_intents", {
            "amount": PREVIEW_AMOUNT,
            "currency": "usd",
            "customer": customer,
        }
    if flow == "setup_intent":
        return "/v1/setup_intents", {"customer": customer}
    if flow == "checkout_session":
        return "/v1/checkout/sessions", {
            "mode": "setup",
            "currency": "usd",
            "customer": customer,
            "success_url": "https://example.com/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://example.com/cancel",
        }
    if flow == "invoice":
        return "/v1/invoices", {
            "customer": customer,
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    return "/v1/subscriptions", {
        "customer": customer,
        "items": [{"price": "price_123"}],
        "payment_behavior": "default_incomplete",
        "payment_settings": {"save_default_payment_method": "on_subscription"},
    }


def preview_request(
    config: FlowConfig, *, customer: str = "cus_123"
) -> tuple[str, str, dict[str, Any]]:
    """(HTTP method, path, full params) of the flow's create call with this configuration."""
    _check_flow(config.flow)
    path, base = _base_request(config.flow, customer)
    return "POST", path, _merge(base, config.stripe_params())


def form_pairs(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding as (key, value) pairs: ``a[b][]=x`` for lists of scalars,
    ``a[0][b]=x`` for lists of objects, ``true``/``false`` for booleans, None omitted (§1.2)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_pairs_for(name, value))
    return pairs


def _pairs_for(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return form_pairs(value, name)
    if isinstance(value, list | tuple):
        pairs: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                pairs.extend(form_pairs(item, f"{name}[{i}]"))
            else:
                pairs.extend(_pairs_for(f"{name}[]", item))
        return pairs
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    return [(name, str(value))]


def form_body(params: Mapping[str, Any]) -> str:
    """The request body as Stripe's SDK would send it: brackets raw, values percent-encoded."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in form_pairs(params))


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def _curl_arg(key: str, value: str) -> str:
    # -d sends its text as it is, so values with reserved characters go through --data-urlencode
    # (curl encodes the part after the first '='); the key keeps its brackets as Stripe expects.
    flag = "-d" if value and set(value) <= _PLAIN else "--data-urlencode"
    return f"{flag} {shlex.quote(f'{key}={value}')}"


def curl_command(config: FlowConfig, *, customer: str = "cus_123") -> str:
    """A copyable curl for the create call; the key comes from $STRIPE_SECRET_KEY, never inline."""
    method, path, params = preview_request(config, customer=customer)
    lines = [f"curl {API_BASE}{path}", '-u "$STRIPE_SECRET_KEY:"']
    if method != "POST":
        lines.append(f"-X {method}")
    lines += [_curl_arg(k, v) for k, v in form_pairs(params)]
    return " \\\n  ".join(lines)
