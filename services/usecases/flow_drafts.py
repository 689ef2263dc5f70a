"""Each admin's unsaved Flows edits, kept in the store so a reload, a new tab or a link shows
them again (``flows.edit``; an admin sees only their own drafts).

Keeping a draft is not a business change (nothing any payment flow uses changes), so it writes
no audit row: the page keeps the draft on every edit, and Save (audited, :mod:`edit_flows`)
is what changes a configuration. A draft edited from an older version goes through the page's
three-way merge when saved, like any edit whose version was overtaken.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.adapters import flow_drafts as store
from services.auth import Actor, require
from services.rules import input_limits
from services.rules.flow_config import FLOWS, check_flow

if TYPE_CHECKING:
    from services.context import Services

Draft = store.Draft


def _value(permissions: Iterable[str], prefetch: Iterable[str], method: str) -> dict[str, Any]:
    return {
        "permissions": list(input_limits.text_list(permissions, field="The permissions", max_items=20)),
        "prefetch": list(input_limits.text_list(prefetch, field="The prefetch", max_items=20)),
        "verification_method": input_limits.clean_text(
            method, field="The verification method", max_length=40
        ) or "automatic",
    }


def keep_draft(
    svc: Services, actor: Actor, flow: str, *, base_version: int, start: dict[str, Any],
    value: dict[str, Any], note: str = "",
) -> datetime:
    """Keep ``actor``'s unsaved edits (``value``) of ``flow``, edited from ``base_version``
    (whose configuration is ``start``); returns when. Not audited: see the module's docstring."""
    require(actor, "flows.edit")
    check_flow(flow)
    base_version = input_limits.bounded_int(
        base_version, field="The version you edited", minimum=0, maximum=2**31
    )
    parts = [
        _value(v.get("permissions") or (), v.get("prefetch") or (),
               str(v.get("verification_method") or ""))
        for v in (start, value)
    ]
    note = input_limits.clean_text(note, field="The note", max_length=input_limits.NOTE_MAX) or ""
    return store.put(svc.engine, actor.username, flow, base_version=base_version, start=parts[0],
              value=parts[1], note=note)


def my_drafts(svc: Services, actor: Actor) -> dict[str, Draft]:
    """``actor``'s own drafts by flow (another admin's are never returned)."""
    require(actor, "flows.edit")
    return {f: d for f, d in store.for_user(svc.engine, actor.username).items() if f in FLOWS}


def discard_draft(svc: Services, actor: Actor, flow: str) -> None:
    """Forget ``actor``'s draft of ``flow`` (Save, Revert, Load theirs or Discard)."""
    require(actor, "flows.edit")
    check_flow(flow)
    store.drop(svc.engine, actor.username, flow)


def resume_flow(svc: Services, actor: Actor) -> str | None:
    """The flow to open when the address names none: the one ``actor`` edited last, i.e. their
    newest draft, else the flow they saved last; None when neither exists."""
    from services.usecases.edit_flows import load_all

    drafts = my_drafts(svc, actor)
    if drafts:
        return max(drafts.values(), key=lambda d: d.updated_at.timestamp()).flow
    mine = [c for c in load_all(svc).values() if c.version and c.updated_by == actor.username]
    if not mine:
        return None
    return max(mine, key=lambda c: c.updated_at.timestamp() if c.updated_at else 0.0).flow
