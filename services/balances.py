"""Kept import path for tools that call ``services.balances.assess_debit``; the rule lives in
:mod:`services.rules.debit`."""

from services.rules.debit import assess_debit

__all__ = ["assess_debit"]
