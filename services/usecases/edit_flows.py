"""Admins edit each flow's Financial Connections configuration: load, history, save, revert.

The values and their validation are the pure rule :mod:`services.rules.flow_config`; storage is
the shared versioned-settings store (:mod:`services.adapters.versioned_settings`, one document
per flow under key ``flow:<name>``, compare-and-set on the version). The collection service reads
configs through :func:`load_flow` and builds its create call with
:mod:`services.adapters.flow_requests`, which also makes the page's previews, so what admins see
in the preview is exactly what the integration sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from services.adapters import flow_drafts
from services.adapters import versioned_settings as settings_store
from services.audit import AuditContext, audited
from services.auth import Actor, require
from services.errors import Conflict, NotFound
from services.rules import input_limits, three_way, wording
from services.rules.flow_config import (
    FLOW_TITLES,
    FLOWS,
    FlowConfig,
    FlowVersion,
    check_flow,
    checked_value,
    config_from,
    default_config,
    diff_params,
)

if TYPE_CHECKING:
    from services.context import Services

KEY_PREFIX = "flow:"


def _engine(svc_or_engine: Engine | Services) -> Engine:
    engine = getattr(svc_or_engine, "engine", svc_or_engine)
    assert isinstance(engine, Engine)
    return engine


def setting_key(flow: str) -> str:
    return f"{KEY_PREFIX}{flow}"


def _from_stored(flow: str, stored: settings_store.Stored | None) -> FlowConfig:
    if stored is None:
        return default_config(flow)
    return config_from(flow, stored.value, stored.version, stored.updated_by, stored.updated_at)


def load_flow(engine: Engine | Services, flow: str) -> FlowConfig:
    """The flow's current configuration (fcops' built-in defaults, version 0, when never saved)."""
    check_flow(flow)
    return _from_stored(flow, settings_store.load(_engine(engine), setting_key(flow)))


def load_all(engine: Engine | Services) -> dict[str, FlowConfig]:
    stored = settings_store.load_many(_engine(engine), [setting_key(f) for f in FLOWS])
    return {flow: _from_stored(flow, stored.get(setting_key(flow))) for flow in FLOWS}


def history(engine: Engine | Services, flow: str) -> list[FlowVersion]:
    """Every saved version, newest first."""
    check_flow(flow)
    return [
        FlowVersion(flow, s.version, s.value, s.updated_by, s.updated_at, s.note)
        for s in settings_store.history(_engine(engine), setting_key(flow))
    ]


def view(svc: Services, actor: Actor, flow: str) -> FlowConfig:
    """:func:`load_flow` for the Flows page (``flows.view``)."""
    require(actor, "flows.view")
    return load_flow(svc, flow)


def versions(svc: Services, actor: Actor, flow: str) -> list[FlowVersion]:
    """:func:`history` for the Flows page (``flows.view``)."""
    require(actor, "flows.view")
    return history(svc, flow)


def edit_conflict(svc: Services, actor: Actor, flow: str, base_version: int) -> str | None:
    """:func:`stale_edit` for the Flows page's editor (``flows.edit``)."""
    require(actor, "flows.edit")
    return stale_edit(svc, flow, base_version)


def _conflict(engine: Engine, flow: str, expected_version: int) -> Conflict:
    current = load_flow(engine, flow)
    if current.version == 0:
        return Conflict(
            f"Version {expected_version} of {current.title} does not exist; it was never saved. "
            "See the current configuration, then apply your edits to it; they are kept for you "
            "meanwhile (a reload shows them again)."
        )
    # Every version saved since, up to the newest: the panel that shows this kept naming the
    # first one after another admin had saved again.
    newer = three_way.saved_since(history(engine, flow), expected_version, current)
    base = wording.version_name(expected_version, three_way.NEVER_SAVED)
    return Conflict(
        f"{three_way.saved_meanwhile(newer, base)}; your changes were not saved. See what they "
        "changed, then apply yours on top of their version. Your edits are kept for you "
        "meanwhile (a reload shows them again)."
    )


