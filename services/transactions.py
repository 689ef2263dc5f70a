"""Kept import path (other tools call ``services.transactions.detect_income``); the income rules
live in :mod:`services.rules.income`."""

from services.rules.income import detect_income

__all__ = ["detect_income"]
