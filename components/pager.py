"""Previous/Next under a list longer than a page: which page to show, and the buttons that move.

A list keeps ``(signature, page)`` in the session under its own key; the signature is whatever
chooses the rows (search term, filters, order), so a new search or filter starts at page 1 while
the pager's clicks keep theirs. The buttons are keyed ``<prefix>_prev`` and ``<prefix>_next``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def current_page(key: str, signature: Any) -> int:
    """The page to show: 1 when ``signature`` differs from the last run's, else the pager's."""
    kept = st.session_state.get(key)
    page = kept[1] if isinstance(kept, tuple) and kept[0] == signature else 1
    st.session_state[key] = (signature, page)
    return int(page)


def chosen_page(prefix: str, page: int, pages: int, *, caption: str, noun: str = "") -> int | None:
    """Draws Previous | caption | Next; the page a click asks for, or None without a click.
    ``noun`` names what is paged on the buttons ("Next customers")."""
    left, mid, right = st.columns([1, 2, 1], vertical_alignment="center")
    mid.caption(caption)
    suffix = f" {noun}" if noun else ""
    back = left.button(
        f"Previous{suffix}",
        icon=":material/chevron_left:",
        disabled=page <= 1,
        key=f"{prefix}_prev",
    )
    forward = right.button(
        f"Next{suffix}",
        icon=":material/chevron_right:",
        disabled=page >= pages,
        key=f"{prefix}_next",
    )
    return page - 1 if back else page + 1 if forward else None


def pager(key: str, prefix: str, page: int, pages: int, *, caption: str = "") -> None:
    """The pager of a list kept by :func:`current_page` under ``key``: nothing for one page;
    a click stores the new page and reruns."""
    if pages <= 1:
        return
    wanted = chosen_page(prefix, page, pages, caption=caption or f"Page {page} of {pages}")
    if wanted is not None:
        st.session_state[key] = (st.session_state[key][0], wanted)
        st.rerun()