def stale_edit(engine: Engine | Services, flow: str, base_version: int) -> str | None:
    """Why an edit started from ``base_version`` can no longer be saved, or None if it can.

    Lets a page open its conflict panel before saving; :func:`save_flow` still refuses a save
    that loses the race, with the same sentence.
    """
    eng = _engine(engine)
    if load_flow(eng, flow).version == base_version:
        return None
    return str(_conflict(eng, flow, base_version))


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
    idempotency_key: str | None = None,
) -> FlowConfig:
    """Save a new version of ``flow`` edited from ``expected_version`` (admins, audited, with
    the page's idempotency key on the row; a repeated submit of what is stored writes nothing).

    Raises ValidationError (all problems in one message), Conflict (someone saved first; nothing
    written) or Forbidden. Saving an unchanged configuration writes no new version.
    """
    eng = _engine(engine)
    flow = input_limits.clean_text(flow, field="The flow", max_length=40)
    perms = input_limits.text_list(permissions, field="The permissions", max_items=20)
    pre = input_limits.text_list(prefetch, field="The prefetch", max_items=20)
    verification_method = input_limits.clean_text(
        verification_method, field="The verification method", max_length=40
    )
    note = input_limits.clean_text(note, field="The note", max_length=input_limits.NOTE_MAX)
    expected_version = input_limits.bounded_int(
        expected_version, field="The version you edited", minimum=0, maximum=2**31
    )
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
    with audited(
        eng, actor=actor, action="flow.save", target=setting_key(flow), params=params,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "flows.edit")
        value = checked_value(
            flow, permissions=perms, prefetch=pre, verification_method=verification_method
        )
        return _save_checked(eng, actor, flow, value, expected_version, note, ctx)
    raise AssertionError("unreachable")  # pragma: no cover


def _save_checked(
    engine: Engine,
    actor: Actor,
    flow: str,
    value: dict[str, Any],
    expected_version: int,
    note: str | None,
    ctx: AuditContext,
) -> FlowConfig:
    ctx.params["diff"] = diff_params(load_flow(engine, flow).value(), value)
    try:
        saved = settings_store.save(
            engine,
            setting_key(flow),
            value,
            updated_by=actor.username,
            expected_version=expected_version,
            note=note,
        )
    except settings_store.StaleVersion:
        raise _conflict(engine, flow, expected_version) from None
    config = _from_stored(flow, saved.stored)
    flow_drafts.drop(engine, actor.username, flow)  # saved (or reverted): the draft is done
    if saved.changed:
        ctx.message = f"Saved version {config.version}."
    else:
        # Nothing to lose: unchanged, or a repeated submit (double click, rerun) of what is stored.
        ctx.message = f"No changes; version {config.version} kept."
    return config


def revert(
    engine: Engine | Services,
    actor: Actor,
    flow: str,
    *,
    to_version: int,
    expected_version: int,
    idempotency_key: str | None = None,
) -> FlowConfig:
    """Save a NEW version equal to ``to_version`` (history is never rewritten; audited, with
    the page's idempotency key on the row)."""
    eng = _engine(engine)
    to_version, expected_version = (
        input_limits.bounded_int(v, field=f, minimum=0, maximum=2**31)
        for v, f in ((to_version, "The version to go back to"), (expected_version, "The version"))
    )
    params = {"flow": flow, "to_version": to_version, "expected_version": expected_version}
    with audited(
        eng, actor=actor, action="flow.revert", target=setting_key(flow), params=params,
        idempotency_key=idempotency_key,
    ) as ctx:
        require(actor, "flows.edit")
        old = next((v for v in history(eng, flow) if v.version == to_version), None)
        if old is None:
            raise NotFound(f"{FLOW_TITLES.get(flow, flow)} has no saved version {to_version}.")
        value = checked_value(
            flow,
            permissions=old.value.get("permissions") or (),
            prefetch=old.value.get("prefetch") or (),
            verification_method=str(old.value.get("verification_method") or ""),
        )
        note = f"Reverted to version {to_version}"
        return _save_checked(eng, actor, flow, value, expected_version, note, ctx)
    raise AssertionError("unreachable")  # pragma: no cover
