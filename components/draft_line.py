"""The line an editor with a kept draft shows: when the unsaved edits were kept, and Discard.

Flow configuration and Debit policy keep each admin's unsaved edits in the store (a reload, a
new tab or leaving the page shows them again); this says so in the same words on both pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import streamlit as st

from services.rules import wording


def draft_line(
    at: datetime, *, key: str, on_discard: Callable[..., None], args: tuple[Any, ...] = ()
) -> None:
    """Say the draft was kept ``at``, for this admin only, with a Discard draft button (``key``)
    whose click runs ``on_discard(*args)``."""
    text_col, button_col = st.columns([4, 1], vertical_alignment="center")
    text_col.caption(
        f":orange[:material/edit_note: Unsaved edits: your draft from {wording.moment(at)}], "
        "kept for you only (a reload or a new tab shows it again) until you save or discard it."
    )
    button_col.button(
        "Discard draft", key=key, icon=":material/delete:", on_click=on_discard, args=args,
        width="stretch",
    )
