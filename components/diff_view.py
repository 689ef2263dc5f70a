"""Rendering of a configuration diff: added and removed items, changed values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import streamlit as st


class DiffLineLike(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def before(self) -> Any: ...
    @property
    def after(self) -> Any: ...
    @property
    def added(self) -> tuple[str, ...]: ...
    @property
    def removed(self) -> tuple[str, ...]: ...


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(f"`{v}`" for v in value) or "(none)"
    return "(none)" if value in (None, "") else f"`{value}`"


def diff_markdown(lines: Sequence[DiffLineLike]) -> str:
    """Markdown bullets, one per changed field (pure, so it can be tested without Streamlit)."""
    bullets = []
    for line in lines:
        if line.added or line.removed:
            parts = [f":green[+ `{item}`]" for item in line.added]
            parts += [f":red[− `{item}`]" for item in line.removed]
            bullets.append(f"- **{line.field}**: {' '.join(parts)}")
        else:
            bullets.append(f"- **{line.field}**: {_show(line.before)} → {_show(line.after)}")
    return "\n".join(bullets)


def diff_view(lines: Sequence[DiffLineLike], *, empty: str = "No differences.") -> None:
    """Show a diff as bullets, or ``empty`` when nothing changed."""
    if not lines:
        st.caption(empty)
        return
    st.markdown(diff_markdown(lines))


def both_changed(field: str, mine: str, theirs: str) -> None:
    """A field both admins changed to different values: the merge keeps mine, and says so (one
    sentence for every page with a conflict panel: Flows, Debit policy)."""
    st.warning(
        f"You both changed **{field}**: keeping your edits keeps yours (`{mine}`), not theirs "
        f"(`{theirs}`).",
        icon=":material/call_split:",
    )
