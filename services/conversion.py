"""Kept import path (other tools call ``services.conversion.funnel``); the rule is :mod:`services.rules.funnel`."""

from services.rules.funnel import funnel

__all__ = ["funnel"]
