"""The "Compare … with …" pair of a history tab, following the newest pair until the person picks.

Streamlit keeps a selectbox's value when its options change, so boxes opened on "v0 with v1"
stayed there after more versions were saved (by this admin or another). Here the pair follows the
newest (previous vs latest) on every run until the person changes either box; a pair the person
chose stays as long as both versions still exist, and the boxes follow the newest pair again
when one of them is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def _chosen(flag: str) -> None:
    st.session_state[flag] = True


def newest_pair(numbers: Sequence[int]) -> tuple[int, int]:
    """(previous, latest) of ``numbers`` sorted newest first; one version is compared with itself."""
    return numbers[min(1, len(numbers) - 1)], numbers[0]


def version_pair(
    numbers: Sequence[int], label: Callable[[Any], str], key_a: str, key_b: str
) -> tuple[int, int]:
    """Draw the two boxes in two columns and return (older, newer) as shown."""
    flag = f"{key_a}_chosen"
    state = st.session_state
    kept = (state.get(key_a), state.get(key_b))
    if not (state.get(flag) and all(n in numbers for n in kept)):
        state[flag] = False
        state[key_a], state[key_b] = newest_pair(numbers)
    a_col, b_col = st.columns(2)
    older = a_col.selectbox(
        "Compare", numbers, format_func=label, key=key_a, on_change=_chosen, args=(flag,)
    )
    newer = b_col.selectbox(
        "with", numbers, format_func=label, key=key_b, on_change=_chosen, args=(flag,)
    )
    return int(older), int(newer)
