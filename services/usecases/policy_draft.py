"""Each admin's unsaved Debit policy edits, kept in the store so leaving the page, a reload or a
new tab shows them again (``policy.edit``; an admin sees only their own draft).

The same drafts store as Flow configuration's (:mod:`services.adapters.flow_drafts`), one row per
admin under the name :data:`NAME` beside their flows' rows. Keeping a draft is not a business
change (no check uses it), so it writes no audit row; Save (audited, :mod:`debit_policy`) is what
changes the policy, and drops the draft. A draft kept from an older version goes through the
page's conflict panel when shown, like any edit whose version was overtaken.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.adapters import flow_drafts as store
from services.auth import Actor, require
from services.rules import input_limits

if TYPE_CHECKING:
    from services.context import Services

NAME = "policy"  # not a flow's name (services.rules.flow_config.FLOWS), so never shown as one
Draft = store.Draft


def _number(value: Any, field: str) -> float:
    """A box's number as typed, whatever its size (out of the policy's range is fine: Save says
    why, in the policy's own words). A range here too showed its own sentence beside Save's for
    1e308 typed ("… between -1e+12 and 1e+12; got 1e+308."). Only what no box holds is refused."""
    return float(input_limits.bounded_number(
        value, field=field, minimum=-sys.float_info.max, maximum=sys.float_info.max
    ))


def _start(start: dict[str, Any]) -> dict[str, Any]:
    return {
        "buffer_amount": input_limits.bounded_int(
            start.get("buffer_amount", 0), field="The fixed buffer", minimum=0, maximum=10**13
        ),
        "buffer_percent": _number(start.get("buffer_percent", 0.0), "The percentage buffer"),
        "max_age_seconds": input_limits.bounded_int(
            start.get("max_age_seconds", 0), field="The maximum balance age", minimum=0,
            maximum=10**9,
        ),
    }


def _value(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "buffer_amount": input_limits.clean_text(
            str(value.get("buffer_amount") or ""), field="The buffer amount", max_length=40
        ) or "",
        "buffer_percent": _number(value.get("buffer_percent", 0.0), "The percentage buffer"),
        "max_age_hours": _number(value.get("max_age_hours", 0.0), "The maximum balance age"),
    }


def keep_policy_draft(
    svc: Services, actor: Actor, *, base_version: int, start: dict[str, Any],
    value: dict[str, Any], note: str = "",
) -> datetime:
    """Keep ``actor``'s unsaved policy form (``value``: the boxes as typed) edited from
    ``base_version`` (whose policy is ``start``); returns when. Not audited (module docstring)."""
    require(actor, "policy.edit")
    base_version = input_limits.bounded_int(
        base_version, field="The version you edited", minimum=0, maximum=2**31
    )
    note = input_limits.clean_text(note, field="The note", max_length=input_limits.NOTE_MAX) or ""
    return store.put(svc.engine, actor.username, NAME, base_version=base_version,
                     start=_start(start), value=_value(value), note=note)


def my_policy_draft(svc: Services, actor: Actor) -> Draft | None:
    """``actor``'s own policy draft (another admin's is never returned), or None."""
    require(actor, "policy.edit")
    return store.for_user(svc.engine, actor.username).get(NAME)


def discard_policy_draft(svc: Services, actor: Actor) -> None:
    """Forget ``actor``'s policy draft (Discard draft, Load theirs, or edited back)."""
    require(actor, "policy.edit")
    store.drop(svc.engine, actor.username, NAME)
