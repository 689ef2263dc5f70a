"""Enter in a text box presses a button, as in an ``st.form``, for boxes that are not in one.

A form's boxes reach the server only with its submit, so what is typed and not sent is lost on
leaving the page; boxes outside a form keep it (``persist_state``) but Enter only commits their
value, as leaving the box does, and the server cannot tell the two apart. Here the browser tells
them apart: Enter (not a blur) in one of the boxes clicks the button after Streamlit has taken
the box's value, so the run is the button's, with what was typed, as a click on it would be.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import streamlit as st

# Installed once per browser tab (the page's element is drawn again on every run, and comes back
# with the page after another one); the element itself is hidden. A listener on the document, in the bubbling phase: it runs
# after Streamlit's own (React's, on its root), which commits the box's value first. A key held
# with a modifier, or Enter that ends an IME composition, is left alone.
_SCRIPT = """<script>(() => {{
  const host = document.currentScript?.closest('[data-testid="stElementContainer"]');
  if (host) host.style.display = "none";  // nothing to see: no gap in the layout either
  const boxes = {boxes}, button = {button}, id = "enter:" + boxes.join(",") + ">" + button;
  const done = (window.__fcopsEnterKeys = window.__fcopsEnterKeys || new Set());
  if (done.has(id)) return;
  done.add(id);
  document.addEventListener("keydown", (event) => {{
    if (event.key !== "Enter" || event.isComposing || event.shiftKey || event.ctrlKey
        || event.metaKey || event.altKey) return;
    const box = event.target;
    if (!(box instanceof HTMLInputElement)
        || !boxes.some((key) => box.closest(".st-key-" + CSS.escape(key)))) return;
    const pressed = document.querySelector(".st-key-" + CSS.escape(button) + " button");
    if (pressed && !pressed.disabled) pressed.click();
  }});
}})();</script>"""


def enter_presses(button: str, *, boxes: Sequence[str]) -> None:
    """Make Enter in the text boxes keyed ``boxes`` press the button keyed ``button``.

    Args:
        button: the ``key`` of the ``st.button`` Enter presses.
        boxes: the ``key`` of each ``st.text_input`` Enter is pressed in.
    """

    def js(value: object) -> str:  # JSON that cannot end the script element
        return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")

    st.html(_SCRIPT.format(boxes=js(list(boxes)), button=js(button)), unsafe_allow_javascript=True)
