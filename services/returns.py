"""Kept import path: ``services.returns.return_rates``; the rules live in
:mod:`services.rules.returns` and :mod:`services.rules.nacha`."""

from services.rules.returns import outcome_of, outcomes, return_rates

__all__ = ["outcome_of", "outcomes", "return_rates"]
