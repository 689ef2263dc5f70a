"""Admins set the debit policy (buffer, maximum balance age) that every pre-debit check applies.

Stored in the shared versioned-settings store (:mod:`services.adapters.versioned_settings`):
each save names the version it was edited from, so two admins saving at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from services.adapters import flow_drafts
from services.adapters import versioned_settings as settings_store
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import Conflict, ValidationError
from services.rules import input_limits, policy_bounds
from services.rules.debit import DebitPolicy
from services.rules.money import validate_currency
from services.usecases import policy_draft

__all__ = [
    "POLICY_KEY",
    "PolicyVersion",
    "StoredPolicy",
    "load_policy",
    "load_policy_version",
    "policy_history",
    "save_policy",
]

POLICY_KEY = "debit_policy"


@dataclass(frozen=True)
class StoredPolicy:
    """The policy in force, with the version to send back when saving (0 = never saved)."""

    policy: DebitPolicy
    version: int
    updated_by: str | None
    updated_at: datetime | None
    currency: str = "usd"


@dataclass(frozen=True)
class PolicyVersion:
    """One saved version of the debit policy, for the history table."""

    version: int
    policy: DebitPolicy
    currency: str
    updated_by: str | None
    updated_at: datetime | None
    note: str | None


def _policy_to_doc(policy: DebitPolicy, currency: str) -> dict[str, Any]:
    return {
        "buffer_amount": policy.buffer_amount,
        "buffer_percent": policy.buffer_percent,
        "max_age_seconds": policy.max_age_seconds,
        "currency": currency,
    }


def _policy_from_doc(doc: Mapping[str, Any]) -> DebitPolicy:
    default = DebitPolicy()
    return DebitPolicy(
        buffer_amount=int(doc.get("buffer_amount", default.buffer_amount)),
        # + 0.0: a -0 saved before it was kept as 0 reads "0 %", not "-0 %" (the same buffer)
        buffer_percent=float(doc.get("buffer_percent", default.buffer_percent)) + 0.0,
        max_age_seconds=int(doc.get("max_age_seconds", default.max_age_seconds)),
    )


def _stored_policy(stored: settings_store.Stored) -> StoredPolicy:
    return StoredPolicy(
        policy=_policy_from_doc(stored.value),
        version=stored.version,
        updated_by=stored.updated_by,
        updated_at=stored.updated_at,
        currency=str(stored.value.get("currency") or "usd"),
    )


def load_policy(engine: Engine) -> StoredPolicy:
    """The saved policy, or the defaults (no buffer, 24 h) until an admin saves one."""
    stored = settings_store.load(engine, POLICY_KEY)
    return StoredPolicy(DebitPolicy(), 0, None, None) if stored is None else _stored_policy(stored)


def load_policy_version(engine: Engine, version: int) -> StoredPolicy:
    """Version ``version`` of the policy as it was saved (0: the defaults), for a run that
    applies the version it started with even after an admin saved a newer one."""
    if version == 0:
        return StoredPolicy(DebitPolicy(), 0, None, None)
    stored = settings_store.load_version(engine, POLICY_KEY, version)
    if stored is None:
        raise ValidationError(  # not retried: the history will not grow it back
            f"Debit policy version {version} is not in the policy history any more, so this "
            "batch cannot be judged by it. Run the batch check again to use the current policy."
        )
    return _stored_policy(stored)


def policy_history(engine: Engine) -> list[PolicyVersion]:
    """Every saved version of the debit policy, newest first (empty until an admin saves)."""
    return [
        PolicyVersion(
            version=s.version,
            policy=_policy_from_doc(s.value),
            currency=str(s.value.get("currency") or "usd"),
            updated_by=s.updated_by,
            updated_at=s.updated_at,
            note=s.note,
        )
        for s in settings_store.history(engine, POLICY_KEY)
    ]


def current(svc: Services, actor: Actor) -> StoredPolicy:
    """The policy in force, for the admin editing it."""
    require(actor, "policy.edit")
    return load_policy(svc.engine)


def versions(svc: Services, actor: Actor) -> list[PolicyVersion]:
    """Every saved version, newest first, for the admin editing the policy."""
    require(actor, "policy.edit")
    return policy_history(svc.engine)


def check_policy_bounds(policy: DebitPolicy, currency: str = "usd") -> None:
    """Refuse a policy outside what the form allows, with a sentence saying the allowed range
    (:func:`services.rules.policy_bounds.problems`, the rule the page checks with too).

    Types first (:mod:`services.rules.input_limits`): a crafted client may send a boolean, NaN,
    an infinity or text where the form only offers numbers."""
    for value, field, whole in (
        (policy.buffer_percent, "The percentage buffer", False),
        (policy.max_age_seconds, "The maximum balance age", True),
        (policy.buffer_amount, "The fixed buffer", True),
    ):
        wanted = int if whole else int | float
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise ValidationError(f"{field} must be a {'whole ' if whole else ''}number.")
        if not whole:
            input_limits.bounded_number(value, field=field, minimum=0, maximum=1e9, unit="%")
    found = policy_bounds.problems(
        buffer_amount=policy.buffer_amount,
        buffer_percent=policy.buffer_percent,
        max_age_hours=policy.max_age_seconds / 3600,
        currency=currency,
    )
    if found:
        raise ValidationError(" ".join(found))


def save_policy(
    svc: Engine | Services,
    actor: Actor,
    policy: DebitPolicy,
    *,
    expected_version: int,
    currency: str = "usd",
    note: str | None = None,
    idempotency_key: str | None = None,
) -> StoredPolicy:
    """Save a new version if nobody saved since `expected_version`; else Conflict. Audited,
    with the page's idempotency key on the row (a repeated submit of what is stored already
    writes nothing: see :func:`services.adapters.versioned_settings.save`). The percentage is
    saved to the 2 decimal places its box shows, -0 as 0
    (:func:`services.rules.policy_bounds.kept_policy`); the result holds what was saved."""
    engine = svc.engine if isinstance(svc, Services) else svc
    note = input_limits.clean_text(note, field="The note", max_length=input_limits.NOTE_MAX)
    currency = validate_currency(currency)
    params = {**_policy_to_doc(policy, currency), "expected_version": expected_version}
    with audited(
        engine,
        actor=actor,
        action="policy.save",
        target=POLICY_KEY,
        params=params,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "policy.edit")
        check_policy_bounds(policy, currency)
        typed, policy = policy.buffer_percent, policy_bounds.kept_policy(policy)
        if policy.buffer_percent != typed:
            ctx.params["buffer_percent_kept"] = policy.buffer_percent  # what was saved of it
        doc = _policy_to_doc(policy, currency)
        try:
            saved = settings_store.save(
                engine,
                POLICY_KEY,
                doc,
                updated_by=actor.username,
                expected_version=expected_version,
                note=note,
            )
        except settings_store.StaleVersion:
            raise Conflict(
                "Someone else saved the debit policy while you were editing it, so yours was "
                "not saved. See what they changed, then apply your edits on top of their version."
            ) from None
        flow_drafts.drop(engine, actor.username, policy_draft.NAME)  # saved: the draft is done
        if saved.changed:
            ctx.params["version"] = saved.stored.version
            ctx.message = f"Debit policy saved as version {saved.stored.version}."
        else:
            ctx.message = f"No changes; version {saved.stored.version} kept."
        return _stored_policy(saved.stored)
    raise AssertionError("unreachable")  # pragma: no cover
