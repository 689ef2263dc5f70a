"""Text from a link or a person, inside a sentence the page draws as Markdown, shown as typed.

A link's parameters are anyone's text: ``/accounts?status=[Sign in again](https://…)`` must not
draw a link (or colour, emphasis, a formula) inside fcops' own warning. A code span draws
nothing of what is in it; its one delimiter, the backtick, is replaced."""

from __future__ import annotations

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
