"""A table's order kept in the URL (``?sort=…``), so a sorted view can be shared and reloaded.

The names come from the service's whitelist of orders (the only ones that reach SQL); a link's
unknown name shows a sentence and falls back to the default order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from components.literal import literal

__all__ = ["url_sort"]


def url_sort(
    where: Any,
    *,
    sorts: Mapping[str, str],
    default: str,
    key: str,
    noun: str,
    help: str = "Sorts every match (all pages), not just the page on screen.",
) -> str:
    """A "Sort by" select drawn in ``where`` (a column or ``st``), in step with ``?sort=``.

    Returns the chosen order's name; the default order is left out of the URL."""
    signature = f"{key}_sig"  # the ?sort= last read from or written to the URL
    wanted = str(st.query_params.get("sort") or default)
    if st.session_state.get(signature) != wanted or key not in st.session_state:
        st.session_state[signature] = wanted
        if wanted not in sorts:
            st.warning(
                f"The link's sort {literal(wanted)} was not understood, so the {noun} is in the "
                f"default order ({sorts[default].lower()}).",
                icon=":material/link_off:",
            )
            wanted = default
        st.session_state[key] = wanted
    sort = str(
        where.selectbox("Sort by", list(sorts), format_func=sorts.__getitem__, key=key, help=help)
    )
    if sort == default:
        if "sort" in st.query_params:
            del st.query_params["sort"]
    elif st.query_params.get("sort") != sort:
        st.query_params["sort"] = sort
    st.session_state[signature] = sort
    return sort
