"""The saved versions of a setting (the debit policy, a flow's configuration), newest first:
who saved which version when, with their note, and what each version holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.table_columns import time_column, worded_durations
from services.rules.table_values import utc_time


def history_table(
    versions: Sequence[Any],
    held: Callable[[Any], dict[str, Any]],
    column_config: dict[str, Any] | None = None,
    durations: Sequence[str] = (),
) -> None:
    """One row per version (``version``, ``updated_at``, ``updated_by``, ``note``); ``held(v)``
    gives the columns of what that version holds, ``column_config`` their formats, and
    ``durations`` the ones holding seconds, said in words (:func:`worded_durations`)."""
    frame = pd.DataFrame(
        [
            {
                "Version": v.version,
                "Saved (UTC)": utc_time(v.updated_at),
                "By": v.updated_by or "—",
                **held(v),
                "Note": v.note or "",
            }
            for v in versions
        ]
    )
    st.dataframe(
        worded_durations(frame, durations) if durations else frame,
        hide_index=True,
        placeholder="—",
        width="stretch",
        column_config={
            "Version": st.column_config.NumberColumn(format="v%d", width="small"),
            "Saved (UTC)": time_column("Saved (UTC)"),
            "Note": st.column_config.TextColumn(width="medium"),
            **(column_config or {}),
        },
    )
