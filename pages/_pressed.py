"""A button whose click counts although the run it arrives in draws it disabled.

Streamlit runs a button's ``on_click`` from the drawing that was clicked (before the script),
but when the script then draws the button disabled (another admin saved meanwhile, so Save is
off until the conflict panel is answered) it drops the click's value: ``st.button`` returns
False and the click is lost without a word. A save pressed on the page as it was drawn must
still reach the service, which refuses it and audits it. :func:`pressed` remembers the click in
its own callback and runs the page's ``on_click`` too, so a page may act either way: in the
callback (Flow configuration, which refills its editor there) or on the run (Debit policy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def _flag(key: str) -> str:
    return f"_pressed_{key}"


def _remember(key: str, on_click: Callable[..., object] | None, args: tuple[Any, ...]) -> None:
    st.session_state[_flag(key)] = True
    if on_click is not None:
        on_click(*args)


def pressed(
    label: str,
    *,
    key: str,
    on_click: Callable[..., object] | None = None,
    args: tuple[Any, ...] = (),
    **button: Any,
) -> bool:
    """``st.button(label, key=key, on_click=on_click, args=args, **button)``, True on the run
    of its click even when that run draws it disabled (Streamlit's value is then False)."""
    clicked = st.button(label, key=key, on_click=_remember, args=(key, on_click, args), **button)
    return bool(st.session_state.pop(_flag(key), False)) or clicked
