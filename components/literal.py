"""Text from a link or a person, inside a sentence the page draws as Markdown, shown as typed.

A link's parameters are anyone's text: ``/accounts?status=[Sign in again](https://…)`` must not
draw a link (or colour, emphasis, a formula) inside fcops' own warning. A code span draws
nothing of what is in it; its one delimiter, the backtick, is replaced."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from services.rules.ids import as_typed


def literal(text: object, limit: int = 40) -> str:
    """``text`` (at most ``limit`` characters, on one line) as a Markdown code span: the one rule
    (:func:`services.rules.ids.as_typed`), which services' own sentences use too."""
    return as_typed(str(text), limit)


_MARKDOWN = frozenset("\\`*_{}[]()#+-.!|<>~$:")


def plain(text: object, limit: int = 80) -> str:
    """``text`` (a name from Stripe, say) as plain words inside Markdown: every character that
    Markdown or Streamlit's directives would act on is escaped, nothing else changes."""
    shown = " ".join(str(text)[:limit].split())
    return "".join("\\" + c if c in _MARKDOWN else c for c in shown)


def person_line(words: str, where: DeltaGenerator | None = None) -> None:
    """A line naming a person (a customer's name or email) drawn as text, not Markdown, in
    ``where`` (a column; the page when None). Markdown draws an email as a mailto link, escaped
    or not (GFM links the emails it finds in text after reading the escapes), and a name's ``*``
    or ``_`` would emphasise: every page names people this one way."""
    (where if where is not None else st).text(words)
