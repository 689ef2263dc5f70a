"""Kept import path (other tools call ``services.ownership.match_owners``); the matcher lives in
:mod:`services.rules.owners`."""

from services.rules.owners import match_owners

__all__ = ["match_owners"]
