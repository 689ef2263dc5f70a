"""A text box and its button on one line, inside a form so Enter submits it too."""

from __future__ import annotations

import streamlit as st


def search_row(
    form: str,
    label: str,
    *,
    placeholder: str,
    key: str,
    button: str,
    widths: tuple[int, int] = (5, 1),
    kept: bool = False,
) -> tuple[str, bool]:
    """Draws the row; returns what is typed and whether the button (or Enter) submitted it.
    ``kept``: the box keeps its value while another page runs (persist_state="session")."""
    with st.form(form, border=False):
        left, right = st.columns(list(widths), vertical_alignment="bottom")
        text = left.text_input(
            label, placeholder=placeholder, key=key, persist_state="session" if kept else None
        )
        submitted = right.form_submit_button(button, icon=":material/search:", width="stretch")
    return text, submitted
